/**
 * How the lab attaches pods: the network configuration list a runtime on that node would use
 * (podnet-cni talking to the node's agent socket), the attachment with Kubernetes CNI_ARGS, and
 * the addresses out of a CNI result.
 */
import { PodnetError } from '../common/errors.js';
import { CniRuntime, type Attachment, type JsonObject, type NetConfList } from './cni-runtime.js';
import { LabErrors } from './errors.js';
import { PODNET_CNI_DIR, REFERENCE_CNI_DIR } from './paths.js';

export const POD_IFNAME = 'eth0';

const K8S_NAME_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A Kubernetes namespace or pod name as the lab accepts it (a DNS label: safe in CNI_ARGS). */
export function checkK8sName(what: 'namespace' | 'pod name', name: string): string {
  if (!K8S_NAME_RE.test(name)) throw new PodnetError(LabErrors.LAB_INVALID, `${what} ${JSON.stringify(name)}: want a DNS label (1-63 lowercase letters, digits or '-', starting and ending alphanumeric)`);
  return name;
}

export function labRuntime(): CniRuntime {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return new CniRuntime([PODNET_CNI_DIR, REFERENCE_CNI_DIR], env, 30_000);
}

export function labConflist(agentSocket: string): NetConfList {
  return {
    cniVersion: '1.1.0',
    name: 'podnet',
    plugins: [{ type: 'podnet-cni', agentSocket, capabilities: { ips: true, mac: true, dns: true } }],
  };
}

/**
 * The attachment of a Kubernetes pod: namespace and name in CNI_ARGS, its labels (when it has
 * any) the conventions' way, `"args": {"cni": {"labels": [{"key": …, "value": …}]}}` in the
 * plugin's config (what the agent stores on the Pod resource).
 */
export function podAttachment(containerId: string, netnsPath: string, namespace: string, pod: string, labels: Readonly<Record<string, string>> = {}): Attachment {
  const entries = Object.entries(labels);
  return {
    containerId,
    netns: netnsPath,
    ifname: POD_IFNAME,
    args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${pod};K8S_POD_INFRA_CONTAINER_ID=${containerId}`,
    ...(entries.length > 0 ? { configArgs: { cni: { labels: entries.map(([key, value]) => ({ key, value })) } } } : {}),
  };
}

/** Addresses (without prefix length) of a CNI 1.x result, IPv4 first. */
export function resultAddresses(result: JsonObject): string[] {
  const ips = Array.isArray(result.ips) ? (result.ips as unknown[]) : [];
  const out = ips
    .map((ip) => (typeof ip === 'object' && ip !== null ? (ip as Record<string, unknown>).address : undefined))
    .filter((a): a is string => typeof a === 'string')
    .map((a) => a.split('/')[0] ?? a);
  return out.sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')));
}
