/**
 * What decided a flow, looked up where the datapath looked it up: the compiled profiles of the
 * node's pods (src/policy/compile/evaluate.ts) for connections, and the NFLOG prefix the table
 * wrote for drops, audits and Log records (src/policy/nft/model.ts recordPrefix, dropPrefix).
 */
import { parseIp } from '../common/ip.js';
import type { ClusterNetworkPolicy, Pod } from '../model/k8s.js';
import { evaluateProfile, type Verdict } from '../policy/compile/evaluate.js';
import type { CompiledNode, Direction, EndpointPolicy, PolicyState } from '../policy/compile/types.js';
import { prefixName } from '../policy/nft/model.js';
import type { FlowPolicy } from './types.js';

/** The node's policy as programmed: resources and the compiled node. */
export interface PolicyView {
  readonly state: PolicyState;
  readonly compiled: CompiledNode | undefined;
}

interface Index {
  readonly byIp: ReadonlyMap<string, Pod>;
  readonly cnpByPrefix: ReadonlyMap<string, ClusterNetworkPolicy>;
}

const indexes = new WeakMap<PolicyState, Index>();
const endpointMaps = new WeakMap<CompiledNode, ReadonlyMap<string, EndpointPolicy>>();

function indexOf(state: PolicyState): Index {
  let ix = indexes.get(state);
  if (!ix) {
    const byIp = new Map<string, Pod>();
    for (const p of state.pods) for (const ip of p.ips) if (!byIp.has(ip)) byIp.set(ip, p);
    const cnpByPrefix = new Map(state.clusterNetworkPolicies.map((c) => [prefixName(c.name), c]));
    indexes.set(state, (ix = { byIp, cnpByPrefix }));
  }
  return ix;
}

/** The pod holding an address (canonical text). */
export function podAt(view: PolicyView, ip: string): Pod | undefined {
  return indexOf(view.state).byIp.get(ip);
}

/** The local endpoint of a pod ("ns/name"), if the pod is on this node. */
export function localEndpoint(view: PolicyView, pod: Pod | undefined): EndpointPolicy | undefined {
  const c = view.compiled;
  if (!c || !pod) return undefined;
  let m = endpointMaps.get(c);
  if (!m) endpointMaps.set(c, (m = new Map(c.endpoints.map((e) => [`${e.namespace}/${e.pod}`, e]))));
  return m.get(`${pod.namespace}/${pod.name}`);
}

export interface SideDecision {
  readonly direction: Direction;
  readonly allowed: boolean;
  readonly policies: readonly FlowPolicy[];
  readonly reason: string;
}

function fromVerdict(direction: Direction, v: Verdict): SideDecision {
  const d = v.decidedBy;
  switch (d.kind) {
    case 'cluster-rule':
      return { direction, allowed: v.allowed, policies: [{ kind: 'ClusterNetworkPolicy', name: d.rule.name, direction, rule: d.rule.index, action: d.rule.action }], reason: `${direction} ${v.allowed ? 'allowed' : 'denied'} by ClusterNetworkPolicy ${d.rule.name} ${direction}[${d.rule.index}] ${d.rule.action}` };
    case 'network-policy-rule':
      return { direction, allowed: true, policies: [{ kind: 'NetworkPolicy', namespace: d.rule.namespace, name: d.rule.name, direction, rule: d.rule.index }], reason: `${direction} allowed by NetworkPolicy ${d.rule.namespace}/${d.rule.name} ${direction}[${d.rule.index}]` };
    case 'not-isolated':
      return { direction, allowed: true, policies: [], reason: `${direction} allowed (no policy isolates the pod)` };
    case 'isolated-no-rule':
      return { direction, allowed: false, policies: d.isolatedBy.map((p) => ({ kind: 'NetworkPolicy' as const, namespace: p.namespace, name: p.name, direction })), reason: isolatedReason(direction, d.isolatedBy) };
    case 'no-endpoint':
      return { direction, allowed: false, policies: [], reason: `${direction} denied (interface not admitted)` };
  }
}

const isolatedReason = (direction: Direction, by: readonly { namespace: string; name: string }[]): string =>
  `${direction} denied: isolated by NetworkPolicy ${by.map((p) => `${p.namespace}/${p.name}`).join(', ')} and no rule allows it`;

/** The decision of the local pod's profile for a new connection (peer = the other side). */
export function decideSide(view: PolicyView, ep: EndpointPolicy, direction: Direction, peer: string, proto: number, port: number): SideDecision | undefined {
  const profile = view.compiled?.profiles.get(direction === 'ingress' ? ep.ingress : ep.egress);
  const ip = parseIp(peer);
  if (!profile || !ip) return undefined;
  return fromVerdict(direction, evaluateProfile(profile, ip.family, ip.value, proto, port));
}

export interface PrefixDecision {
  readonly event: 'drop' | 'audit' | 'log';
  readonly direction?: Direction;
  readonly policies: readonly FlowPolicy[];
  readonly reason: string;
}

const PREFIX_RE = /^pn ([LAXDU])(?: (.*?))? *$/;
const RULE_RE = /^(.+)\/([ie])(\d+)$/;

/** Reads an NFLOG prefix of the policy table; undefined for prefixes that are not podnet's. */
export function decidePrefix(view: PolicyView, prefix: string): PrefixDecision | undefined {
  const m = PREFIX_RE.exec(prefix);
  if (!m) return undefined;
  const kind = m[1] as 'L' | 'A' | 'X' | 'D' | 'U';
  const arg = m[2] ?? '';
  if (kind === 'U') return { event: 'drop', policies: [], reason: 'dropped: the pod interface has no policy programmed (not admitted yet, or its pod is unknown)' };
  if (kind === 'D') {
    const p = view.compiled?.profiles.get(arg);
    if (!p) return { event: 'drop', policies: [], reason: `dropped by policy profile ${arg} (no longer programmed)` };
    return { event: 'drop', direction: p.direction, policies: p.isolatedBy.map((x) => ({ kind: 'NetworkPolicy' as const, namespace: x.namespace, name: x.name, direction: p.direction })), reason: `dropped: ${isolatedReason(p.direction, p.isolatedBy).replace(/^\w+ denied: /, '')}` };
  }
  const r = RULE_RE.exec(arg);
  if (!r) return undefined;
  const direction: Direction = r[2] === 'i' ? 'ingress' : 'egress';
  const index = Number(r[3]);
  const cnp = indexOf(view.state).cnpByPrefix.get(r[1] as string);
  const name = cnp?.name ?? (r[1] as string);
  const action = (direction === 'ingress' ? cnp?.ingress : cnp?.egress)?.[index]?.action;
  const policy: FlowPolicy = { kind: 'ClusterNetworkPolicy', name, direction, rule: index, ...(action ? { action } : {}) };
  const where = `ClusterNetworkPolicy ${name} ${direction}[${index}]`;
  if (kind === 'X') return { event: 'drop', direction, policies: [policy], reason: `dropped by ${where} Deny` };
  if (kind === 'A') return { event: 'audit', direction, policies: [policy], reason: `would be dropped by ${where} Deny (audit stage: not enforced)` };
  return { event: 'log', direction, policies: [policy], reason: `matched ${where} Log` };
}
