/**
 * podnet.io/v1 ClusterNetworkPolicy (src/policy/README.md): cluster-scoped, ordered, with rule
 * actions Allow, Deny, Pass and Log and an enforce/audit stage. Unknown fields are refused.
 */
import { CLUSTER_ACTIONS, type ClusterAction, type ClusterNetworkPolicy, type ClusterPolicyRule, type PolicyStage } from '../../model/k8s.js';
import { absent, at, checkFields, type Issues, type Obj, optInt, optList, optObj, show } from './context.js';
import { parseMeta } from './meta.js';
import { parsePeers } from './peers.js';
import { parsePorts } from './ports.js';
import { parseSelector } from './selector.js';

export const MAX_ORDER = 1_000_000_000;
const SPEC_FIELDS = ['order', 'stage', 'namespaceSelector', 'podSelector', 'ingress', 'egress'];

function parseRules(v: unknown, path: string, peersKey: 'from' | 'to', ctx: Issues): ClusterPolicyRule[] {
  const out: ClusterPolicyRule[] = [];
  (optList(v, path, ctx) ?? []).forEach((r, i) => {
    const p = at(path, i);
    const o = optObj(r, p, ctx);
    if (!o) {
      if (absent(r)) ctx.invalid(p, 'must be a rule object with an action');
      return;
    }
    checkFields(o, ['action', peersKey, 'ports'], p, ctx);
    const a = o['action'];
    let action: ClusterAction | undefined;
    if (absent(a)) ctx.missing(at(p, 'action'), `required field is missing (${CLUSTER_ACTIONS.join(', ')})`);
    else if (typeof a === 'string' && (CLUSTER_ACTIONS as readonly string[]).includes(a)) action = a as ClusterAction;
    else ctx.invalid(at(p, 'action'), `${show(a)} is not supported (${CLUSTER_ACTIONS.join(', ')})`);
    const peers = parsePeers(o[peersKey], at(p, peersKey), ctx);
    const ports = parsePorts(o['ports'], at(p, 'ports'), ctx);
    if (action) out.push({ action, peers, ports });
  });
  return out;
}

function parseStage(v: unknown, ctx: Issues): PolicyStage {
  if (absent(v)) return 'enforce';
  if (v === 'enforce' || v === 'audit') return v;
  ctx.invalid('spec.stage', `${show(v)} is not supported (enforce, audit)`);
  return 'enforce';
}

export function parseClusterNetworkPolicy(doc: Obj, ctx: Issues): ClusterNetworkPolicy | undefined {
  checkFields(doc, ['apiVersion', 'kind', 'metadata', 'spec'], '', ctx);
  const meta = parseMeta(doc['metadata'], ctx, { namespaced: false, nameRule: 'subdomain' });
  if (absent(doc['spec'])) ctx.missing('spec');
  const spec = optObj(doc['spec'], 'spec', ctx);
  if (!spec) return undefined;
  checkFields(spec, SPEC_FIELDS, 'spec', ctx);
  if (absent(spec['order'])) ctx.missing('spec.order', 'required field is missing (an integer; lower orders are evaluated first)');
  const order = optInt(spec['order'], 'spec.order', ctx, 0, MAX_ORDER);
  const stage = parseStage(spec['stage'], ctx);
  const namespaceSelector = parseSelector(spec['namespaceSelector'], 'spec.namespaceSelector', ctx);
  const podSelector = parseSelector(spec['podSelector'], 'spec.podSelector', ctx);
  if (absent(spec['namespaceSelector']) && absent(spec['podSelector'])) {
    ctx.missing('spec', 'one of spec.namespaceSelector or spec.podSelector is required (use {} to select every pod)');
  }
  const ingress = parseRules(spec['ingress'], 'spec.ingress', 'from', ctx);
  const egress = parseRules(spec['egress'], 'spec.egress', 'to', ctx);
  if (!meta || order === undefined) return undefined;
  return {
    kind: 'ClusterNetworkPolicy',
    name: meta.name,
    order,
    stage,
    ...(namespaceSelector ? { namespaceSelector } : {}),
    ...(podSelector ? { podSelector } : {}),
    ingress,
    egress,
  };
}
