/**
 * CHECK: reads back what setup made (host veth, host routes, pod link, addresses, routes,
 * neighbours) and lists every difference in words. Reads only.
 */
import type { Family } from '../../common/ip.js';
import { type ValidPodNetSpec, hostPrefixLen } from '../spec.js';
import { HOST_VETH_MAC, POD_GATEWAY_V4, POD_GATEWAY_V6, RTPROT_PODNET } from '../types.js';
import { listAddresses } from './netlink/addr.js';
import { IFA_F_DADFAILED, IFA_F_TENTATIVE, LOOPBACK_IFINDEX, NUD_PERMANENT, RT_SCOPE_LINK, RT_TABLE_MAIN } from './netlink/constants.js';
import { type LinkInfo, getLink } from './netlink/link.js';
import { listNeighbours } from './netlink/neigh.js';
import { type RouteInfo, listRoutes } from './netlink/route.js';
import type { NetlinkSocket } from './netlink/socket.js';
import { HOST_LINK_LOCAL_PREFIX } from './pod-plan.js';

const families = (s: ValidPodNetSpec): Family[] => [...(s.hasV4 ? [4 as const] : []), ...(s.hasV6 ? [6 as const] : [])];

function checkLink(where: string, l: LinkInfo, mtu: number, mac: string | undefined): string[] {
  const d: string[] = [];
  if (l.kind !== 'veth') d.push(`${where} is a ${l.kind ?? 'non-virtual'} link, not a veth`);
  if (!l.up) d.push(`${where} is down`);
  if (l.mtu !== mtu) d.push(`${where} has MTU ${String(l.mtu)}, expected ${mtu}`);
  if (mac !== undefined && l.mac !== mac) d.push(`${where} has MAC ${String(l.mac)}, expected ${mac}`);
  return d;
}

function checkAddressUsable(where: string, flags: number): string[] {
  if (flags & IFA_F_DADFAILED) return [`${where} failed duplicate address detection`];
  if (flags & IFA_F_TENTATIVE) return [`${where} is still tentative (DAD)`];
  return [];
}

/** Host side. Returns the differences and the host link (undefined when missing). */
export function checkHostSide(host: NetlinkSocket, s: ValidPodNetSpec): { diffs: string[]; link: LinkInfo | undefined } {
  const where = `host link ${s.hostIfname}`;
  const link = getLink(host, { name: s.hostIfname });
  if (!link) return { diffs: [`${where} does not exist`], link };
  const diffs = checkLink(where, link, s.mtu, HOST_VETH_MAC);
  if (s.hasV6) {
    const ll = listAddresses(host, { family: 6, index: link.index }).find((a) => a.address === POD_GATEWAY_V6);
    if (!ll || ll.prefixlen !== HOST_LINK_LOCAL_PREFIX) diffs.push(`${where} lacks address ${POD_GATEWAY_V6}/${HOST_LINK_LOCAL_PREFIX}`);
    else diffs.push(...checkAddressUsable(`${where} address ${POD_GATEWAY_V6}`, ll.flags));
  }
  for (const f of families(s)) {
    const routes = listRoutes(host, { family: f, table: RT_TABLE_MAIN, oif: link.index });
    for (const a of s.addresses.filter((x) => x.family === f)) {
      const dst = `${a.address}/${hostPrefixLen(f)}`;
      const r = routes.find((x) => x.dst === dst);
      const text = `host route ${dst} dev ${s.hostIfname} proto ${RTPROT_PODNET}`;
      if (!r) diffs.push(`${text} is missing`);
      else if (r.protocol !== RTPROT_PODNET) diffs.push(`${text} has protocol ${r.protocol}`);
      else if (f === 4 && r.scope !== RT_SCOPE_LINK) diffs.push(`${text} has scope ${r.scope}, expected link`);
    }
  }
  return { diffs, link };
}

const findRoute = (routes: readonly RouteInfo[], dst: string, gateway: string | undefined): RouteInfo | undefined =>
  routes.find((r) => r.dst === dst && r.gateway === gateway);

/** Pod side, through a socket open in the pod's namespace. */
export function checkPodSide(pod: NetlinkSocket, s: ValidPodNetSpec, hostLink: LinkInfo | undefined): string[] {
  const where = `pod link ${s.ifname} in ${s.netnsPath}`;
  const link = getLink(pod, { name: s.ifname });
  if (!link) return [`${where} does not exist`];
  const diffs = checkLink(where, link, s.mtu, s.mac);
  if (hostLink && (link.link !== hostLink.index || hostLink.link !== link.index)) {
    diffs.push(`${where} is not the peer of host link ${s.hostIfname}`);
  }
  const lo = getLink(pod, { index: LOOPBACK_IFINDEX });
  if (lo && !lo.up) diffs.push(`lo in ${s.netnsPath} is down`);

  const addrs = listAddresses(pod, { index: link.index });
  for (const a of s.addresses) {
    const plen = hostPrefixLen(a.family);
    const got = addrs.find((x) => x.address === a.address);
    if (!got) diffs.push(`${where} lacks address ${a.address}/${plen}`);
    else if (got.prefixlen !== plen) diffs.push(`${where} has ${a.address}/${got.prefixlen}, expected /${plen}`);
    else diffs.push(...checkAddressUsable(`${where} address ${a.address}`, got.flags));
  }
  const expected = new Set(s.addresses.map((a) => a.address));
  for (const x of addrs) {
    if (!expected.has(x.address) && !(x.family === 6 && x.address.startsWith('fe80:'))) diffs.push(`${where} has unexpected address ${x.address}/${x.prefixlen}`);
  }

  const neigh = listNeighbours(pod, { index: link.index });
  const want: [Family, string, string, string | undefined][] = [];
  if (s.hasV4) want.push([4, `${POD_GATEWAY_V4}/32`, POD_GATEWAY_V4, undefined], [4, '0.0.0.0/0', POD_GATEWAY_V4, POD_GATEWAY_V4]);
  if (s.hasV6) want.push([6, '::/0', POD_GATEWAY_V6, POD_GATEWAY_V6]);
  const routesByFamily = new Map<Family, RouteInfo[]>();
  for (const f of families(s)) routesByFamily.set(f, listRoutes(pod, { family: f, table: RT_TABLE_MAIN, oif: link.index }));
  for (const [f, dst, gwNeigh, via] of want) {
    const r = findRoute(routesByFamily.get(f) ?? [], dst, via);
    if (!r) diffs.push(`pod route ${dst}${via ? ` via ${via}` : ''} dev ${s.ifname} is missing`);
    if (dst.endsWith('/0')) {
      const n = neigh.find((x) => x.dst === gwNeigh);
      const text = `pod neighbour ${gwNeigh} lladdr ${HOST_VETH_MAC} permanent dev ${s.ifname}`;
      if (!n) diffs.push(`${text} is missing`);
      else if (n.lladdr !== HOST_VETH_MAC || !(n.state & NUD_PERMANENT)) diffs.push(`${text} is ${String(n.lladdr)} state 0x${n.state.toString(16)}`);
    }
  }
  return diffs;
}
