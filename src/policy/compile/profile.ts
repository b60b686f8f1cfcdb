/**
 * One direction's profile: which NetworkPolicies isolate the pods, the union of what they allow,
 * and the cluster tiers flattened to first-match decisions. A profile has two halves that are
 * computed and shared separately. The Kubernetes half is keyed by the *content* of the selecting
 * policies' rules (a lone podSelector carries its policy's namespace, everything else is
 * namespace-free) and, for ingress, by how the pod resolves the named ports they use: the same
 * policy templated into a hundred namespaces, if it does not refer to its own namespace, is one
 * half. The cluster half is keyed by the ClusterNetworkPolicies whose subject includes the pod
 * (and the named ports they use). A node computes each distinct half once.
 */
import { createHash } from 'node:crypto';
import type { ClusterNetworkPolicy, NetworkPolicy, NetworkPolicyRule, PolicyPeer, Pod, PolicyPort } from '../../model/k8s.js';
import { selectorKey } from '../selectors.js';
import { firstMatch, unionOfRules } from './combine.js';
import { ruleBoxes, type RuleShape } from './matches.js';
import { buildPartition, type RankedBox } from './partition.js';
import type { PeerResolver, PeerScope } from './peers.js';
import { namedPortKey } from './ports.js';
import type { ClusterDecision, ClusterRuleRef, ClusterTier, Direction, DirectionProfile, MatchBox, NetworkPolicyRuleRef, Partition } from './types.js';

export interface ProfileInput {
  readonly direction: Direction;
  /** A pod with this profile (named ports of ingress rules resolve against it). */
  readonly pod: Pod;
  /** NetworkPolicies selecting the pod for this direction, sorted by namespace/name. */
  readonly policies: readonly NetworkPolicy[];
  /** ClusterNetworkPolicies with rules for this direction whose subject includes the pod, in evaluation order. */
  readonly clusterPolicies: readonly ClusterNetworkPolicy[];
}

export interface AllowHalf {
  readonly id: string;
  readonly allow: Partition<readonly number[]>;
}

export interface ClusterHalf {
  readonly id: string;
  readonly tiers: readonly ClusterTier[];
  readonly cluster: Partition<ClusterDecision>;
}

const rulesOf = <R>(p: { readonly ingress: readonly R[]; readonly egress: readonly R[] }, d: Direction): readonly R[] => (d === 'ingress' ? p.ingress : p.egress);

const hashId = (d: Direction, text: string): string => `${d === 'ingress' ? 'i' : 'e'}${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;

/** Ingress rules' named ports resolve on the local pod, so its resolution is part of the key. */
const namedKey = (d: Direction, ports: readonly PolicyPort[], pod: Pod): string => (d === 'ingress' ? namedPortKey(ports, pod) : '');

interface RuleEntry {
  readonly key: string;
  readonly ref: NetworkPolicyRuleRef;
  readonly rule: NetworkPolicyRule;
}

function peerKey(peer: PolicyPeer, namespace: string): string {
  if (peer.ipBlock) return JSON.stringify(['b', peer.ipBlock.cidr, [...peer.ipBlock.except].sort()]);
  return JSON.stringify(['s', peer.namespaceSelector ? selectorKey(peer.namespaceSelector) : `ns:${namespace}`, peer.podSelector ? selectorKey(peer.podSelector) : '*']);
}

const portKey = (p: PolicyPort): string => JSON.stringify([p.protocol, p.port ?? null, p.endPort ?? null]);

const cmpRef = (a: NetworkPolicyRuleRef, b: NetworkPolicyRuleRef): number =>
  a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : a.index - b.index;

/** The selecting policies' rules for the direction, each with a content key, sorted by (key, ref). */
export function ruleEntries(input: ProfileInput): RuleEntry[] {
  const d = input.direction;
  const out: RuleEntry[] = [];
  for (const p of input.policies) {
    rulesOf(p, d).forEach((rule, index) => {
      const key = JSON.stringify([[...new Set(rule.peers.map((x) => peerKey(x, p.namespace)))].sort(), [...new Set(rule.ports.map(portKey))].sort()]);
      out.push({ key, ref: { kind: 'NetworkPolicy', namespace: p.namespace, name: p.name, direction: d, index }, rule });
    });
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : cmpRef(a.ref, b.ref)));
}

export function allowKey(input: ProfileInput, entries: readonly RuleEntry[]): string {
  const d = input.direction;
  const named = namedKey(d, entries.flatMap((e) => e.rule.ports), input.pod);
  return JSON.stringify(['allow', d, input.policies.length > 0, entries.map((e) => e.key), named]);
}

export function clusterKey(input: ProfileInput): string {
  const d = input.direction;
  const ports = input.clusterPolicies.flatMap((c) => rulesOf(c, d).flatMap((r) => r.ports));
  return JSON.stringify(['cluster', d, input.clusterPolicies.map((c) => c.name), namedKey(d, ports, input.pod)]);
}

export const halfId = hashId;

/** A profile is its halves plus its own provenance (which policies, so explain and flow logs name the right ones). */
export function profileKey(allow: string, cluster: string, input: ProfileInput): string {
  return JSON.stringify([allow, cluster, input.policies.map((p) => `${p.namespace}/${p.name}`)]);
}

export function profileId(direction: Direction, key: string): string {
  return hashId(direction, key);
}

/**
 * A rule's boxes, memoised per compilation: they depend on the rule's content (namespace
 * included where it matters), the direction and, for ingress, the local pod's named ports.
 */
export class BoxCache {
  private readonly memo = new Map<string, readonly MatchBox[]>();
  constructor(private readonly peers: PeerResolver) {}

  get(key: string, rule: RuleShape, scope: PeerScope, d: Direction, pod: Pod): readonly MatchBox[] {
    const k = `${d}|${key}|${namedKey(d, rule.ports, pod)}`;
    let r = this.memo.get(k);
    if (!r) {
      r = ruleBoxes(rule, scope, d, pod, this.peers);
      this.memo.set(k, r);
    }
    return r;
  }
}

export function compileAllowHalf(input: ProfileInput, entries: readonly RuleEntry[], id: string, boxes: BoxCache): AllowHalf {
  const items: RankedBox[] = [];
  entries.forEach((e, rank) => {
    for (const box of boxes.get(e.key, e.rule, e.ref.namespace, input.direction, input.pod)) items.push({ rank, box });
  });
  return { id, allow: buildPartition(items, unionOfRules) };
}

export function compileClusterHalf(input: ProfileInput, id: string, boxes: BoxCache): ClusterHalf {
  const d = input.direction;
  const tiers: ClusterTier[] = [];
  const items: RankedBox[] = [];
  for (const c of input.clusterPolicies) {
    rulesOf(c, d).forEach((rule, index) => {
      const ref: ClusterRuleRef = { kind: 'ClusterNetworkPolicy', name: c.name, order: c.order, stage: c.stage, direction: d, index, action: rule.action };
      const match = boxes.get(`cnp:${c.name}:${index}`, rule, null, d, input.pod);
      const rank = tiers.length;
      tiers.push({ rule: ref, match });
      for (const box of match) items.push({ rank, box });
    });
  }
  return { id, tiers, cluster: buildPartition(items, firstMatch(tiers)) };
}

export function joinHalves(input: ProfileInput, entries: readonly RuleEntry[], key: string, allow: AllowHalf, cluster: ClusterHalf): DirectionProfile {
  return {
    id: profileId(input.direction, key),
    direction: input.direction,
    key,
    allowId: allow.id,
    clusterId: cluster.id,
    isolatedBy: input.policies.map((p) => ({ namespace: p.namespace, name: p.name })),
    allowRules: entries.map((e) => e.ref),
    allow: allow.allow,
    tiers: cluster.tiers,
    cluster: cluster.cluster,
  };
}
