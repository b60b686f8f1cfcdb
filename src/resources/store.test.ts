/**
 * The resource store on the memory datastore: apply is all or nothing at validation, reports
 * created/configured/unchanged, deletes by kind and name; the two writers of a Pod (apply: labels
 * and ports, CNI: addresses and node) keep each other's part in every order; listings; manifests
 * round-trip through the parser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../common/errors.js';
import { MemoryDatastore } from '../datastore/memory.js';
import type { Pod, Resource } from '../model/k8s.js';
import { parseResourceObjects, parseResources } from '../policy/parse/resources.js';
import { toManifest } from './manifest.js';
import { podFromIdentity, ResourceStore } from './store.js';

const NP = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: x}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {app: c}}}], ports: [{port: 80}]}]
`;
const NS = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x, labels: {team: a}}\n';
const attachment = { node: 'n1', containerId: 'c1', ifname: 'eth0' };

test('apply: created, unchanged, configured; a bad file applies nothing', async () => {
  const store = new MemoryDatastore();
  const rs = new ResourceStore(store);
  const a = await rs.apply(`${NS}---\n${NP}`);
  assert.deepEqual(a.results.map((r) => `${r.kind} ${r.name} ${r.action}`), ['Namespace x created', 'NetworkPolicy x/p created']);
  assert.ok(a.revision > 0);
  const b = await rs.apply(NP);
  assert.equal(b.results[0]?.action, 'unchanged');
  const c = await rs.apply(NP.replace('port: 80', 'port: 81'));
  assert.equal(c.results[0]?.action, 'configured');
  assert.ok(c.revision > a.revision);
  const before = (await store.list('/podnet/')).revision;
  await assert.rejects(rs.apply(`${NP.replace('name: p', 'name: q')}---\napiVersion: v1\nkind: Namespace\nmetadata: {name: Bad_Name}\n`), (e: unknown) => isPodnetError(e) && /document 2: metadata\.name/.test(e.message));
  assert.equal((await store.list('/podnet/')).revision, before, 'nothing written');
  await store.close();
});

test('delete by manifest: deleted, not found; revision covers the delete', async () => {
  const store = new MemoryDatastore();
  const rs = new ResourceStore(store);
  await rs.apply(`${NS}---\n${NP}`);
  const d = await rs.delete(`${NP}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: nope, namespace: x}\nspec: {podSelector: {}}\n`);
  assert.deepEqual(d.results.map((r) => r.action), ['deleted', 'not found']);
  assert.equal(d.revision, (await store.list('/podnet/')).revision);
  assert.deepEqual((await rs.list('NetworkPolicy')).items, []);
  assert.equal((await rs.list('Namespace')).items.length, 1);
  await assert.rejects(rs.list('Service'), (e: unknown) => isPodnetError(e, 'RESOURCE_UNKNOWN_KIND'));
  await store.close();
});

test('a pod attached by the CNI then applied keeps its addresses; applied labels win; detach keeps the applied part', async () => {
  const store = new MemoryDatastore();
  const rs = new ResourceStore(store);
  const p = await rs.attachPod({ namespace: 'x', name: 'a', labels: { app: 'web', from: 'cni' } }, attachment, ['10.0.0.1', 'fd00::1']);
  assert.deepEqual(p.ips, ['10.0.0.1', 'fd00::1']);
  assert.equal(p.nodeName, 'n1');
  await rs.apply('apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, labels: {app: api}}\nspec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}\n');
  const got = (await rs.list('Pod', 'x')).items[0];
  const pod = got?.resource as Pod;
  assert.deepEqual(pod.labels, { app: 'api' });
  assert.deepEqual(pod.ips, ['10.0.0.1', 'fd00::1']);
  assert.equal(pod.nodeName, 'n1');
  assert.equal(pod.ports[0]?.name, 'http');
  // A re-ADD (new sandbox) keeps the applied labels and ports over the runtime's labels.
  const again = await rs.attachPod({ namespace: 'x', name: 'a', labels: { app: 'web' } }, { ...attachment, containerId: 'c2' }, ['10.0.0.9']);
  assert.deepEqual(again.labels, { app: 'api' });
  assert.equal(again.ports.length, 1);
  // A DEL of the old sandbox changes nothing; the current one leaves the applied pod without status.
  await rs.detachPod('x', 'a', attachment);
  assert.deepEqual(((await rs.list('Pod', 'x')).items[0]?.resource as Pod).ips, ['10.0.0.9']);
  await rs.detachPod('x', 'a', { ...attachment, containerId: 'c2' });
  const left = (await rs.list('Pod', 'x')).items[0]?.resource as Pod;
  assert.deepEqual(left.ips, []);
  assert.equal(left.nodeName, undefined);
  assert.deepEqual(left.labels, { app: 'api' });
  await store.close();
});

test('a pod only the CNI knows goes with DEL; deleting a running pod keeps its addresses', async () => {
  const store = new MemoryDatastore();
  const rs = new ResourceStore(store);
  await rs.attachPod({ namespace: 'x', name: 'b', labels: {} }, attachment, ['10.0.0.2']);
  await rs.detachPod('x', 'b', attachment);
  assert.deepEqual((await rs.list('Pod')).items, []);
  await rs.attachPod({ namespace: 'x', name: 'c', labels: { k: 'v' } }, attachment, ['10.0.0.3']);
  const d = await rs.delete('apiVersion: v1\nkind: Pod\nmetadata: {name: c, namespace: x}\n');
  assert.equal(d.results[0]?.action, 'deleted');
  const c = (await rs.list('Pod')).items[0]?.resource as Pod;
  assert.deepEqual(c.ips, ['10.0.0.3'], 'the CNI part stays while the pod runs');
  assert.deepEqual(c.labels, {});
  await store.close();
});

test('pod identities are validated like applied pods', () => {
  assert.equal(podFromIdentity({ namespace: 'x', name: 'a', labels: { 'app.kubernetes.io/name': 'web' } }).name, 'a');
  assert.throws(() => podFromIdentity({ namespace: 'x', name: 'a', labels: { app: 'has space' } }), (e: unknown) => isPodnetError(e, 'RESOURCE_INVALID_LABELS'));
  assert.throws(() => podFromIdentity({ namespace: 'X', name: 'a', labels: {} }), (e: unknown) => isPodnetError(e, 'RESOURCE_INVALID_POD_ARGS'));
});

test('manifests round-trip through the parser for every kind and shape', () => {
  const all: Resource[] = [
    ...parseResources(`${NS}---\n${NP}`),
    ...parseResources(`
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {pod: a}}
spec:
  nodeName: n1
  containers: [{name: c, ports: [{name: serve-80-tcp, containerPort: 80}, {containerPort: 81, protocol: SCTP}]}]
status: {podIPs: [{ip: 10.0.0.1}, {ip: "fd00::1"}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: all-shapes, namespace: y}
spec:
  podSelector: {matchExpressions: [{key: pod, operator: In, values: [a, b]}, {key: x, operator: Exists}]}
  policyTypes: [Ingress, Egress]
  ingress:
  - {}
  - from: [{namespaceSelector: {matchLabels: {ns: y}}, podSelector: {}}, {ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]
    ports: [{port: 80, endPort: 90}, {protocol: UDP}, {port: serve-80-tcp}]
  egress: []
---
apiVersion: podnet.io/v1
kind: ClusterNetworkPolicy
metadata: {name: c}
spec:
  order: 5
  stage: audit
  namespaceSelector: {matchLabels: {team: a}}
  ingress: [{action: Deny, from: [{podSelector: {matchLabels: {bad: "true"}}}], ports: [{protocol: SCTP, port: 9}]}, {action: Log}]
  egress: [{action: Pass, to: [{namespaceSelector: {}}]}]
`),
  ];
  const back = parseResourceObjects(all.map(toManifest));
  assert.ok(back.ok, JSON.stringify(back));
  assert.deepEqual(back.resources, all);
});
