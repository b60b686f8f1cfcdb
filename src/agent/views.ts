/** Shapes of the agent's RPC answers (shared by the agent and the CLI). */

export interface StatusView {
  readonly node: string;
  readonly version: string;
  readonly pid: number;
  readonly uptimeSeconds: number;
  readonly socket: string;
  readonly datastore: { readonly kind: string; readonly healthy: boolean };
  readonly podMtu: number;
  readonly uplinkMtu: number | undefined;
  readonly pools: readonly { readonly name: string; readonly cidr: string; readonly disabled: boolean }[];
  readonly endpoints: number;
  readonly cluster: {
    readonly backend: string;
    readonly underlay: { readonly dev: string; readonly mtu: number; readonly v4: string | undefined; readonly v6: string | undefined };
    readonly sync: string;
    readonly inSync: boolean;
    readonly lastError: string | undefined;
    readonly nodes: number;
    readonly blocks: number;
    readonly routes: number;
    readonly problems: readonly string[];
  };
  /** Absent when policy is disabled. */
  readonly policy?: { readonly programmedRevision: number; readonly endpoints: number; readonly profiles: number; readonly lastError: string | undefined };
  /** Absent when flow recording is disabled. */
  readonly flows?: { readonly records: number; readonly kept: number; readonly capacity: number };
  /** The HTTP endpoint's port (metrics, flows), when it listens. */
  readonly apiPort?: number;
}

export interface EndpointView {
  readonly containerId: string;
  readonly ifname: string;
  readonly namespace: string | undefined;
  readonly pod: string | undefined;
  readonly network: string | undefined;
  readonly plugin: 'cni' | 'ipam';
  readonly hostIfname: string | undefined;
  readonly linkPresent: boolean;
  readonly addresses: readonly string[];
}

export interface IpamView {
  readonly pools: readonly {
    readonly name: string;
    readonly cidr: string;
    readonly blockSize: number;
    readonly disabled: boolean;
    readonly natOutgoing: boolean;
    readonly size: string;
    readonly used: number;
    readonly blocks: readonly { readonly cidr: string; readonly node: string; readonly size: number; readonly used: number }[];
  }[];
}

export interface NodeView {
  readonly name: string;
  readonly alive: boolean;
  readonly backend: string;
  readonly addressV4: string | undefined;
  readonly addressV6: string | undefined;
  readonly uplinkMtu: number;
  readonly tunnelV4: string | undefined;
  readonly tunnelV6: string | undefined;
  readonly agentVersion: string;
}
