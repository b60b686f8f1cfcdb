/**
 * Reads back what the cluster reconciler owns in a namespace, in the kernel-neutral shape of
 * src/calc/delta.ts: main-table routes with protocol 148 (both families), the links named
 * podnet.vxlan / podnet.vxlan6 with their global addresses, FDB entries and permanent neighbours.
 * Everything else (pod routes, proto 147, other links) is never looked at, so never touched.
 */
import type { ObservedCluster, ObservedDevice, ObservedRoute } from '../../../calc/delta.js';
import { RTPROT_PODNET_CLUSTER } from '../../../calc/types.js';
import { OWNED_DEVICES } from '../../../calc/validate.js';
import { listAddresses } from '../netlink/addr.js';
import { NUD_PERMANENT, RTN_BLACKHOLE, RTN_UNICAST, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN } from '../netlink/constants.js';
import { type LinkInfo, listLinks } from '../netlink/link.js';
import { listFdb, listNeighbours } from '../netlink/neigh.js';
import { type RouteInfo, listRoutes } from '../netlink/route.js';
import type { NetlinkSocket } from '../netlink/socket.js';
import { decodeVxlanData } from '../netlink/vxlan.js';

export interface KernelView {
  readonly observed: ObservedCluster;
  /** Every link of the namespace, name -> index. */
  readonly ifindex: ReadonlyMap<string, number>;
}

function toObservedRoute(r: RouteInfo, names: ReadonlyMap<number, string>): ObservedRoute {
  const priority = r.priority ?? 0;
  if (r.type === RTN_BLACKHOLE) return { kind: 'blackhole', family: r.family, dst: r.dst, priority };
  const dev = r.oif === undefined ? undefined : names.get(r.oif);
  if (r.type === RTN_UNICAST && r.gateway !== undefined && r.nexthops.length === 0 && dev !== undefined) {
    const base = { kind: 'via' as const, family: r.family, dst: r.dst, via: r.gateway, dev, onlink: r.onlink, priority };
    return r.mtu === undefined ? base : { ...base, mtu: r.mtu };
  }
  return { kind: 'other', family: r.family, dst: r.dst, priority, ...(dev === undefined ? {} : { dev }) };
}

/** Our routes: main table, protocol 148. */
export function readRoutes(sock: NetlinkSocket, names: ReadonlyMap<number, string>): ObservedRoute[] {
  const out: ObservedRoute[] = [];
  for (const family of [4, 6] as const) {
    for (const r of listRoutes(sock, { family, table: RT_TABLE_MAIN, protocol: RTPROT_PODNET_CLUSTER })) out.push(toObservedRoute(r, names));
  }
  return out;
}

function readDevice(sock: NetlinkSocket, link: LinkInfo, names: ReadonlyMap<number, string>, txChecksum: (l: LinkInfo) => boolean | undefined): ObservedDevice {
  const info = link.kind === 'vxlan' && link.infoData ? decodeVxlanData(link.infoData) : undefined;
  const addresses = listAddresses(sock, { index: link.index })
    .filter((a) => a.scope === RT_SCOPE_UNIVERSE)
    .map((a) => `${a.address}/${a.prefixlen}`);
  const fdb = listFdb(sock, link.index).flatMap((e) => (e.lladdr !== undefined && e.dst !== undefined ? [{ mac: e.lladdr, dst: e.dst }] : []));
  const neigh = listNeighbours(sock, { index: link.index }).flatMap((n) =>
    (n.state & NUD_PERMANENT) !== 0 && n.dst !== undefined && n.lladdr !== undefined ? [{ ip: n.dst, mac: n.lladdr }] : [],
  );
  return {
    name: link.name,
    isVxlan: info !== undefined,
    vni: info?.vni,
    port: info?.port,
    local: info?.local,
    group: info?.group,
    learning: info?.learning,
    underlayDev: info?.dev === undefined ? undefined : names.get(info.dev),
    mac: link.mac,
    mtu: link.mtu,
    up: link.up,
    txChecksum: info ? txChecksum(link) : undefined,
    addresses,
    fdb,
    neigh,
  };
}

/**
 * The whole view. `txChecksum` reads the device's TX checksum offload state (undefined: not
 * read, when the adapter leaves offloads alone).
 */
export function readCluster(sock: NetlinkSocket, txChecksum: (l: LinkInfo) => boolean | undefined): KernelView {
  const links = listLinks(sock);
  const names = new Map(links.map((l) => [l.index, l.name]));
  const devices = links.filter((l) => OWNED_DEVICES.includes(l.name)).map((l) => readDevice(sock, l, names, txChecksum));
  return { observed: { routes: readRoutes(sock, names), devices }, ifindex: new Map(links.map((l) => [l.name, l.index])) };
}
