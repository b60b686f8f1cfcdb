/**
 * VXLAN to a remote VTEP. The underlay family is IPv4 when both nodes have an IPv4 underlay
 * address, else IPv6; the pod family does not matter (IPv6 pods over an IPv4 underlay use the same
 * device, with the remote's IPv6 tunnel address as next hop).
 */
import type { Family } from '../../common/ip.js';
import type { LocalView, Reach, RemoteBlock } from '../types.js';

export function tunnelFamily(local: LocalView, block: RemoteBlock): Family | undefined {
  if (local.node.underlay[4] && block.node.underlay[4]) return 4;
  if (local.node.underlay[6] && block.node.underlay[6]) return 6;
  return undefined;
}

export function tunnelReach(local: LocalView, block: RemoteBlock): Reach {
  if (!local.node.vtep) return { kind: 'unreachable', reason: 'this node has no VXLAN MAC in its node record' };
  const vtep = block.node.vtep;
  if (!vtep) return { kind: 'unreachable', reason: 'it has no VXLAN MAC and tunnel addresses in its node record' };
  const via = vtep.tunnel[block.family];
  if (via === undefined) return { kind: 'unreachable', reason: `it has no IPv${block.family} VXLAN tunnel address for its IPv${block.family} blocks` };
  if (vtep.mac === local.node.vtep.mac) return { kind: 'unreachable', reason: `its VXLAN MAC ${vtep.mac} is this node's own` };
  const underlayFamily = tunnelFamily(local, block);
  if (underlayFamily === undefined) return { kind: 'unreachable', reason: 'it shares no underlay address family with this node' };
  return { kind: 'tunnel', underlayFamily, via };
}
