/**
 * The cluster view of flows: a peer's records come over its HTTP endpoint (two in-process agents'
 * endpoints on 127.0.0.1), merge by time with the local ring, cursors advance per node, filters
 * apply remotely, an unreachable peer is reported and does not hold the answer up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../common/log.js';
import { AgentApi } from './api.js';
import { AgentMetrics } from './metrics.js';
import { FlowRecorder } from './recorder.js';
import { observe } from './relay.js';

const view = () => ({ state: { namespaces: [], pods: [], networkPolicies: [], clusterNetworkPolicies: [] }, compiled: undefined });
const log = createLogger('error');

function recorder(node: string, times: readonly number[]): FlowRecorder {
  let i = 0;
  const rec = new FlowRecorder({ node, capacity: 100, view, now: () => times[i++] ?? 0 });
  // Unknown prefixes are ignored; a "pn U" record is made whatever the policy.
  rec.onLogs(times.map((_, k) => ({ prefix: 'pn U ', family: 4, protocol: k % 2 ? 17 : 6, src: '10.0.0.1', dst: '10.0.0.2', sport: 1000 + k, dport: 80 })));
  return rec;
}

test('observe merges the local ring with a peer over HTTP, by time, with per-node cursors and remote filters', async () => {
  const local = recorder('n1', [1000, 3000, 5000]);
  const remote = recorder('n2', [2000, 4000, 6000]);
  const metrics = new AgentMetrics('n2', { pools: async () => [], datastore: () => ({ healthy: true, kind: 'memory' }), policy: () => undefined, flows: () => undefined });
  const api = new AgentApi({ node: 'n2', host: '127.0.0.1', port: 0, metrics, flows: () => remote, log });
  const port = await api.listen();
  try {
    const peers = [{ name: 'n2', url: `http://127.0.0.1:${port}` }, { name: 'n3', url: 'http://127.0.0.1:1' }];
    const a = await observe({ name: 'n1', recorder: local }, peers, { filter: {}, cursors: {}, limit: 10 }, 2000);
    assert.deepEqual(a.records.map((r) => `${r.node}:${r.seq}`), ['n1:1', 'n2:1', 'n1:2', 'n2:2', 'n1:3', 'n2:3']);
    assert.deepEqual(a.cursors, { n1: 3, n2: 3 });
    assert.match(a.errors['n3'] ?? '', /fetch failed|ECONNREFUSED/);
    // Nothing new after the cursors.
    const b = await observe({ name: 'n1', recorder: local }, peers.slice(0, 1), { filter: {}, cursors: a.cursors, limit: 10 });
    assert.deepEqual(b.records, []);
    // Filters apply on the peer too.
    const c = await observe({ name: 'n1', recorder: local }, peers.slice(0, 1), { filter: { protocol: 'UDP' }, cursors: {}, limit: 10 });
    assert.deepEqual(c.records.map((r) => `${r.node}:${r.seq}`), ['n1:2', 'n2:2']);
    assert.ok(c.records.every((r) => r.protocol === 'UDP'));
    // The endpoint refuses bad queries with 400.
    const bad = await fetch(`http://127.0.0.1:${port}/v1/flows?verdict=nope`);
    assert.equal(bad.status, 400);
    assert.match(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), /^# HELP /m);
  } finally {
    await api.close();
  }
});
