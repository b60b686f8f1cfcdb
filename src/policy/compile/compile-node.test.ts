import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp } from '../../common/ip.js';
import { parseResources } from '../parse/resources.js';
import { stateOf } from '../state.js';
import { compileNode } from './compile-node.js';
import { evaluateEndpoint } from './evaluate.js';
import { lookupPartition } from './partition.js';
import { linear } from './space.js';

const yaml = `apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: x, labels: {app: web}}
spec: {containers: [{ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, namespace: x, labels: {app: web}}
spec: {containers: [{ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: web-3, namespace: x, labels: {app: web}}
spec: {containers: [{ports: [{name: http, containerPort: 9090}]}]}
status: {podIP: 10.0.0.3}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: x, labels: {app: db}}
status: {podIP: 10.0.0.3}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: x}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: http}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: x}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]
---
apiVersion: podnet.io/v1
kind: ClusterNetworkPolicy
metadata: {name: guard}
spec:
  order: 1
  podSelector: {}
  ingress: [{action: Deny, from: [{ipBlock: {cidr: 192.168.0.0/16}}]}]
`;

const eps = [
  { namespace: 'x', pod: 'web-1', ifname: 'pn000000000001', addresses: ['10.0.0.1'] },
  { namespace: 'x', pod: 'web-2', ifname: 'pn000000000002' },
  { namespace: 'x', pod: 'web-3', ifname: 'pn000000000003' },
  { namespace: 'x', pod: 'db', ifname: 'pn000000000004' },
];
const v4 = (s: string): bigint => (parseIp(s) as { value: bigint }).value;

test('profiles: replicas share one; a different named-port resolution splits the Kubernetes half only', () => {
  const node = compileNode(stateOf(parseResources(yaml)), eps);
  const [w1, w2, w3, db] = node.endpoints;
  assert.ok(w1 && w2 && w3 && db);
  assert.equal(w1.ingress, w2.ingress);
  assert.notEqual(w1.ingress, w3.ingress, 'web-3 serves http on 9090');
  const p1 = node.profiles.get(w1.ingress);
  const p3 = node.profiles.get(w3.ingress);
  const pdb = node.profiles.get(db.ingress);
  assert.ok(p1 && p3 && pdb);
  assert.notEqual(p1.allowId, p3.allowId);
  assert.equal(p1.clusterId, p3.clusterId, 'the cluster half is shared');
  assert.equal(p1.clusterId, pdb.clusterId);
  assert.equal(w1.egress, db.egress, 'no egress policy: one open egress profile');
  assert.deepEqual(node.profiles.get(w1.egress)?.isolatedBy, []);
});

test('local endpoint addresses join their pods (peers see them); duplicate IPs are reported', () => {
  const node = compileNode(stateOf(parseResources(yaml)), eps);
  assert.deepEqual(node.problems, ['pods x/web-3 and x/db both claim 10.0.0.3']);
  // web-1 has no status IP; its endpoint's 10.0.0.1 makes it a peer of db's rule.
  assert.equal(evaluateEndpoint(node, 'pn000000000004', 'ingress', '10.0.0.1', 6, 5432).allowed, true);
  assert.equal(evaluateEndpoint(node, 'pn000000000004', 'ingress', '10.0.0.9', 6, 5432).allowed, false);
});

test('every region carries its provenance', () => {
  const node = compileNode(stateOf(parseResources(yaml)), eps);
  const p = node.profiles.get((node.endpoints[0] as { ingress: string }).ingress);
  assert.ok(p);
  assert.deepEqual(lookupPartition(p.allow, 4, v4('10.0.0.2'), linear(6, 8080)), [0]);
  assert.deepEqual(p.allowRules, [{ kind: 'NetworkPolicy', namespace: 'x', name: 'web', direction: 'ingress', index: 0 }]);
  assert.equal(lookupPartition(p.allow, 4, v4('10.0.0.2'), linear(6, 9090)), undefined);
  assert.deepEqual(lookupPartition(p.cluster, 4, v4('192.168.3.4'), linear(17, 53)), {
    verdict: 'deny',
    decidedBy: { kind: 'ClusterNetworkPolicy', name: 'guard', order: 1, stage: 'enforce', direction: 'ingress', index: 0, action: 'Deny' },
    records: [],
  });
  assert.equal(p.tiers.length, 1);
  const v = evaluateEndpoint(node, 'pn000000000001', 'ingress', '192.168.3.4', 6, 8080);
  assert.deepEqual(v.decidedBy, { kind: 'cluster-rule', rule: p.tiers[0]?.rule });
});

test('a policy templated into several namespaces is one Kubernetes half, each profile with its own provenance', () => {
  const ns = ['a', 'b', 'c'];
  const text = ns
    .map(
      (n) => `apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ${n}, labels: {app: web}}
status: {podIP: 10.1.0.${ns.indexOf(n) + 1}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-monitoring-${n}, namespace: ${n}}
spec:
  podSelector: {}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: mon}}}], ports: [{port: 9090}]}]
  egress: [{to: [{podSelector: {}}]}]`,
    )
    .join('\n---\n');
  const node = compileNode(stateOf(parseResources(text)), ns.map((n, i) => ({ namespace: n, pod: 'p', ifname: `pn00000000000${i + 1}` })));
  const ingress = node.endpoints.map((e) => node.profiles.get(e.ingress));
  assert.equal(new Set(ingress.map((p) => p?.allowId)).size, 1, 'namespace-free rules: one shared half');
  assert.deepEqual(ingress.map((p) => p?.allowRules[0]?.name), ['allow-monitoring-a', 'allow-monitoring-b', 'allow-monitoring-c']);
  const egress = node.endpoints.map((e) => node.profiles.get(e.egress));
  assert.equal(new Set(egress.map((p) => p?.allowId)).size, 3, 'a lone podSelector refers to its own namespace: three halves');
});
