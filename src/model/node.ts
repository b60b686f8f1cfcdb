/**
 * A node as registered in the datastore (`/podnet/nodes/v1/<name>`). The record persists until
 * the node is removed; liveness is a separate leased key (`/podnet/alive/v1/<name>`), so a dead
 * agent does not take its node's routes away from the rest of the cluster.
 */

export const BACKENDS = ['host-gw', 'vxlan', 'cross-subnet'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface NodeVxlan {
  /** MAC of the node's VXLAN device (derived from the node name, locally administered). */
  readonly mac: string;
  /** Tunnel addresses held by the VXLAN device (allocated from the pools). */
  readonly tunnelV4?: string;
  readonly tunnelV6?: string;
}

export interface NodeWireguard {
  readonly publicKey: string;
  readonly port: number;
}

export interface NodeRecord {
  readonly name: string;
  /** Underlay address with prefix, e.g. "172.30.1.11/24" (the subnet decides L2 adjacency). */
  readonly addressV4?: string;
  readonly addressV6?: string;
  /** MTU of the node's uplink. */
  readonly uplinkMtu: number;
  readonly backend: BackendName;
  readonly vxlan?: NodeVxlan;
  /** Filled by the encryption issue. */
  readonly wireguard?: NodeWireguard;
  readonly agentVersion: string;
  /** Port of the agent's HTTP endpoint (metrics, flows) on the underlay addresses. */
  readonly apiPort?: number;
}

export const NODE_PREFIX = '/podnet/nodes/v1/';
export const ALIVE_PREFIX = '/podnet/alive/v1/';
export const nodeKey = (name: string): string => NODE_PREFIX + name;
export const aliveKey = (name: string): string => ALIVE_PREFIX + name;
