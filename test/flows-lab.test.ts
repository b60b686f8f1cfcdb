/**
 * `podnet observe` across a 2-node lab: one agent answers for the cluster (its own ring and the
 * other node's /v1/flows over the underlay), merged by time; a cross-node connection is seen by
 * both nodes (egress on the sender's, ingress on the receiver's), a drop by the node that
 * dropped it, a staged policy's would-drop as audit; the node's metrics (parsed by an
 * independent Prometheus parser) move with it; --node and --follow work; a dead node is
 * reported, not waited for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import parsePrometheus from 'parse-prometheus-text-format';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { FlowRecord } from '../src/flows/types.js';
import { ETCD_BIN } from '../src/lab/etcd.js';
import { Lab } from '../src/lab/lab.js';
import { applyEverywhere } from '../src/lab/lab-policy.js';
import { PODNET_JS } from '../src/lab/paths.js';
import { childEnv, eventually } from './harness/podnet-cli.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync(ETCD_BIN) ? `needs ${ETCD_BIN}` : !existsSync(PODNET_JS) ? 'needs the build' : false;

const env = childEnv;

function observe(socket: string, args: readonly string[]): Promise<{ records: FlowRecord[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [PODNET_JS, 'observe', '-o', 'json', '--last', '500', '--socket', socket, ...args], { env: env(), timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`observe failed: ${stderr}`));
      else resolve({ records: String(stdout).split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as FlowRecord), stderr: String(stderr) });
    });
  });
}

const POLICY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-from-a, namespace: obs}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{from: [{podSelector: {matchLabels: {app: a}}}]}]
---
apiVersion: podnet.io/v1
kind: ClusterNetworkPolicy
metadata: {name: staged-no-a-to-c}
spec:
  order: 5
  stage: audit
  podSelector: {matchLabels: {app: c}}
  ingress: [{action: Deny, from: [{podSelector: {matchLabels: {app: a}}}]}]
`;

function metricsOf(socket: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [PODNET_JS, 'metrics', '--socket', socket], { env: env(), timeout: 15_000 }, (err, stdout, stderr) => (err ? reject(new Error(String(stderr))) : resolve(String(stdout)))),
  );
}

/** Sum of a counter's samples whose labels include all of `labels` (an independent text-format parser). */
function counter(text: string, name: string, labels: Record<string, string>): number {
  const fam = parsePrometheus(text).find((f) => f.name === name);
  return (fam?.metrics ?? []).filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)).reduce((n, m) => n + Number(m.value ?? 0), 0);
}

test('podnet observe across two nodes: both sides of a cross-node connection, the drop where it happened, --node, --follow, a dead node', { skip, timeout: 180_000 }, async () => {
  const lab = await Lab.up({ name: `obs${randomBytes(2).toString('hex')}`, nodes: 2, backend: 'vxlan', logLevel: 'warn' });
  try {
    const [n1, n2] = lab.nodes();
    assert.ok(n1 && n2);
    const a = await lab.addPod(n1.name, 'pa', { namespace: 'obs', podName: 'a', labels: { app: 'a' } });
    const b = await lab.addPod(n2.name, 'pb', { namespace: 'obs', podName: 'b', labels: { app: 'b' } });
    const c = await lab.addPod(n2.name, 'pc', { namespace: 'obs', podName: 'c', labels: { app: 'c' } });
    await applyEverywhere(lab, POLICY);
    const before = await metricsOf(n2.socket);
    assert.equal((await lab.exec(a.name, ['ping', '-c1', '-W2', b.v4 as string])).code, 0, 'a -> b allowed across nodes');
    assert.equal((await lab.exec(a.name, ['ping', '-c1', '-W2', c.v4 as string])).code, 0, 'a -> c: the staged policy does not drop');
    assert.notEqual((await lab.exec(c.name, ['ping', '-c1', '-W1', b.v4 as string])).code, 0, 'c -> b dropped on n2');

    const all = await eventually('records from both nodes', async () => {
      const { records } = await observe(n1.socket, ['--namespace', 'obs']);
      const sent = records.find((r) => r.node === n1.name && r.event === 'new' && r.src.pod === 'a' && r.dst.pod === 'b');
      const received = records.find((r) => r.node === n2.name && r.event === 'new' && r.src.pod === 'a' && r.dst.pod === 'b');
      const dropped = records.find((r) => r.node === n2.name && r.event === 'drop' && r.src.pod === 'c' && r.dst.pod === 'b');
      return sent && received && dropped ? { sent, received, dropped, records } : undefined;
    });
    assert.equal(all.sent.direction, 'egress');
    assert.match(all.sent.reason, /egress allowed/);
    assert.equal(all.received.direction, 'ingress');
    assert.deepEqual(all.received.policies, [{ kind: 'NetworkPolicy', namespace: 'obs', name: 'b-from-a', direction: 'ingress', rule: 0 }]);
    assert.deepEqual(all.dropped.policies.map((p) => p.name), ['b-from-a']);
    assert.equal(all.dropped.dst.node, n2.name);
    const times = all.records.map((r) => r.time);
    assert.deepEqual(times, [...times].sort(), 'merged by time');

    const audit = await eventually('the audit record on n2', async () => (await observe(n1.socket, ['--verdict', 'audit'])).records.find((r) => r.src.pod === 'a' && r.dst.pod === 'c'));
    assert.equal(audit.node, n2.name);
    assert.deepEqual(audit.policies, [{ kind: 'ClusterNetworkPolicy', name: 'staged-no-a-to-c', direction: 'ingress', rule: 0, action: 'Deny' }]);

    // n2's metrics moved with the traffic: a drop by the policy, an audit by the staged one.
    const after = await eventually('n2 metrics to move', async () => {
      const t = await metricsOf(n2.socket);
      return counter(t, 'podnet_policy_verdicts_total', { verdict: 'dropped', policy: 'obs/b-from-a' }) > counter(before, 'podnet_policy_verdicts_total', { verdict: 'dropped', policy: 'obs/b-from-a' }) ? t : undefined;
    });
    assert.ok(counter(after, 'podnet_policy_verdicts_total', { verdict: 'audit', policy: 'staged-no-a-to-c' }) >= 1);
    assert.ok(counter(after, 'podnet_flows_total', { event: 'new', verdict: 'forwarded' }) > counter(before, 'podnet_flows_total', { event: 'new', verdict: 'forwarded' }));

    const only2 = await observe(n1.socket, ['--node', n2.name]);
    assert.ok(only2.records.length > 0 && only2.records.every((r) => r.node === n2.name));

    // --follow prints what happens after it starts, from every node.
    const follow = spawn(process.execPath, [PODNET_JS, 'observe', '-o', 'json', '--follow', '--duration', '6', '--last', '1', '--pod', 'obs/b', '--socket', n1.socket], { env: env() });
    let out = '';
    follow.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => setTimeout(r, 1500));
    await lab.exec(c.name, ['ping', '-c2', '-W1', b.v4 as string]);
    await new Promise<void>((r) => follow.once('exit', () => r()));
    const followed = out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as FlowRecord);
    assert.ok(followed.filter((r) => r.event === 'drop' && r.src.pod === 'c').length >= 2, `follow saw the new drops: ${out}`);

    // A dead node is reported, the rest answered.
    await lab.killAgent(n2.name);
    const partial = await eventually('n2 reported dead', async () => {
      const r = await observe(n1.socket, ['--namespace', 'obs']);
      return /node n2: /.test(r.stderr) ? r : undefined;
    }, 30_000, 200);
    assert.ok(partial.records.some((r) => r.node === n1.name));
  } finally {
    await lab.down();
  }
});
