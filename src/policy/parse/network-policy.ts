/**
 * networking.k8s.io/v1 NetworkPolicy, all of it (ValidateNetworkPolicySpec plus the API server's
 * defaulting). Unknown spec fields are refused: a misspelt `podselector` would otherwise select
 * every pod of the namespace.
 */
import type { NetworkPolicy, NetworkPolicyRule, PolicyType } from '../../model/k8s.js';
import { at, checkFields, type Issues, type Obj, optList, optObj, show } from './context.js';
import { parseMeta } from './meta.js';
import { parsePeers } from './peers.js';
import { parsePorts } from './ports.js';
import { parseSelector } from './selector.js';

const SPEC_FIELDS = ['podSelector', 'policyTypes', 'ingress', 'egress'];

function parseRules(v: unknown, path: string, peersKey: 'from' | 'to', ctx: Issues): { rules: NetworkPolicyRule[]; given: number } {
  const list = optList(v, path, ctx) ?? [];
  const rules: NetworkPolicyRule[] = [];
  list.forEach((r, i) => {
    const p = at(path, i);
    // A null rule decodes to an empty rule in Go: every peer, every port.
    const o = r === null ? {} : optObj(r, p, ctx);
    if (!o) return;
    checkFields(o, [peersKey, 'ports'], p, ctx);
    rules.push({ peers: parsePeers(o[peersKey], at(p, peersKey), ctx), ports: parsePorts(o['ports'], at(p, 'ports'), ctx) });
  });
  return { rules, given: list.length };
}

function parsePolicyTypes(v: unknown, ctx: Issues): PolicyType[] | undefined {
  const path = 'spec.policyTypes';
  const list = optList(v, path, ctx);
  if (!list || list.length === 0) return undefined;
  if (list.length > 2) {
    ctx.invalid(path, 'may not specify more than two policyTypes');
    return undefined;
  }
  const out: PolicyType[] = [];
  list.forEach((t, i) => {
    if (t === 'Ingress' || t === 'Egress') {
      if (!out.includes(t)) out.push(t);
    } else ctx.invalid(at(path, i), `${show(t)} is not supported (Ingress, Egress)`);
  });
  return out;
}

export function parseNetworkPolicy(doc: Obj, ctx: Issues): NetworkPolicy | undefined {
  checkFields(doc, ['apiVersion', 'kind', 'metadata', 'spec', 'status'], '', ctx);
  const meta = parseMeta(doc['metadata'], ctx, { namespaced: true, nameRule: 'subdomain' });
  const spec = optObj(doc['spec'], 'spec', ctx);
  if (doc['spec'] === undefined || doc['spec'] === null) ctx.missing('spec');
  if (!spec) return undefined;
  checkFields(spec, SPEC_FIELDS, 'spec', ctx);
  // spec.podSelector is a struct in Go: missing or null decodes to {}, which selects every pod.
  const podSelector = parseSelector(spec['podSelector'], 'spec.podSelector', ctx) ?? { matchLabels: {}, matchExpressions: [] };
  const ingress = parseRules(spec['ingress'], 'spec.ingress', 'from', ctx);
  const egress = parseRules(spec['egress'], 'spec.egress', 'to', ctx);
  // SetDefaults_NetworkPolicy: no policyTypes means Ingress, plus Egress when len(spec.egress) != 0.
  const policyTypes = parsePolicyTypes(spec['policyTypes'], ctx) ?? (egress.given > 0 ? ['Ingress', 'Egress'] : ['Ingress']);
  if (!meta) return undefined;
  return {
    kind: 'NetworkPolicy',
    namespace: meta.namespace,
    name: meta.name,
    podSelector,
    policyTypes: (['Ingress', 'Egress'] as const).filter((t) => policyTypes.includes(t)),
    ingress: ingress.rules,
    egress: egress.rules,
  };
}
