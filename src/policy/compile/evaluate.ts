/**
 * What a compiled profile decides for one new connection: the reference semantics a backend's
 * rendering must reproduce (and what the fake datapath and the tests use). Replies of accepted
 * connections are not evaluated here: conntrack passes them.
 */
import type { Family } from '../../common/ip.js';
import { parseIp } from '../../common/ip.js';
import { lookupPartition } from './partition.js';
import { linear } from './space.js';
import type { ClusterRecord, ClusterRuleRef, CompiledNode, Direction, DirectionProfile, NetworkPolicyRef, NetworkPolicyRuleRef } from './types.js';

export type Decider =
  | { readonly kind: 'cluster-rule'; readonly rule: ClusterRuleRef }
  | { readonly kind: 'network-policy-rule'; readonly rule: NetworkPolicyRuleRef; readonly alsoAllowedBy: readonly NetworkPolicyRuleRef[] }
  | { readonly kind: 'not-isolated' }
  | { readonly kind: 'isolated-no-rule'; readonly isolatedBy: readonly NetworkPolicyRef[] }
  | { readonly kind: 'no-endpoint' };

export interface Verdict {
  readonly allowed: boolean;
  readonly decidedBy: Decider;
  /** Log and audit records made on the way. */
  readonly records: readonly ClusterRecord[];
}

/** proto: IP protocol number (6 TCP, 17 UDP, 132 SCTP, 1 ICMP ...); port: destination port (0 when none). */
export function evaluateProfile(p: DirectionProfile, family: Family, peer: bigint, proto: number, port: number): Verdict {
  const lin = linear(proto, port);
  const c = lookupPartition(p.cluster, family, peer, lin);
  const records = c?.records ?? [];
  if (c?.verdict === 'allow' || c?.verdict === 'deny') {
    return { allowed: c.verdict === 'allow', decidedBy: { kind: 'cluster-rule', rule: c.decidedBy as ClusterRuleRef }, records };
  }
  if (p.isolatedBy.length === 0) return { allowed: true, decidedBy: { kind: 'not-isolated' }, records };
  const ranks = lookupPartition(p.allow, family, peer, lin);
  if (ranks && ranks.length > 0) {
    // Every allowing rule, in policy order (name, rule index), the first named as deciding.
    const refs = ranks.map((r) => p.allowRules[r] as NetworkPolicyRuleRef).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.index - b.index));
    return { allowed: true, decidedBy: { kind: 'network-policy-rule', rule: refs[0] as NetworkPolicyRuleRef, alsoAllowedBy: refs.slice(1) }, records };
  }
  return { allowed: false, decidedBy: { kind: 'isolated-no-rule', isolatedBy: p.isolatedBy }, records };
}

/** The verdict for an interface: ingress (peer = source) or egress (peer = destination). No endpoint: dropped. */
export function evaluateEndpoint(node: CompiledNode, ifname: string, direction: Direction, peerIp: string, proto: number, port: number): Verdict {
  const ep = node.endpoints.find((e) => e.ifname === ifname);
  const ip = parseIp(peerIp);
  const profile = ep && node.profiles.get(direction === 'ingress' ? ep.ingress : ep.egress);
  if (!profile || !ip) return { allowed: false, decidedBy: { kind: 'no-endpoint' }, records: [] };
  return evaluateProfile(profile, ip.family, ip.value, proto, port);
}
