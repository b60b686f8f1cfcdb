/**
 * Lookup structures over a PolicyState, built once per compilation: namespace labels (a namespace
 * only known from its pods gets Kubernetes' automatic kubernetes.io/metadata.name label), pods by
 * namespace, name and IP, NetworkPolicies by namespace and ClusterNetworkPolicies in evaluation
 * order.
 */
import { canonicalIp, type Ip, parseIp } from '../../common/ip.js';
import { NAMESPACE_NAME_LABEL, type ClusterNetworkPolicy, type Labels, type NetworkPolicy, type Pod } from '../../model/k8s.js';
import type { PolicyState } from './types.js';

export interface StateIndex {
  readonly namespaceNames: readonly string[];
  namespaceLabels(ns: string): Labels;
  readonly pods: readonly Pod[];
  podsIn(ns: string): readonly Pod[];
  pod(ns: string, name: string): Pod | undefined;
  /** The pod's IPs, parsed once. */
  addressesOf(pod: Pod): readonly Ip[];
  /** Pod holding a canonical IP (the first one when two claim it). */
  podByIp(ip: string): Pod | undefined;
  policiesIn(ns: string): readonly NetworkPolicy[];
  /** Sorted by (order, name). */
  readonly clusterPolicies: readonly ClusterNetworkPolicy[];
  readonly problems: readonly string[];
}

/** Parsed pod IPs, kept across compilations for as long as the (immutable) Pod object lives. */
const parsedIps = new WeakMap<Pod, readonly Ip[]>();

export const podKey = (ns: string, name: string): string => `${ns}/${name}`;

export function compareClusterPolicies(a: ClusterNetworkPolicy, b: ClusterNetworkPolicy): number {
  return a.order - b.order || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** extraIps: addresses from local endpoints, merged into their pods' IPs. */
export function buildIndex(state: PolicyState, extraIps: ReadonlyMap<string, readonly string[]> = new Map()): StateIndex {
  const problems: string[] = [];
  const nsLabels = new Map<string, Labels>();
  for (const n of state.namespaces) nsLabels.set(n.name, n.labels);
  const pods: Pod[] = [];
  const byNs = new Map<string, Pod[]>();
  const byKey = new Map<string, Pod>();
  const byIp = new Map<string, Pod>();
  for (const p0 of state.pods) {
    const key = podKey(p0.namespace, p0.name);
    const extra = extraIps.get(key);
    let p = p0;
    if (extra && extra.length > 0) {
      const ips = [...new Set([...p0.ips, ...extra.map((s) => canonicalIp(s) ?? s)])];
      p = { ...p0, ips };
    }
    if (byKey.has(key)) {
      problems.push(`pod ${key} is listed twice; the first is used`);
      continue;
    }
    byKey.set(key, p);
    pods.push(p);
    let list = byNs.get(p.namespace);
    if (!list) byNs.set(p.namespace, (list = []));
    list.push(p);
    for (const ip of p.ips) {
      const other = byIp.get(ip);
      if (other) problems.push(`pods ${podKey(other.namespace, other.name)} and ${key} both claim ${ip}`);
      else byIp.set(ip, p);
    }
    if (!nsLabels.has(p.namespace)) nsLabels.set(p.namespace, { [NAMESPACE_NAME_LABEL]: p.namespace });
  }
  const policies = new Map<string, NetworkPolicy[]>();
  for (const np of state.networkPolicies) {
    let list = policies.get(np.namespace);
    if (!list) policies.set(np.namespace, (list = []));
    list.push(np);
  }
  for (const list of policies.values()) list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const clusterPolicies = [...state.clusterNetworkPolicies].sort(compareClusterPolicies);
  const namespaceNames = [...nsLabels.keys()].sort();
  const addressesOf = (pod: Pod): readonly Ip[] => {
    let a = parsedIps.get(pod);
    if (!a) parsedIps.set(pod, (a = pod.ips.map(parseIp).filter((ip): ip is Ip => ip !== undefined)));
    return a;
  };
  return {
    namespaceNames,
    namespaceLabels: (ns) => nsLabels.get(ns) ?? { [NAMESPACE_NAME_LABEL]: ns },
    pods,
    addressesOf,
    podsIn: (ns) => byNs.get(ns) ?? [],
    pod: (ns, name) => byKey.get(podKey(ns, name)),
    podByIp: (ip) => byIp.get(ip),
    policiesIn: (ns) => policies.get(ns) ?? [],
    clusterPolicies,
    problems,
  };
}
