/**
 * Kubernetes resources as podnet holds them after validation (src/policy/parse): `v1 Namespace`,
 * `v1 Pod` (only what networking needs), `networking.k8s.io/v1 NetworkPolicy` and podnet's own
 * cluster-scoped `podnet.io/v1 ClusterNetworkPolicy` (src/policy/README.md).
 *
 * Normalised: defaults applied (protocol TCP, policyTypes, metadata.namespace "default"), null
 * and missing read alike, addresses and CIDRs in canonical text. Where Kubernetes gives an empty
 * list and a missing list the same meaning (a rule's peers and ports: "all"), both are [] here.
 */

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

export type Labels = Readonly<Record<string, string>>;

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
export const SELECTOR_OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  /** Non-empty for In/NotIn, empty for Exists/DoesNotExist. */
  readonly values: readonly string[];
}

/** A Kubernetes label selector; `{}` (no labels, no expressions) selects everything. */
export interface LabelSelector {
  readonly matchLabels: Labels;
  readonly matchExpressions: readonly LabelSelectorRequirement[];
}

/** The label Kubernetes puts on every namespace (and podnet too, at parse time). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export interface Namespace {
  readonly kind: 'Namespace';
  readonly name: string;
  /** Always includes NAMESPACE_NAME_LABEL = name. */
  readonly labels: Labels;
}

export interface ContainerPort {
  /** IANA_SVC_NAME, unique within the pod; what a policy's named port refers to. */
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol: Protocol;
}

export interface Pod {
  readonly kind: 'Pod';
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly nodeName?: string;
  /** Ports of all containers (spec.containers[].ports[]), in order. */
  readonly ports: readonly ContainerPort[];
  /** status.podIPs (or status.podIP), canonical text, at most one per family. */
  readonly ips: readonly string[];
}

export interface IpBlock {
  /** Canonical network CIDR. */
  readonly cidr: string;
  /** Canonical network CIDRs strictly inside cidr. */
  readonly except: readonly string[];
}

/**
 * One peer of a rule. Exactly one of: ipBlock alone, or at least one of the two selectors.
 * NetworkPolicy: podSelector alone means pods of the policy's namespace. ClusterNetworkPolicy:
 * podSelector alone means pods of every namespace. Both selectors: pods matching podSelector in
 * namespaces matching namespaceSelector.
 */
export interface PolicyPeer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: IpBlock;
}

export interface PolicyPort {
  readonly protocol: Protocol;
  /** A number (1-65535) or a named container port; absent means every port of the protocol. */
  readonly port?: number | string;
  /** Last port of a numeric range (>= port). */
  readonly endPort?: number;
}

export type PolicyType = 'Ingress' | 'Egress';

/** A NetworkPolicy rule. Empty peers: every peer. Empty ports: every port and protocol. */
export interface NetworkPolicyRule {
  readonly peers: readonly PolicyPeer[];
  readonly ports: readonly PolicyPort[];
}

export interface NetworkPolicy {
  readonly kind: 'NetworkPolicy';
  readonly namespace: string;
  readonly name: string;
  readonly podSelector: LabelSelector;
  /** Defaulted as Kubernetes does: [Ingress], plus Egress when spec.egress has rules. */
  readonly policyTypes: readonly PolicyType[];
  readonly ingress: readonly NetworkPolicyRule[];
  readonly egress: readonly NetworkPolicyRule[];
}

export type ClusterAction = 'Allow' | 'Deny' | 'Pass' | 'Log';
export const CLUSTER_ACTIONS: readonly ClusterAction[] = ['Allow', 'Deny', 'Pass', 'Log'];
export type PolicyStage = 'enforce' | 'audit';

export interface ClusterPolicyRule {
  readonly action: ClusterAction;
  /** Empty: every peer. */
  readonly peers: readonly PolicyPeer[];
  /** Empty: every port and protocol. */
  readonly ports: readonly PolicyPort[];
}

export interface ClusterNetworkPolicy {
  readonly kind: 'ClusterNetworkPolicy';
  readonly name: string;
  /** Lower is evaluated first; ties are broken by name. */
  readonly order: number;
  readonly stage: PolicyStage;
  /** Subject pods: in namespaces matching namespaceSelector (absent: all) and matching podSelector (absent: all). */
  readonly namespaceSelector?: LabelSelector;
  readonly podSelector?: LabelSelector;
  readonly ingress: readonly ClusterPolicyRule[];
  readonly egress: readonly ClusterPolicyRule[];
}

export type Resource = Namespace | Pod | NetworkPolicy | ClusterNetworkPolicy;
export type ResourceKind = Resource['kind'];
export const RESOURCE_KINDS: readonly ResourceKind[] = ['Namespace', 'Pod', 'NetworkPolicy', 'ClusterNetworkPolicy'];

/** apiVersion of each kind, as written in manifests. */
export const API_VERSIONS: Readonly<Record<ResourceKind, string>> = {
  Namespace: 'v1',
  Pod: 'v1',
  NetworkPolicy: 'networking.k8s.io/v1',
  ClusterNetworkPolicy: 'podnet.io/v1',
};

/** "ns/name" for namespaced kinds, "name" for cluster-scoped ones. */
export function resourceName(r: Resource): string {
  return r.kind === 'Pod' || r.kind === 'NetworkPolicy' ? `${r.namespace}/${r.name}` : r.name;
}
