import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError, CommonErrors } from '../common/errors.js';
import { PolicyErrors } from './errors.js';
import { explain, formatExplanation } from './explain.js';
import { modelState } from './test-fixtures.js';

const yaml = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {ns: y}}}]
    ports: [{port: serve-80-tcp}]
  - from: [{ipBlock: {cidr: 192.168.0.0/16, except: [192.168.9.0/24]}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-too, namespace: x}
spec:
  podSelector: {}
  ingress: [{from: [{podSelector: {}, namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: 80}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress, namespace: z}
spec:
  podSelector: {matchLabels: {pod: c}}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 10.244.1.0/24}}]}]
---
apiVersion: podnet.io/v1
kind: ClusterNetworkPolicy
metadata: {name: guard}
spec:
  order: 10
  namespaceSelector: {matchLabels: {ns: x}}
  ingress:
  - {action: Log, from: [{namespaceSelector: {matchLabels: {ns: z}}}]}
  - {action: Deny, from: [{namespaceSelector: {matchLabels: {ns: z}}, podSelector: {matchLabels: {pod: b}}}]}
  - {action: Pass, from: [{ipBlock: {cidr: 192.168.1.0/24}}]}
`;

test('explain: pod to pod allowed by two NetworkPolicies, the first named as deciding', () => {
  const e = explain(modelState(yaml), { ns: 'y', pod: 'b' }, { ns: 'x', pod: 'a' }, 80, 'TCP');
  assert.equal(e.allowed, true);
  assert.equal(e.family, 4);
  assert.deepEqual(e.from, { kind: 'pod', namespace: 'y', name: 'b', labels: { pod: 'b' }, address: '10.244.2.2' });
  assert.equal(e.egress.decidedBy.kind, 'not-isolated');
  assert.deepEqual(e.ingress.selectedBy, { clusterNetworkPolicies: ['guard'], networkPolicies: [{ namespace: 'x', name: 'web' }, { namespace: 'x', name: 'web-too' }] });
  assert.deepEqual(e.ingress.clusterSteps, []);
  assert.deepEqual(e.ingress.decidedBy, {
    kind: 'network-policy-rule',
    rule: { kind: 'NetworkPolicy', namespace: 'x', name: 'web', direction: 'ingress', index: 0 },
    alsoAllowedBy: [{ kind: 'NetworkPolicy', namespace: 'x', name: 'web-too', direction: 'ingress', index: 0 }],
  });
  assert.equal(
    formatExplanation(e),
    [
      'y/b (10.244.2.2) -> x/a (10.244.1.1) 80/TCP: ALLOWED',
      '  egress of y/b: allow, decided by no NetworkPolicy selects the pod for this direction (not isolated)',
      '  ingress of x/a: allow, decided by NetworkPolicy x/web ingress[0] (also NetworkPolicy x/web-too ingress[0])',
      '    cluster policies: guard',
      '    network policies: x/web, x/web-too',
    ].join('\n'),
  );
});

test('explain: isolated with no rule allowing; cluster Log then Deny; egress ipBlock', () => {
  const s = modelState(yaml);
  const e = explain(s, { ns: 'y', pod: 'b' }, { ns: 'x', pod: 'a' }, 81, 'TCP');
  assert.equal(e.allowed, false);
  assert.deepEqual(e.ingress.decidedBy, { kind: 'isolated-no-rule', isolatedBy: [{ namespace: 'x', name: 'web' }, { namespace: 'x', name: 'web-too' }] });
  const d = explain(s, { ns: 'z', pod: 'b' }, { ns: 'x', pod: 'c' }, 80, 'TCP');
  assert.equal(d.allowed, false);
  assert.deepEqual(d.ingress.clusterSteps.map((x) => [x.rule.index, x.effect]), [[0, 'log'], [1, 'deny']]);
  assert.deepEqual(d.ingress.records.map((r) => r.kind), ['log']);
  assert.equal(d.ingress.decidedBy.kind, 'cluster-rule');
  // z/c may only talk to 10.244.1.0/24 (namespace x's pods): its egress decides before x's ingress does.
  const z = explain(s, { ns: 'z', pod: 'c' }, { ns: 'y', pod: 'a' }, 80, 'TCP');
  assert.equal(z.egress.allowed, false);
  assert.equal(z.allowed, false);
  const zx = explain(s, { ns: 'z', pod: 'c' }, { ns: 'x', pod: 'b' }, 80, 'TCP');
  assert.equal(zx.egress.decidedBy.kind, 'network-policy-rule');
  assert.equal(zx.ingress.allowed, false, 'x/b admits only namespace y on 80');
});

test('explain: external addresses, Pass to Kubernetes, except', () => {
  const s = modelState(yaml);
  const pass = explain(s, { ip: '192.168.1.7' }, { ns: 'x', pod: 'a' }, 9000, 'UDP');
  assert.deepEqual(pass.from, { kind: 'address', address: '192.168.1.7' });
  assert.equal(pass.egress.decidedBy.kind, 'not-a-pod');
  assert.deepEqual(pass.ingress.clusterSteps.map((x) => x.effect), ['pass']);
  assert.equal(pass.ingress.decidedBy.kind, 'network-policy-rule');
  assert.equal(pass.allowed, true);
  const except = explain(s, { ip: '192.168.9.1' }, { ns: 'x', pod: 'a' }, 80, 'TCP');
  assert.equal(except.allowed, false);
  const toPodByIp = explain(s, { ns: 'x', pod: 'a' }, { ip: '10.244.2.3' }, 80, 'TCP');
  assert.deepEqual(toPodByIp.to, { kind: 'pod', namespace: 'y', name: 'c', labels: { pod: 'c' }, address: '10.244.2.3' });
  const v6 = explain(s, { ip: 'FD00:244::2:1' }, { ns: 'x', pod: 'a' }, 80, 'TCP');
  assert.equal(v6.family, 6);
  assert.equal(v6.allowed, true);
  assert.deepEqual(v6.from, { kind: 'pod', namespace: 'y', name: 'a', labels: { pod: 'a' }, address: 'fd00:244::2:1' });
  const out = explain(s, { ns: 'x', pod: 'a' }, { ip: '8.8.8.8' }, 53, 'UDP');
  assert.equal(out.ingress.decidedBy.kind, 'not-a-pod');
  assert.equal(out.allowed, true);
});

test('explain: errors', () => {
  const s = modelState(yaml);
  assert.throws(() => explain(s, { ns: 'x', pod: 'nope' }, { ns: 'x', pod: 'a' }, 80, 'TCP'), (e: unknown) => isPodnetError(e, PolicyErrors.POLICY_UNKNOWN_POD));
  assert.throws(() => explain(s, { ip: '1.2.3' }, { ns: 'x', pod: 'a' }, 80, 'TCP'), (e: unknown) => isPodnetError(e, CommonErrors.INVALID_ARGUMENT));
  assert.throws(() => explain(s, { ip: '1.2.3.4' }, { ip: 'fd00::1' }, 80, 'TCP'), (e: unknown) => isPodnetError(e, CommonErrors.INVALID_ARGUMENT));
  assert.throws(() => explain(s, { ns: 'x', pod: 'a' }, { ns: 'x', pod: 'b' }, 0, 'TCP'), (e: unknown) => isPodnetError(e, CommonErrors.INVALID_ARGUMENT));
});
