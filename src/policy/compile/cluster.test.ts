/**
 * ClusterNetworkPolicy semantics: order (then name), first match, Allow over Kubernetes denies,
 * Deny over Kubernetes allows, Pass deferring to Kubernetes, Log recording and continuing, audit
 * stage recording would-drops without dropping; checked on the conformance model through the
 * compiled profiles, the rendered table and explain().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Protocol } from '../../model/k8s.js';
import { explain } from '../explain.js';
import { evaluateModel } from '../nft/fake-eval.js';
import { compileModel, ifnameOf, matrixDiff, modelState, podIp, Reachability } from '../test-fixtures.js';
import { evaluateEndpoint } from './evaluate.js';
import { PROTO_NUMBER } from './space.js';

const cnp = (name: string, spec: string): string => `apiVersion: podnet.io/v1\nkind: ClusterNetworkPolicy\nmetadata: {name: ${name}}\nspec:\n${spec}`;
const np = (name: string, ns: string, spec: string): string => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n${spec}`;
const docs = (...d: string[]): string => d.join('\n---\n');

function check(yaml: string, port: number, expect: Reachability, protocol: Protocol = 'TCP'): void {
  const state = modelState(yaml);
  assert.deepEqual([...matrixDiff(state, expect, port, protocol, 4), ...matrixDiff(state, expect, port, protocol, 6)], []);
}

/** Records of one connection as the compiled profiles, the nft fake datapath and explain see them. */
function records(yaml: string, from: string, to: string, port: number, protocol: Protocol = 'TCP'): { compiled: string[]; nft: string[]; explain: string[]; allowed: boolean } {
  const state = modelState(yaml);
  const p = compileModel(state);
  const proto = PROTO_NUMBER[protocol];
  const eg = evaluateEndpoint(p.compiled, ifnameOf(from), 'egress', podIp(to), proto, port);
  const ing = evaluateEndpoint(p.compiled, ifnameOf(to), 'ingress', podIp(from), proto, port);
  const text = (r: { kind: string; rule: { name: string; direction: string; index: number } }): string => `${r.kind} ${r.rule.name}/${r.rule.direction[0]}${r.rule.index}`;
  const nft = evaluateModel(p.model, { hook: 'forward', iif: ifnameOf(from), oif: ifnameOf(to), family: 4, saddr: podIp(from), daddr: podIp(to), proto, dport: port });
  const [fns, fpod] = from.split('/') as [string, string];
  const [tns, tpod] = to.split('/') as [string, string];
  const ex = explain(state, { ns: fns, pod: fpod }, { ns: tns, pod: tpod }, port, protocol);
  return {
    compiled: [...eg.records, ...ing.records].map(text),
    nft: nft.logs.map((l) => l.trim()),
    explain: [...ex.egress.records, ...ex.ingress.records].map(text),
    allowed: eg.allowed && ing.allowed,
  };
}

const all = (): Reachability => new Reachability(true);

test('Deny wins over a Kubernetes allow; Allow wins over a Kubernetes deny', () => {
  check(docs(np('open', 'x', '  podSelector: {}\n  ingress: [{}]'), cnp('deny-y', '  order: 10\n  namespaceSelector: {matchLabels: {ns: x}}\n  ingress: [{action: Deny, from: [{namespaceSelector: {matchLabels: {ns: y}}}]}]')), 80, all().expect('y/*', 'x/*', false));
  check(docs(np('closed', 'x', '  podSelector: {}\n  policyTypes: [Ingress]'), cnp('allow-z', '  order: 10\n  namespaceSelector: {matchLabels: {ns: x}}\n  ingress: [{action: Allow, from: [{namespaceSelector: {matchLabels: {ns: z}}}]}]')), 80, all().expect('*', 'x/*', false).expect('z/*', 'x/*', true));
});

test('lower order first; equal orders by name; first matching rule inside a policy', () => {
  const allowYa = (name: string, order: number): string => cnp(name, `  order: ${order}\n  namespaceSelector: {matchLabels: {ns: x}}\n  ingress: [{action: Allow, from: [{namespaceSelector: {matchLabels: {ns: y}}, podSelector: {matchLabels: {pod: a}}}]}]`);
  const denyY = (name: string, order: number): string => cnp(name, `  order: ${order}\n  namespaceSelector: {matchLabels: {ns: x}}\n  ingress: [{action: Deny, from: [{namespaceSelector: {matchLabels: {ns: y}}}]}]`);
  check(docs(allowYa('allow', 10), denyY('deny', 20)), 80, all().expect('y/*', 'x/*', false).expect('y/a', 'x/*', true));
  check(docs(allowYa('allow', 30), denyY('deny', 20)), 80, all().expect('y/*', 'x/*', false));
  check(docs(allowYa('a-allow', 5), denyY('b-deny', 5)), 80, all().expect('y/*', 'x/*', false).expect('y/a', 'x/*', true));
  check(docs(allowYa('b-allow', 5), denyY('a-deny', 5)), 80, all().expect('y/*', 'x/*', false));
  check(
    cnp('both', '  order: 1\n  podSelector: {}\n  ingress:\n  - {action: Deny, from: [{podSelector: {matchLabels: {pod: a}}}]}\n  - {action: Allow, from: [{podSelector: {}}]}\n  - {action: Deny}'),
    80,
    all().expect('*/a', '*', false),
  );
});

test('Pass defers to Kubernetes policy and skips later cluster rules', () => {
  const pass = cnp('pass-ya', '  order: 10\n  namespaceSelector: {matchLabels: {ns: x}}\n  ingress: [{action: Pass, from: [{namespaceSelector: {matchLabels: {ns: y}}, podSelector: {matchLabels: {pod: a}}}]}]');
  const deny = cnp('deny-y', '  order: 20\n  namespaceSelector: {matchLabels: {ns: x}}\n  ingress: [{action: Deny, from: [{namespaceSelector: {matchLabels: {ns: y}}}]}]');
  // x is open under Kubernetes: y/a passes and is allowed, the rest of y is denied.
  check(docs(pass, deny), 80, all().expect('y/*', 'x/*', false).expect('y/a', 'x/*', true));
  // x/a allows only x/b under Kubernetes: y/a passes and is then denied there.
  check(docs(pass, deny, np('only-b', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]')), 80,
    all().expect('y/*', 'x/*', false).expect('y/a', 'x/b', true).expect('y/a', 'x/c', true).expect('*', 'x/a', false).expect('x/b', 'x/a', true));
});

test('subject selection: namespaceSelector AND podSelector; a lone peer podSelector spans every namespace', () => {
  check(cnp('d', '  order: 1\n  namespaceSelector: {matchLabels: {ns: x}}\n  podSelector: {matchLabels: {pod: a}}\n  ingress: [{action: Deny, from: [{podSelector: {matchLabels: {pod: b}}}]}]'), 80, all().expect('*/b', 'x/a', false));
  check(cnp('d', '  order: 1\n  podSelector: {matchLabels: {pod: c}}\n  ingress: [{action: Deny}]'), 80, all().expect('*', '*/c', false));
});

test('egress rules apply to the sending pod, with ports and protocols', () => {
  check(cnp('d', '  order: 1\n  namespaceSelector: {matchLabels: {ns: x}}\n  egress: [{action: Deny, to: [{namespaceSelector: {matchLabels: {ns: z}}}], ports: [{port: 81}]}]'), 81, all().expect('x/*', 'z/*', false));
  check(cnp('d', '  order: 1\n  namespaceSelector: {matchLabels: {ns: x}}\n  egress: [{action: Deny, to: [{namespaceSelector: {matchLabels: {ns: z}}}], ports: [{port: 81}]}]'), 80, all());
  check(cnp('d', '  order: 1\n  namespaceSelector: {matchLabels: {ns: x}}\n  egress: [{action: Deny, to: [{namespaceSelector: {matchLabels: {ns: z}}}], ports: [{port: 81}]}]'), 81, all(), 'UDP');
  check(cnp('d', '  order: 1\n  podSelector: {}\n  egress: [{action: Deny, ports: [{port: serve-80-udp, protocol: UDP}]}]'), 80, all().expect('*', '*', false), 'UDP');
});

test('Log records and continues; the decision is still made by what follows', () => {
  const y = docs(
    cnp('log-y', '  order: 1\n  namespaceSelector: {matchLabels: {ns: x}}\n  ingress: [{action: Log, from: [{namespaceSelector: {matchLabels: {ns: y}}}]}]'),
    cnp('deny-yb', '  order: 2\n  namespaceSelector: {matchLabels: {ns: x}}\n  ingress: [{action: Deny, from: [{namespaceSelector: {matchLabels: {ns: y}}, podSelector: {matchLabels: {pod: b}}}]}]'),
  );
  check(y, 80, all().expect('y/b', 'x/*', false));
  const ya = records(y, 'y/a', 'x/a', 80);
  assert.deepEqual(ya, { compiled: ['log log-y/i0'], nft: ['pn L log-y/i0'], explain: ['log log-y/i0'], allowed: true });
  const yb = records(y, 'y/b', 'x/a', 80);
  assert.deepEqual(yb, { compiled: ['log log-y/i0'], nft: ['pn L log-y/i0'], explain: ['log log-y/i0'], allowed: false });
  assert.deepEqual(records(y, 'z/b', 'x/a', 80), { compiled: [], nft: [], explain: [], allowed: true });
});

test('audit stage: would-drops are recorded, nothing is dropped, later policies still decide', () => {
  const audit = cnp('audit-y', '  order: 1\n  stage: audit\n  namespaceSelector: {matchLabels: {ns: x}}\n  ingress:\n  - {action: Allow, from: [{namespaceSelector: {matchLabels: {ns: y}}, podSelector: {matchLabels: {pod: a}}}]}\n  - {action: Deny, from: [{namespaceSelector: {matchLabels: {ns: y}}}]}\n  - {action: Log}');
  check(audit, 80, all());
  assert.deepEqual(records(audit, 'y/a', 'x/c', 80), { compiled: [], nft: [], explain: [], allowed: true });
  assert.deepEqual(records(audit, 'y/b', 'x/c', 80), { compiled: ['audit-deny audit-y/i1'], nft: ['pn A audit-y/i1'], explain: ['audit-deny audit-y/i1'], allowed: true });
  // The audit policy's trailing Log rule is reached only by what its earlier rules did not decide.
  assert.deepEqual(records(audit, 'z/b', 'x/c', 80), { compiled: ['log audit-y/i2'], nft: ['pn L audit-y/i2'], explain: ['log audit-y/i2'], allowed: true });
  const withEnforce = docs(audit, cnp('deny-yc', '  order: 2\n  namespaceSelector: {matchLabels: {ns: x}}\n  ingress: [{action: Deny, from: [{namespaceSelector: {matchLabels: {ns: y}}, podSelector: {matchLabels: {pod: c}}}]}]'));
  check(withEnforce, 80, all().expect('y/c', 'x/*', false));
  assert.deepEqual(records(withEnforce, 'y/c', 'x/a', 80), { compiled: ['audit-deny audit-y/i1'], nft: ['pn A audit-y/i1'], explain: ['audit-deny audit-y/i1'], allowed: false });
});

test('cluster rules and Kubernetes policy compose per direction: egress of the client, ingress of the server', () => {
  check(
    docs(
      cnp('allow-eg', '  order: 1\n  namespaceSelector: {matchLabels: {ns: x}}\n  egress: [{action: Allow, to: [{namespaceSelector: {matchLabels: {ns: y}}}]}]'),
      np('deny-eg', 'x', '  podSelector: {}\n  policyTypes: [Egress]'),
      np('deny-in', 'y', '  podSelector: {matchLabels: {pod: b}}\n  policyTypes: [Ingress]'),
    ),
    80,
    all().expect('x/*', '*', false).expect('x/*', 'y/*', true).expect('*', 'y/b', false),
  );
});
