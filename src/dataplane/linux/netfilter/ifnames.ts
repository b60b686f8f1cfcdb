/**
 * ifindex -> interface name, cached, for NFLOG records. The lookup is an RTM_GETLINK on an
 * rtnetlink socket opened by the reader thread, so it sees the reader's namespace. Entries
 * (misses too) live ttlMs; the cache holds at most `max` of them and is cleared when full.
 */
import { getLink } from '../netlink/link.js';
import { NetlinkSocket } from '../netlink/socket.js';

export class IfNameCache {
  private readonly entries = new Map<number, { name: string | undefined; at: number }>();

  constructor(
    private readonly lookup: (ifindex: number) => string | undefined,
    private readonly ttlMs = 10_000,
    private readonly max = 1024,
  ) {}

  get(ifindex: number, now = Date.now()): string | undefined {
    const e = this.entries.get(ifindex);
    if (e && now - e.at < this.ttlMs) return e.name;
    let name: string | undefined;
    try {
      name = this.lookup(ifindex);
    } catch {
      name = undefined;
    }
    if (this.entries.size >= this.max) this.entries.clear();
    this.entries.set(ifindex, { name, at: now });
    return name;
  }
}

/** A lookup through rtnetlink in the calling thread's namespace; close() releases the socket. */
export function rtnetlinkNameLookup(): { lookup: (ifindex: number) => string | undefined; close: () => void } {
  const sock = NetlinkSocket.open({ label: 'ifname lookup', timeoutMs: 1000 });
  return {
    lookup: (ifindex) => (ifindex > 0 ? getLink(sock, { index: ifindex })?.name : undefined),
    close: () => sock.close(),
  };
}
