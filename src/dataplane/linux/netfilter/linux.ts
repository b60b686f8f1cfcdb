/** The real FlowSources: worker-thread readers over nfnetlink, and /proc/sys for accounting. */
import { openConntrackEvents } from './conntrack-events.js';
import { openNflog } from './nflog.js';
import { enableConntrackAccounting } from './sysctl.js';
import type { ConntrackAccounting, ConntrackEventsHandle, ConntrackEventsOptions, FlowSources, NflogHandle, NflogOptions } from './types.js';

export class LinuxFlowSources implements FlowSources {
  openConntrackEvents(opts: ConntrackEventsOptions): Promise<ConntrackEventsHandle> {
    return openConntrackEvents(opts);
  }
  openNflog(opts: NflogOptions): Promise<NflogHandle> {
    return openNflog(opts);
  }
  enableConntrackAccounting(netns?: string): Promise<ConntrackAccounting> {
    return enableConntrackAccounting(netns);
  }
}
