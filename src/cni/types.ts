/**
 * CNI types as the 1.1.0 specification defines them, and the runtime's request after parsing.
 * Results are held internally in 1.x form and converted to the config's version on output.
 */

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const CURRENT_VERSION: CniVersion = '1.1.0';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'VERSION' | 'GC';

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface CniIpConfig {
  /** CIDR notation, e.g. "10.244.0.5/32". */
  address: string;
  gateway?: string;
  /** Index into interfaces. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A result in 1.x form (1.0.0 and 1.1.0 share the shape). */
export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: CniRoute[];
  dns?: CniDns;
}

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
}

export interface BandwidthLimits {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

/** runtimeConfig after normalisation (containerd's capitalised keys, podman's alias map, …). */
export interface RuntimeConfig {
  ips?: string[];
  mac?: string;
  portMappings?: PortMapping[];
  bandwidth?: BandwidthLimits;
  dns?: CniDns;
  aliases?: string[];
}

/** podnet-cni's own config fields, next to the spec's. */
export interface PodnetNetConf {
  cniVersion: CniVersion;
  name: string;
  type: string;
  /** Agent socket path; default /run/podnet/agent.sock. */
  agentSocket: string;
  /** Pod MTU; default derived by the agent from the uplink and backend. */
  mtu?: number;
  /** Pools to allocate from (names); default every enabled pool. */
  pools?: string[];
  /** Address families to allocate; default every family that has a pool. */
  families?: (4 | 6)[];
  runtimeConfig: RuntimeConfig;
  prevResult?: CniResult;
  /** args.cni.labels etc., kept for the policy issue. */
  args?: Record<string, unknown>;
  dns?: CniDns;
  /** Original, untouched JSON object (for chaining and GC). */
  raw: Record<string, unknown>;
}

/** Parsed CNI_ARGS. */
export interface CniArgs {
  K8S_POD_NAMESPACE?: string;
  K8S_POD_NAME?: string;
  K8S_POD_UID?: string;
  K8S_POD_INFRA_CONTAINER_ID?: string;
  IP?: string[];
  MAC?: string;
  IgnoreUnknown?: boolean;
  /** Everything else, only when IgnoreUnknown is set. */
  extra: Record<string, string>;
}

export interface Attachment {
  containerId: string;
  ifname: string;
}

/** A validated request for one verb. */
export interface CniRequest {
  command: CniCommand;
  containerId: string;
  /** CNI_NETNS as given by the runtime (may be empty on DEL). */
  netns: string;
  /** Path the agent opens to reach the netns (differs from netns when the shim passed an fd). */
  netnsPath: string;
  ifname: string;
  args: CniArgs;
  path: string[];
  conf: PodnetNetConf;
  /** GC only: attachments the runtime still uses. */
  validAttachments?: Attachment[];
}
