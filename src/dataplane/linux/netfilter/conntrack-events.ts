/** openConntrackEvents: conntrack NEW/UPDATE/DESTROY events of one namespace, read off-thread. */
import { conntrackConfig } from './options.js';
import { startReader } from './reader.js';
import type { ConntrackEvent, ConntrackEventsHandle, ConntrackEventsOptions } from './types.js';

/**
 * Subscribes to conntrack events in opts.netns (or the process's namespace). Resolves once the
 * socket is subscribed: events from then on are delivered in batches to onEvents. Rejects with
 * FlowReaderError (NETFILTER_INVALID_OPTIONS, NETFILTER_OPEN_FAILED, DATAPLANE_NETNS_NOT_FOUND).
 *
 * Conntrack only reports connections it tracks: the namespace needs a ruleset that uses
 * conntrack (any `ct` expression, NAT). Counters and timestamps on destroy need
 * enableConntrackAccounting() before the connections start.
 */
export async function openConntrackEvents(opts: ConntrackEventsOptions): Promise<ConntrackEventsHandle> {
  const cfg = conntrackConfig(opts);
  return startReader<ConntrackEvent>(cfg, opts.onEvents, opts.onError);
}
