/** Public shapes of the lab API (src/lab/lab.ts). */
import type { StatusView } from '../agent/views.js';
import type { LogLevel } from '../common/log.js';
import type { BackendName } from '../model/node.js';
import type { LabPodState } from './lab-state.js';

export interface LabOptions {
  /** Lab name, [a-z0-9]{1,12}; default "demo". */
  readonly name?: string;
  /** Nodes at start (1-99); default 3. */
  readonly nodes?: number;
  /** Default vxlan. */
  readonly backend?: BackendName;
  /** Underlay subnets: 1 (all nodes on A) or 2 (nodes alternate A, B); default 1. */
  readonly subnets?: 1 | 2;
  /** etcd members (1-3); default 1. */
  readonly etcdMembers?: number;
  /** Agents and etcd outlive this process (the CLI); default false (they die with it). */
  readonly detached?: boolean;
  readonly logLevel?: LogLevel;
  /** Parent of lab directories; default /run/podnet-lab. */
  readonly root?: string;
  /** Bound on waiting for the agents to agree on the cluster; default 45 s. */
  readonly syncTimeoutMs?: number;
  /** Progress lines while building (for the CLI). */
  readonly progress?: (line: string) => void;
}

export interface LabPod {
  /** The lab's name for the pod (unique in the lab; exec target). */
  readonly name: string;
  readonly node: string;
  readonly namespace: string;
  /** The Kubernetes pod name (K8S_POD_NAME): unique per namespace; by default the lab name. */
  readonly podName: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The pod's network namespace (pl-<lab>-p-<pod>). */
  readonly ns: string;
  readonly addresses: readonly string[];
  readonly v4: string | undefined;
  readonly v6: string | undefined;
}

export interface LabNodeStatus {
  readonly name: string;
  readonly ns: string;
  readonly subnet: string;
  readonly v4: string;
  readonly v6: string;
  readonly agentPid: number | undefined;
  /** The agent answered `status`. */
  readonly agentUp: boolean;
  readonly status: StatusView | undefined;
  readonly error: string | undefined;
}

export interface LabStatus {
  readonly name: string;
  readonly backend: BackendName;
  readonly subnets: 1 | 2;
  readonly dir: string;
  readonly detached: boolean;
  readonly etcd: readonly { readonly name: string; readonly url: string; readonly ns: string; readonly pid: number | undefined }[];
  readonly nodes: readonly LabNodeStatus[];
  readonly pods: readonly LabPod[];
}

export interface DelPodResult {
  /** CNI DEL succeeded (false when the node's agent is down: the namespace is removed anyway). */
  readonly cniDeleted: boolean;
  readonly error: string | undefined;
}

export const toPod = (p: LabPodState): LabPod => ({
  name: p.name,
  node: p.node,
  namespace: p.namespace,
  podName: p.podName ?? p.name,
  labels: p.labels,
  ns: p.ns,
  addresses: p.addresses,
  v4: p.addresses.find((a) => !a.includes(':')),
  v6: p.addresses.find((a) => a.includes(':')),
});

