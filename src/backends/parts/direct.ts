/**
 * Plain routing to a remote node's underlay address, which needs L2 adjacency: the remote address
 * must lie in this node's underlay subnet of the same family. An IPv4 block may also be routed
 * via an adjacent IPv6 next hop (RFC 5549, Linux 5.2+) when the nodes are not IPv4-adjacent (e.g.
 * an IPv6-only underlay); the reverse is not possible.
 */
import { cidrContains, formatCidr, networkOf, parseIp } from '../../common/ip.js';
import type { Underlay } from '../../calc/node-view.js';
import type { LocalView, Reach, RemoteBlock } from '../types.js';

const adjacent = (mine: Underlay | undefined, theirs: Underlay | undefined): boolean => {
  if (!mine || !theirs) return false;
  const ip = parseIp(theirs.ip);
  return ip !== undefined && cidrContains(mine.cidr, ip) && mine.ip !== theirs.ip;
};

export function directReach(local: LocalView, block: RemoteBlock): Reach {
  const f = block.family;
  const mine = local.node.underlay[f];
  const theirs = block.node.underlay[f];
  if (adjacent(mine, theirs) && theirs) return { kind: 'direct', via: theirs.ip, dev: local.underlayDev };
  if (f === 4 && adjacent(local.node.underlay[6], block.node.underlay[6])) {
    const v6 = block.node.underlay[6];
    if (v6) return { kind: 'direct', via: v6.ip, dev: local.underlayDev };
  }
  if (!mine) return { kind: 'unreachable', reason: `this node has no IPv${f} underlay address to route IPv${f} blocks directly` };
  if (!theirs) return { kind: 'unreachable', reason: `it has no IPv${f} underlay address to route IPv${f} blocks to` };
  if (mine.ip === theirs.ip) return { kind: 'unreachable', reason: `its underlay address ${theirs.ip} is this node's own` };
  return {
    kind: 'unreachable',
    reason: `its underlay address ${theirs.ip} is not in this node's underlay subnet ${formatCidr(networkOf(mine.cidr))} (host-gw needs L2 adjacency)`,
  };
}
