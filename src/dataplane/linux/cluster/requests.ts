/**
 * The netlink requests of a cluster delta, as pure data (unit-tested without root). Device names
 * are resolved to indexes by the caller's `index` function, which throws for a missing device.
 */
import type { AddressEntry, FdbEntry, NeighEntry, ObservedRoute } from '../../../calc/delta.js';
import { type DesiredRoute, type DesiredVxlan, RTPROT_PODNET_CLUSTER } from '../../../calc/types.js';
import { addAddressRequest, deleteAddressRequest } from '../netlink/addr.js';
import { IFA_F_NODAD, NTF_SELF, NUD_PERMANENT, RTN_BLACKHOLE, RTN_UNICAST, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN } from '../netlink/constants.js';
import { deleteFdbRequest, deleteNeighRequest, replaceFdbRequest, replaceNeighRequest } from '../netlink/neigh.js';
import { type RouteSpec, deleteRouteRequest, replaceRouteRequest } from '../netlink/route.js';
import type { NlRequest } from '../netlink/socket.js';
import { createVxlanRequest } from '../netlink/vxlan.js';

export type IndexOf = (dev: string) => number;

export function routeSpec(r: DesiredRoute, index: IndexOf): RouteSpec {
  const common = { family: r.family, dst: r.dst, table: RT_TABLE_MAIN, protocol: RTPROT_PODNET_CLUSTER, scope: RT_SCOPE_UNIVERSE };
  if (r.kind === 'blackhole') return { ...common, type: RTN_BLACKHOLE };
  return { ...common, type: RTN_UNICAST, gateway: r.via, oif: index(r.dev), onlink: r.onlink, ...(r.mtu === undefined ? {} : { mtu: r.mtu }) };
}

/** Add and replace are both NLM_F_CREATE|NLM_F_REPLACE: right whatever happened since the read. */
export const putRouteRequest = (r: DesiredRoute, index: IndexOf): NlRequest => replaceRouteRequest(routeSpec(r, index));

export function removeRouteRequest(r: ObservedRoute): NlRequest {
  return deleteRouteRequest({ family: r.family, dst: r.dst, table: RT_TABLE_MAIN, protocol: RTPROT_PODNET_CLUSTER, ...(r.priority ? { priority: r.priority } : {}) });
}

/** The device is created down, learning off, with no group or remote: the FDB is all static. */
export function createDeviceRequest(d: DesiredVxlan, index: IndexOf): NlRequest {
  return createVxlanRequest({ name: d.name, mtu: d.mtu, mac: d.mac, vni: d.vni, local: d.local, dev: index(d.underlayDev), port: d.port, learning: false });
}

function addrSpec(a: AddressEntry, index: IndexOf) {
  const slash = a.cidr.indexOf('/');
  const address = a.cidr.slice(0, slash);
  const v6 = address.includes(':');
  return { index: index(a.dev), dev: a.dev, address, prefixlen: Number(a.cidr.slice(slash + 1)), flags: v6 ? IFA_F_NODAD : 0, scope: RT_SCOPE_UNIVERSE };
}

export const addAddrRequest = (a: AddressEntry, index: IndexOf): NlRequest => addAddressRequest(addrSpec(a, index), true);
export const removeAddrRequest = (a: AddressEntry, index: IndexOf): NlRequest => deleteAddressRequest(addrSpec(a, index));

const fdbSpec = (e: FdbEntry, index: IndexOf) => ({ index: index(e.dev), dev: e.dev, lladdr: e.mac, dst: e.dst, state: NUD_PERMANENT, flags: NTF_SELF });
export const setFdbRequest = (e: FdbEntry, index: IndexOf): NlRequest => replaceFdbRequest(fdbSpec(e, index));
export const removeFdbRequest = (e: FdbEntry, index: IndexOf): NlRequest => deleteFdbRequest(fdbSpec(e, index));

const neighSpec = (e: NeighEntry, index: IndexOf) => ({ index: index(e.dev), dev: e.dev, dst: e.ip, lladdr: e.mac, state: NUD_PERMANENT });
export const setNeighRequest = (e: NeighEntry, index: IndexOf): NlRequest => replaceNeighRequest(neighSpec(e, index));
export const removeNeighRequest = (e: NeighEntry, index: IndexOf): NlRequest => deleteNeighRequest(neighSpec(e, index));
