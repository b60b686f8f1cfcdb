/**
 * `podnet policy explain`: for one connection (from, to, port, protocol), which policies select
 * each side, the verdict of egress-from-source and ingress-to-destination, and the rule that
 * decided, computed from the resources alone (not from compiled or kernel state).
 */
import { PodnetError, CommonErrors } from '../common/errors.js';
import { type Family, formatIp, parseIp } from '../common/ip.js';
import type { Labels, Pod, Protocol } from '../model/k8s.js';
import { profileInput } from './compile/compile-node.js';
import type { Decider } from './compile/evaluate.js';
import { buildIndex, type StateIndex } from './compile/state-index.js';
import type { ClusterRecord, ClusterRuleRef, Direction, NetworkPolicyRef, NetworkPolicyRuleRef, PolicyState } from './compile/types.js';
import { PolicyErrors } from './errors.js';
import { type FlowPeer, ruleMatchesFlow } from './flow-match.js';
import { ruleRefText } from './rule-text.js';

export type ExplainEndpoint = { readonly ns: string; readonly pod: string } | { readonly ip: string };

export type ExplainSide =
  | { readonly kind: 'pod'; readonly namespace: string; readonly name: string; readonly labels: Labels; readonly address?: string }
  | { readonly kind: 'address'; readonly address: string };

export type RuleEffect = 'allow' | 'deny' | 'pass' | 'log' | 'audit-deny' | 'audit-no-effect';

export interface ClusterStep {
  readonly rule: ClusterRuleRef;
  readonly effect: RuleEffect;
}

export type ExplainDecider = Decider | { readonly kind: 'not-a-pod' };

export interface DirectionExplanation {
  readonly direction: Direction;
  /** The pod whose policy this is (source for egress, destination for ingress); absent when that side is not a pod. */
  readonly pod?: { readonly namespace: string; readonly name: string };
  readonly selectedBy: {
    /** ClusterNetworkPolicies with rules for this direction whose subject includes the pod, in evaluation order. */
    readonly clusterNetworkPolicies: readonly string[];
    /** NetworkPolicies selecting the pod for this direction (they isolate it). */
    readonly networkPolicies: readonly NetworkPolicyRef[];
  };
  /** Cluster rules that matched, in evaluation order, up to the one that decided. */
  readonly clusterSteps: readonly ClusterStep[];
  /** Every NetworkPolicy rule that allows the connection (whether or not it was reached). */
  readonly allowedBy: readonly NetworkPolicyRuleRef[];
  readonly allowed: boolean;
  readonly decidedBy: ExplainDecider;
  readonly records: readonly ClusterRecord[];
}

export interface Explanation {
  readonly from: ExplainSide;
  readonly to: ExplainSide;
  readonly protocol: Protocol;
  readonly port: number;
  readonly family?: Family;
  readonly egress: DirectionExplanation;
  readonly ingress: DirectionExplanation;
  readonly allowed: boolean;
}

interface Resolved {
  readonly pod?: Pod;
  readonly ip?: string;
}

function resolve(index: StateIndex, e: ExplainEndpoint, what: string): Resolved {
  if ('ip' in e) {
    const ip = parseIp(e.ip);
    if (!ip) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `${what}: ${JSON.stringify(e.ip)} is not an IP address`);
    const text = formatIp(ip);
    const pod = index.podByIp(text);
    return pod ? { pod, ip: text } : { ip: text };
  }
  const pod = index.pod(e.ns, e.pod);
  if (!pod) throw new PodnetError(PolicyErrors.POLICY_UNKNOWN_POD, `${what}: pod ${e.ns}/${e.pod} is not known`);
  return { pod };
}

const famOf = (ip: string): Family | undefined => parseIp(ip)?.family;
const podIpOf = (pod: Pod | undefined, f: Family): string | undefined => pod?.ips.find((ip) => famOf(ip) === f);

/** The flow's family: a given address's, else IPv4 when both ends can, else IPv6, else whatever one end has. */
function flowFamily(a: Resolved, b: Resolved): Family | undefined {
  const given = [a.ip, b.ip].filter((x): x is string => x !== undefined).map(famOf);
  if (given.length === 2 && given[0] !== given[1]) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, 'from and to are addresses of different IP families');
  if (given[0]) return given[0];
  for (const f of [4, 6] as const) if (podIpOf(a.pod, f) && podIpOf(b.pod, f)) return f;
  for (const f of [4, 6] as const) if (podIpOf(a.pod, f) || podIpOf(b.pod, f)) return f;
  return undefined;
}

function flowPeer(r: Resolved, family: Family | undefined): FlowPeer {
  const text = r.ip ?? (family ? podIpOf(r.pod, family) : undefined);
  const ip = text === undefined ? undefined : parseIp(text);
  return { ...(r.pod ? { pod: r.pod } : {}), ...(ip ? { address: { family: ip.family, value: ip.value } } : {}) };
}

function side(r: Resolved, peer: FlowPeer): ExplainSide {
  const address = peer.address ? formatIp(peer.address) : undefined;
  if (r.pod) return { kind: 'pod', namespace: r.pod.namespace, name: r.pod.name, labels: r.pod.labels, ...(address ? { address } : {}) };
  return { kind: 'address', address: address ?? '' };
}

function notAPod(direction: Direction): DirectionExplanation {
  return {
    direction,
    selectedBy: { clusterNetworkPolicies: [], networkPolicies: [] },
    clusterSteps: [],
    allowedBy: [],
    allowed: true,
    decidedBy: { kind: 'not-a-pod' },
    records: [],
  };
}

function explainDirection(index: StateIndex, pod: Pod, direction: Direction, peer: FlowPeer, protocol: Protocol, port: number, destination: Pod | undefined): DirectionExplanation {
  const input = profileInput(index, pod, direction);
  const steps: ClusterStep[] = [];
  const records: ClusterRecord[] = [];
  let decided: { allowed: boolean; rule: ClusterRuleRef } | undefined;
  outer: for (const c of input.clusterPolicies) {
    const rules = direction === 'ingress' ? c.ingress : c.egress;
    for (let index_ = 0; index_ < rules.length; index_++) {
      const rule = rules[index_] as (typeof rules)[number];
      if (!ruleMatchesFlow(index, rule, null, peer, protocol, port, destination)) continue;
      const ref: ClusterRuleRef = { kind: 'ClusterNetworkPolicy', name: c.name, order: c.order, stage: c.stage, direction, index: index_, action: rule.action };
      if (rule.action === 'Log') {
        steps.push({ rule: ref, effect: 'log' });
        records.push({ kind: 'log', rule: ref });
        continue;
      }
      if (c.stage === 'audit') {
        const deny = rule.action === 'Deny';
        steps.push({ rule: ref, effect: deny ? 'audit-deny' : 'audit-no-effect' });
        if (deny) records.push({ kind: 'audit-deny', rule: ref });
        continue outer;
      }
      steps.push({ rule: ref, effect: rule.action === 'Allow' ? 'allow' : rule.action === 'Deny' ? 'deny' : 'pass' });
      if (rule.action !== 'Pass') decided = { allowed: rule.action === 'Allow', rule: ref };
      break outer;
    }
  }
  const allowedBy: NetworkPolicyRuleRef[] = [];
  for (const p of input.policies) {
    (direction === 'ingress' ? p.ingress : p.egress).forEach((rule, i) => {
      if (ruleMatchesFlow(index, rule, p.namespace, peer, protocol, port, destination)) {
        allowedBy.push({ kind: 'NetworkPolicy', namespace: p.namespace, name: p.name, direction, index: i });
      }
    });
  }
  const isolatedBy = input.policies.map((p) => ({ namespace: p.namespace, name: p.name }));
  let allowed: boolean;
  let decidedBy: ExplainDecider;
  if (decided) {
    allowed = decided.allowed;
    decidedBy = { kind: 'cluster-rule', rule: decided.rule };
  } else if (isolatedBy.length === 0) {
    allowed = true;
    decidedBy = { kind: 'not-isolated' };
  } else if (allowedBy.length > 0) {
    allowed = true;
    decidedBy = { kind: 'network-policy-rule', rule: allowedBy[0] as NetworkPolicyRuleRef, alsoAllowedBy: allowedBy.slice(1) };
  } else {
    allowed = false;
    decidedBy = { kind: 'isolated-no-rule', isolatedBy };
  }
  return {
    direction,
    pod: { namespace: pod.namespace, name: pod.name },
    selectedBy: { clusterNetworkPolicies: input.clusterPolicies.map((c) => c.name), networkPolicies: isolatedBy },
    clusterSteps: steps,
    allowedBy,
    allowed,
    decidedBy,
    records,
  };
}

export function explain(state: PolicyState, from: ExplainEndpoint, to: ExplainEndpoint, port: number, protocol: Protocol): Explanation {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `port ${port} is not in 1-65535`);
  const index = buildIndex(state);
  const src = resolve(index, from, 'from');
  const dst = resolve(index, to, 'to');
  const family = flowFamily(src, dst);
  const srcPeer = flowPeer(src, family);
  const dstPeer = flowPeer(dst, family);
  const egress = src.pod ? explainDirection(index, src.pod, 'egress', dstPeer, protocol, port, dst.pod) : notAPod('egress');
  const ingress = dst.pod ? explainDirection(index, dst.pod, 'ingress', srcPeer, protocol, port, dst.pod) : notAPod('ingress');
  return {
    from: side(src, srcPeer),
    to: side(dst, dstPeer),
    protocol,
    port,
    ...(family ? { family } : {}),
    egress,
    ingress,
    allowed: egress.allowed && ingress.allowed,
  };
}

function deciderText(d: ExplainDecider): string {
  switch (d.kind) {
    case 'cluster-rule':
      return ruleRefText(d.rule);
    case 'network-policy-rule':
      return `${ruleRefText(d.rule)}${d.alsoAllowedBy.length > 0 ? ` (also ${d.alsoAllowedBy.map(ruleRefText).join(', ')})` : ''}`;
    case 'not-isolated':
      return 'no NetworkPolicy selects the pod for this direction (not isolated)';
    case 'isolated-no-rule':
      return `isolated by ${d.isolatedBy.map((p) => `NetworkPolicy ${p.namespace}/${p.name}`).join(', ')} and no rule allows it`;
    case 'no-endpoint':
      return 'the pod has no programmed interface';
    case 'not-a-pod':
      return 'not a pod: no policy applies on this side';
  }
}

const sideText = (s: ExplainSide): string => (s.kind === 'pod' ? `${s.namespace}/${s.name}${s.address ? ` (${s.address})` : ''}` : s.address);

/** Human-readable lines for the CLI. */
export function formatExplanation(e: Explanation): string {
  const lines = [`${sideText(e.from)} -> ${sideText(e.to)} ${e.port}/${e.protocol}: ${e.allowed ? 'ALLOWED' : 'DENIED'}`];
  for (const d of [e.egress, e.ingress]) {
    const who = d.pod ? `${d.pod.namespace}/${d.pod.name}` : '-';
    lines.push(`  ${d.direction} of ${who}: ${d.allowed ? 'allow' : 'deny'}, decided by ${deciderText(d.decidedBy)}`);
    if (d.selectedBy.clusterNetworkPolicies.length > 0) lines.push(`    cluster policies: ${d.selectedBy.clusterNetworkPolicies.join(', ')}`);
    if (d.selectedBy.networkPolicies.length > 0) lines.push(`    network policies: ${d.selectedBy.networkPolicies.map((p) => `${p.namespace}/${p.name}`).join(', ')}`);
    for (const s of d.clusterSteps) lines.push(`    matched ${ruleRefText(s.rule)}: ${s.effect}`);
  }
  return lines.join('\n');
}
