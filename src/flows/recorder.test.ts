/**
 * Kernel events -> flow records, through the real pipeline over the fake netfilter sources and a
 * real compiled policy: connections with the deciding rule per side, drops by isolation and by
 * Deny rule, audit and log records, the node's own connections ignored, counters at the end,
 * bounded memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../common/log.js';
import { FakeFlowSources, makeConntrackEvent, makeNflogPacket } from '../dataplane/linux/netfilter/fake.js';
import { compileNode } from '../policy/compile/compile-node.js';
import { parseResources } from '../policy/parse/resources.js';
import { stateOf } from '../policy/state.js';
import type { PolicyView } from './decide.js';
import { startFlowPipeline } from './pipeline.js';
import { FlowRecorder } from './recorder.js';
import type { FlowRecord } from './types.js';

const state = stateOf(
  parseResources(`
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: x, labels: {app: web}}
spec: {nodeName: n1}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: x, labels: {app: client}}
spec: {nodeName: n2}
status: {podIP: 10.0.0.2}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-in, namespace: x}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: 80}]}]
---
apiVersion: podnet.io/v1
kind: ClusterNetworkPolicy
metadata: {name: guard}
spec:
  order: 1
  podSelector: {matchLabels: {app: web}}
  ingress:
  - {action: Deny, ports: [{port: 23}]}
  - {action: Log, ports: [{port: 80}]}
---
apiVersion: podnet.io/v1
kind: ClusterNetworkPolicy
metadata: {name: staged}
spec:
  order: 2
  stage: audit
  podSelector: {matchLabels: {app: web}}
  ingress: [{action: Deny, ports: [{port: 8080}]}]
`),
);
const compiled = compileNode(state, [{ namespace: 'x', pod: 'web', ifname: 'pn000000000001' }]);
const view: PolicyView = { state, compiled };

async function pipeline(capacity = 100): Promise<{ src: FakeFlowSources; rec: FlowRecorder; close: () => Promise<void> }> {
  const src = new FakeFlowSources();
  const rec = new FlowRecorder({ node: 'n1', capacity, view: () => view, now: () => Date.parse('2026-11-23T10:00:00Z') });
  const p = await startFlowPipeline({ sources: src, recorder: rec, nflogGroup: 100, log: createLogger('error') });
  return { src, rec, close: () => p.close() };
}

const all = (rec: FlowRecorder): readonly FlowRecord[] => rec.ring.after(0, 1000).records;

test('a connection to a local pod carries the rule that allowed it; its end carries counters and duration', async () => {
  const { src, rec, close } = await pipeline();
  const orig = { src: '10.0.0.2', dst: '10.0.0.1', protocol: 6, sport: 40000, dport: 80 };
  src.emitConntrack([makeConntrackEvent({ type: 'new', id: 7, orig })]);
  src.emitConntrack([makeConntrackEvent({ type: 'destroy', id: 7, orig, counters: { orig: { packets: 5, bytes: 400 }, reply: { packets: 4, bytes: 900 } }, startMs: 1000, stopMs: 1250.5 })]);
  await src.idle();
  const [n, e] = all(rec);
  assert.equal(n?.event, 'new');
  assert.equal(n?.verdict, 'forwarded');
  assert.equal(n?.direction, 'ingress');
  assert.deepEqual(n?.src, { ip: '10.0.0.2', port: 40000, namespace: 'x', pod: 'client', node: 'n2' });
  assert.deepEqual(n?.policies, [{ kind: 'NetworkPolicy', namespace: 'x', name: 'web-in', direction: 'ingress', rule: 0 }]);
  assert.equal(n?.connection, 7);
  assert.equal(e?.event, 'end');
  assert.deepEqual(e?.packets, { orig: 5, reply: 4 });
  assert.deepEqual(e?.bytes, { orig: 400, reply: 900 });
  assert.equal(e?.durationMs, 250.5);
  await close();
});

test('connections without a local pod (the node itself) are ignored; updates are ignored', async () => {
  const { src, rec, close } = await pipeline();
  src.emitConntrack([makeConntrackEvent({ orig: { src: '172.30.1.11', dst: '172.30.1.1', protocol: 6, sport: 5000, dport: 2379 } })]);
  src.emitConntrack([makeConntrackEvent({ type: 'update', orig: { src: '10.0.0.2', dst: '10.0.0.1', protocol: 6, sport: 1, dport: 80 } })]);
  await src.idle();
  assert.equal(all(rec).length, 0);
  assert.equal(rec.stats().ignored, 1);
  await close();
});

test('NFLOG records: isolation drop, Deny rule, audit, Log; foreign prefixes ignored', async () => {
  const { src, rec, close } = await pipeline();
  const ingress = compiled.endpoints[0]?.ingress as string;
  const pkt = (prefix: string, dport: number, from = '10.9.9.9') => makeNflogPacket({ prefix, packet: { ipVersion: 4, src: from, dst: '10.0.0.1', protocol: 6, length: 60, ttl: 64, sport: 5555, dport } });
  src.emitNflog([pkt(`pn D ${ingress} `, 81), pkt('pn X guard/i0 ', 23), pkt('pn A staged/i0 ', 8080), pkt('pn L guard/i1 ', 80, '10.0.0.2'), pkt('someone else ', 80)]);
  await src.idle();
  const r = all(rec);
  assert.equal(r.length, 4);
  assert.deepEqual(r.map((x) => `${x.event}/${x.verdict}`), ['drop/dropped', 'drop/dropped', 'audit/audit', 'log/logged']);
  assert.deepEqual(r[0]?.policies, [{ kind: 'NetworkPolicy', namespace: 'x', name: 'web-in', direction: 'ingress' }]);
  assert.match(r[0]?.reason ?? '', /isolated by NetworkPolicy x\/web-in/);
  assert.deepEqual(r[1]?.policies, [{ kind: 'ClusterNetworkPolicy', name: 'guard', direction: 'ingress', rule: 0, action: 'Deny' }]);
  assert.deepEqual(r[2]?.policies, [{ kind: 'ClusterNetworkPolicy', name: 'staged', direction: 'ingress', rule: 0, action: 'Deny' }]);
  assert.equal(r[3]?.src.pod, 'client');
  assert.equal(rec.stats().ignored, 1);
  await close();
});

test('memory is bounded by the ring; lost kernel records are counted', async () => {
  const { src, rec, close } = await pipeline(50);
  for (let i = 0; i < 10; i++) src.emitConntrack(Array.from({ length: 30 }, (_, j) => makeConntrackEvent({ id: i * 30 + j, orig: { src: '10.0.0.2', dst: '10.0.0.1', protocol: 17, sport: 1000 + j, dport: 53 } })));
  await src.idle();
  assert.equal(rec.ring.length, 50);
  assert.equal(rec.stats().records, 300);
  assert.equal(rec.stats().overwritten, 250);
  await close();
});
