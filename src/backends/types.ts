/**
 * A backend decides how this node reaches one block of a remote node. Everything else (blackholes,
 * VXLAN devices and their peers, MTU, NAT, ordering) is the shared core in src/calc/compute.ts, so
 * a backend is a few lines built from the shared parts in ./parts.
 */
import type { Family } from '../common/ip.js';
import type { NodeView } from '../calc/node-view.js';
import type { BackendName } from '../model/node.js';

export interface LocalView {
  readonly node: NodeView;
  /** The underlay device routes to L2-adjacent nodes go out of. */
  readonly underlayDev: string;
}

export interface RemoteBlock {
  /** Canonical network CIDR of the block. */
  readonly cidr: string;
  readonly family: Family;
  readonly node: NodeView;
}

export type Reach =
  /** Routed over the underlay: `block via <remote underlay address> dev <underlay dev>`. */
  | { readonly kind: 'direct'; readonly via: string; readonly dev: string }
  /**
   * Encapsulated: `block via <remote tunnel address> dev <vxlan device of underlayFamily> onlink`,
   * with the remote VTEP as FDB and neighbour entries on that device.
   */
  | { readonly kind: 'tunnel'; readonly underlayFamily: Family; readonly via: string }
  /** Not reachable with this backend; `reason` goes to DesiredCluster.problems. */
  | { readonly kind: 'unreachable'; readonly reason: string };

export interface Backend {
  readonly name: BackendName;
  /** Whether the node keeps VXLAN devices (and pods leave room for the encapsulation). */
  readonly tunnels: boolean;
  reach(local: LocalView, block: RemoteBlock): Reach;
}
