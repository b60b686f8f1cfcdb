/**
 * Input and output of the policy compiler. The output is backend-neutral: per local endpoint and
 * direction a profile (shared by endpoints whose policies are the same) that says, for any
 * (peer address, protocol, port), the cluster-policy decision and the Kubernetes verdict, as
 * disjoint regions that a backend turns into constant-time lookups. Every region carries the
 * rules that produced it (provenance).
 */
import type { ClusterAction, ClusterNetworkPolicy, Namespace, NetworkPolicy, Pod, PolicyStage } from '../../model/k8s.js';
import type { AddrSet, PortSpan } from './space.js';

/** Everything policy depends on, as listed from the datastore. */
export interface PolicyState {
  readonly namespaces: readonly Namespace[];
  readonly pods: readonly Pod[];
  readonly networkPolicies: readonly NetworkPolicy[];
  readonly clusterNetworkPolicies: readonly ClusterNetworkPolicy[];
}

/** A pod interface on this node. */
export interface LocalEndpoint {
  readonly namespace: string;
  readonly pod: string;
  /** Host-side interface: "pn" + 12 hex digits. */
  readonly ifname: string;
  /** The pod's addresses as assigned on this node (added to the pod's status IPs). */
  readonly addresses?: readonly string[];
}

export type Direction = 'ingress' | 'egress';

export interface NetworkPolicyRef {
  readonly namespace: string;
  readonly name: string;
}

export interface NetworkPolicyRuleRef {
  readonly kind: 'NetworkPolicy';
  readonly namespace: string;
  readonly name: string;
  readonly direction: Direction;
  /** Index in spec.ingress / spec.egress. */
  readonly index: number;
}

export interface ClusterRuleRef {
  readonly kind: 'ClusterNetworkPolicy';
  readonly name: string;
  readonly order: number;
  readonly stage: PolicyStage;
  readonly direction: Direction;
  readonly index: number;
  readonly action: ClusterAction;
}

export type RuleRef = NetworkPolicyRuleRef | ClusterRuleRef;

/** Per protocol/port interval, a value (see Region). */
export interface Span<T> {
  readonly lo: number;
  readonly hi: number;
  readonly value: T;
}

/** A peer-address interval with its protocol/port partition; spans not listed have no value. */
export interface Region<T> {
  readonly lo: bigint;
  readonly hi: bigint;
  readonly spans: readonly Span<T>[];
}

/** Disjoint regions per family, sorted by address; addresses not listed have no value. */
export interface Partition<T> {
  readonly v4: readonly Region<T>[];
  readonly v6: readonly Region<T>[];
}

/** What matched a cluster rule: addresses x protocol/port spans (several boxes when named ports resolve differently per peer). */
export interface MatchBox {
  readonly addresses: AddrSet;
  readonly spans: readonly PortSpan[];
}

/** One cluster rule that applies to the profile's pods, in evaluation order. */
export interface ClusterTier {
  readonly rule: ClusterRuleRef;
  readonly match: readonly MatchBox[];
}

export type ClusterVerdict = 'allow' | 'deny' | 'pass';

/** A record made on the way: a Log rule matched, or an audit-stage policy would have denied. */
export interface ClusterRecord {
  readonly kind: 'log' | 'audit-deny';
  readonly rule: ClusterRuleRef;
}

/**
 * The first-match result of the cluster tiers for a region. No verdict: no enforcing Allow,
 * Deny or Pass rule matched, which like Pass leaves the decision to Kubernetes policy.
 */
export interface ClusterDecision {
  readonly verdict?: ClusterVerdict;
  readonly decidedBy?: ClusterRuleRef;
  readonly records: readonly ClusterRecord[];
}

export interface DirectionProfile {
  /** "i" or "e" + 16 hex digits of the profile key's hash. */
  readonly id: string;
  readonly direction: Direction;
  /** The canonical key the id hashes (which policies, which named-port resolution). */
  readonly key: string;
  /**
   * Ids of the two halves, each shared by every profile with the same half: the Kubernetes half
   * (isolatedBy, allow) and the cluster half (tiers, cluster). Backends share their sets by these.
   */
  readonly allowId: string;
  readonly clusterId: string;
  /** NetworkPolicies that select the pods for this direction; empty means not isolated. */
  readonly isolatedBy: readonly NetworkPolicyRef[];
  /** The rules of those policies for this direction; `allow` values index into this list. */
  readonly allowRules: readonly NetworkPolicyRuleRef[];
  /**
   * Where Kubernetes policy allows (the union of the rules), each region with the indices in
   * allowRules of every rule that allows it. Shared by profiles whose rules are the same in
   * content (the same policy templated into many namespaces), each with its own allowRules.
   */
  readonly allow: Partition<readonly number[]>;
  /** Cluster rules that apply, in evaluation order (order, name, rule index). */
  readonly tiers: readonly ClusterTier[];
  /** The tiers flattened to first-match decisions (one lookup per packet). */
  readonly cluster: Partition<ClusterDecision>;
}

export interface EndpointPolicy {
  readonly ifname: string;
  readonly namespace: string;
  readonly pod: string;
  /** Profile ids. */
  readonly ingress: string;
  readonly egress: string;
}

export interface CompiledNode {
  /** Sorted by ifname. Endpoints whose pod is unknown are absent (their traffic stays dropped). */
  readonly endpoints: readonly EndpointPolicy[];
  readonly profiles: ReadonlyMap<string, DirectionProfile>;
  /** Human-readable problems (unknown pods, duplicate pod IPs). */
  readonly problems: readonly string[];
}
