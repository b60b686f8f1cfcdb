/**
 * Finds the node's underlay: the device that carries node-to-node traffic (named, or the one
 * holding the default route), its MTU and its global IPv4/IPv6 addresses with prefix length.
 */
import { PodnetError } from '../../common/errors.js';
import { DataplaneErrors } from '../errors.js';
import { getLink, listAddresses, listRoutes, NetlinkSocket, RT_TABLE_MAIN, RTN_UNICAST } from './netlink/index.js';

export interface Underlay {
  readonly dev: string;
  readonly index: number;
  readonly mtu: number;
  /** "172.30.0.11/24" */
  readonly v4?: string;
  readonly v6?: string;
}

const RT_SCOPE_UNIVERSE = 0;

export function discoverUnderlay(opts: { readonly netns?: string; readonly dev?: string } = {}): Underlay {
  const sock = NetlinkSocket.open({ ...(opts.netns ? { netnsPath: opts.netns } : {}), label: opts.netns ? `node ${opts.netns}` : 'node' });
  try {
    let index: number | undefined;
    if (opts.dev) {
      index = getLink(sock, { name: opts.dev })?.index;
      if (index === undefined) throw new PodnetError(DataplaneErrors.DATAPLANE_INVALID_SPEC, `underlay device ${opts.dev} does not exist`);
    } else {
      for (const family of [4, 6] as const) {
        const def = listRoutes(sock, { family, table: RT_TABLE_MAIN, type: RTN_UNICAST })
          .filter((r) => r.dst.endsWith('/0'))
          .sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0))[0];
        index = def?.oif ?? def?.nexthops.find((n) => n.oif !== undefined)?.oif;
        if (index !== undefined) break;
      }
      if (index === undefined) {
        throw new PodnetError(DataplaneErrors.DATAPLANE_INVALID_SPEC, 'no default route to find the underlay device by; set underlay.interface in the agent config');
      }
    }
    const link = getLink(sock, { index });
    if (!link) throw new PodnetError(DataplaneErrors.DATAPLANE_INVALID_SPEC, `underlay device #${index} vanished`);
    const addrs = listAddresses(sock, { index }).filter((a) => a.scope === RT_SCOPE_UNIVERSE);
    const pick = (f: 4 | 6) => {
      const a = addrs.find((x) => x.family === f);
      return a ? `${a.local ?? a.address}/${a.prefixlen}` : undefined;
    };
    const v4 = pick(4);
    const v6 = pick(6);
    return { dev: link.name, index, mtu: link.mtu ?? 1500, ...(v4 ? { v4 } : {}), ...(v6 ? { v6 } : {}) };
  } finally {
    sock.close();
  }
}
