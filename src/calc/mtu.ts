/**
 * MTU derivation. Pods and VXLAN devices are sized for the smallest uplink of the cluster (a pod
 * may talk to any node), less the encapsulation overhead of the underlay family the tunnel uses.
 */
import type { Family } from '../common/ip.js';
import type { NodeView } from './node-view.js';
import { VXLAN_OVERHEAD_V4, VXLAN_OVERHEAD_V6 } from './types.js';

/** Used when no node records a usable uplink MTU. */
export const DEFAULT_UPLINK_MTU = 1500;
/** IPv6 needs links of at least 1280 bytes. */
export const MIN_IPV6_MTU = 1280;

export const vxlanOverhead = (underlay: Family): number => (underlay === 4 ? VXLAN_OVERHEAD_V4 : VXLAN_OVERHEAD_V6);

/** The smallest usable uplink MTU among the nodes, or undefined when none records one. */
export function minUplinkMtu(nodes: Iterable<NodeView>): number | undefined {
  let min: number | undefined;
  for (const n of nodes) if (n.uplinkMtu !== undefined && (min === undefined || n.uplinkMtu < min)) min = n.uplinkMtu;
  return min;
}

/**
 * The pod MTU: the smallest uplink, less the largest overhead among the tunnel families in use
 * (none for host-gw). `tunnelFamilies` is empty for host-gw.
 */
export function podMtuFor(minUplink: number, tunnelFamilies: readonly Family[]): number {
  return minUplink - Math.max(0, ...tunnelFamilies.map(vxlanOverhead));
}
