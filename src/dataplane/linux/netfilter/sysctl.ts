/**
 * Per-namespace conntrack accounting: net.netfilter.nf_conntrack_acct (packet/byte counters) and
 * nf_conntrack_timestamp (start/stop times), both reported on DESTROY events. Both are settings
 * of the namespace they are written in, and apply to connections created after they are set.
 * The write happens with the calling thread inside the target namespace (netns.ts).
 */
import { readSysctl, writeSysctl } from '../netns.js';
import type { ConntrackAccounting } from './types.js';

const ACCT = 'net/netfilter/nf_conntrack_acct';
const TSTAMP = 'net/netfilter/nf_conntrack_timestamp';
const EVENTS = 'net/netfilter/nf_conntrack_events';

/** Reads the three settings in the namespace at netns (default: this process's namespace). */
export function readConntrackAccounting(netns?: string): ConntrackAccounting {
  const events = readSysctl(netns, EVENTS);
  return {
    acct: readSysctl(netns, ACCT) === '1',
    timestamp: readSysctl(netns, TSTAMP) === '1',
    events: events === undefined ? undefined : Number(events),
  };
}

/**
 * Sets nf_conntrack_acct=1 and nf_conntrack_timestamp=1 in the namespace at netns (default: this
 * process's namespace, e.g. a node agent running inside its node's namespace), then reads them
 * back. Throws DATAPLANE_SYSCTL_FAILED when a write is refused.
 */
export async function enableConntrackAccounting(netns?: string): Promise<ConntrackAccounting> {
  writeSysctl(netns, ACCT, '1');
  writeSysctl(netns, TSTAMP, '1');
  return readConntrackAccounting(netns);
}
