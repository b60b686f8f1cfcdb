/**
 * The desired cluster dataplane of one node: what routes, VXLAN device, FDB and neighbour
 * entries and NAT it should have, computed purely from the datastore's nodes, blocks and pools.
 * The linux adapter turns it into the smallest set of kernel changes.
 */
import type { Family } from '../common/ip.js';
import type { BackendName, NodeRecord } from '../model/node.js';
import type { IpPool } from '../ipam/types.js';

/** Routes the cluster reconciler owns carry this protocol (pod routes carry RTPROT_PODNET, 147). */
export const RTPROT_PODNET_CLUSTER = 148;
export const VXLAN_DEVICE = 'podnet.vxlan';
export const VXLAN_DEVICE_V6 = 'podnet.vxlan6';
export const VXLAN_VNI = 4096;
export const VXLAN_PORT = 4789;
/** VXLAN over IPv4 adds 50 bytes (outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14); over IPv6, 70. */
export const VXLAN_OVERHEAD_V4 = 50;
export const VXLAN_OVERHEAD_V6 = 70;

export interface ClusterState {
  readonly nodes: ReadonlyMap<string, NodeRecord>;
  /** Block CIDR -> owning node. */
  readonly blocks: ReadonlyMap<string, { readonly node: string; readonly pool: string }>;
  readonly pools: readonly IpPool[];
}

export type DesiredRoute =
  | {
      readonly kind: 'via';
      readonly family: Family;
      readonly dst: string;
      /** Next hop: the remote node's underlay address (host-gw) or tunnel address (vxlan). */
      readonly via: string;
      readonly dev: string;
      readonly onlink: boolean;
      readonly mtu?: number;
    }
  | {
      /** The node's own blocks: drop what no pod holds instead of leaking it to the default route. */
      readonly kind: 'blackhole';
      readonly family: Family;
      readonly dst: string;
    };

export interface DesiredVxlan {
  readonly name: string;
  readonly family: Family;
  readonly vni: number;
  readonly port: number;
  /** Local underlay address the device sends from. */
  readonly local: string;
  /** Underlay device (for the route lookups of encapsulated packets). */
  readonly underlayDev: string;
  readonly mac: string;
  readonly mtu: number;
  /** Tunnel address(es) on the device, e.g. "10.244.0.0/32". */
  readonly addresses: readonly string[];
  /** Remote VTEPs: MAC -> underlay IP (FDB) and tunnel IP -> MAC (neighbour), all permanent. */
  readonly peers: readonly { readonly mac: string; readonly underlay: string; readonly tunnelIps: readonly string[] }[];
}

export interface DesiredNat {
  /** Pools whose pods are masqueraded when leaving the cluster's pools. */
  readonly natCidrs: readonly string[];
  /** Every pool (destinations inside these are never masqueraded). */
  readonly clusterCidrs: readonly string[];
}

export interface DesiredCluster {
  readonly backend: BackendName;
  readonly routes: readonly DesiredRoute[];
  readonly vxlan: readonly DesiredVxlan[];
  readonly nat: DesiredNat;
  /** Pod MTU this backend needs on this node's uplink. */
  readonly podMtu: number;
  /** Things the operator should know: e.g. host-gw with a node that is not L2-adjacent. */
  readonly problems: readonly string[];
}

/** What the agent knows of its own node when it computes. */
export interface LocalNode {
  readonly record: NodeRecord;
  /** Name of the underlay device (holds the default route / the node address). */
  readonly underlayDev: string;
}

export interface ClusterDataplane {
  /** Brings the kernel to `desired` with the smallest delta; returns what changed. */
  apply(desired: DesiredCluster): Promise<ApplyReport>;
  /** Removes everything the cluster reconciler owns (node removal). */
  clear(): Promise<void>;
}

export interface ApplyReport {
  readonly routesAdded: number;
  readonly routesRemoved: number;
  readonly routesReplaced: number;
  readonly fdbChanged: number;
  readonly neighChanged: number;
  readonly devicesChanged: number;
  readonly natChanged: boolean;
}

/** Knobs of computeDesired (the cluster-wide VXLAN settings); defaults VXLAN_VNI and VXLAN_PORT. */
export interface ComputeOptions {
  readonly vni?: number;
  readonly port?: number;
}
