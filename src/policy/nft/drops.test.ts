/** With logDrops, every kind of drop leaves a record naming what decided: Deny rule, isolation, unmapped interface. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileNode } from '../compile/compile-node.js';
import { parseResources } from '../parse/resources.js';
import { stateOf } from '../state.js';
import { evaluateModel } from './fake-eval.js';
import { buildModel } from './model.js';

const state = stateOf(
  parseResources(`
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {app: b}}
status: {podIP: 10.0.0.2}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-80, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress: [{ports: [{port: 80}]}]
---
apiVersion: podnet.io/v1
kind: ClusterNetworkPolicy
metadata: {name: no-telnet}
spec:
  order: 1
  podSelector: {}
  ingress: [{action: Deny, ports: [{port: 23}]}]
`),
);
const eps = [
  { namespace: 'x', pod: 'a', ifname: 'pn000000000001' },
  { namespace: 'x', pod: 'b', ifname: 'pn000000000002' },
];

test('drop records: Deny rule (pn X), isolation (pn D <profile>), unmapped interface (pn U); none without logDrops', () => {
  const node = compileNode(state, eps);
  const m = buildModel(node, { logDrops: true });
  const pkt = (oif: string, dport: number) => evaluateModel(m, { hook: 'forward', iif: 'eth0', oif, family: 4, saddr: '10.9.9.9', daddr: '10.0.0.1', proto: 6, dport });
  assert.deepEqual(pkt('pn000000000002', 23), { verdict: 'drop', logs: ['pn X no-telnet/i0 '] });
  const ingressA = node.endpoints.find((e) => e.pod === 'a')?.ingress;
  assert.deepEqual(pkt('pn000000000001', 81), { verdict: 'drop', logs: [`pn D ${ingressA} `] });
  assert.deepEqual(pkt('pn000000000001', 80), { verdict: 'accept', logs: [] });
  assert.deepEqual(pkt('pn0000000000ff', 80), { verdict: 'drop', logs: ['pn U '] });
  const quiet = buildModel(node, {});
  assert.deepEqual(evaluateModel(quiet, { hook: 'forward', iif: 'eth0', oif: 'pn000000000002', family: 4, saddr: '10.9.9.9', daddr: '10.0.0.2', proto: 6, dport: 23 }), { verdict: 'drop', logs: [] });
});
