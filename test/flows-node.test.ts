/**
 * Flow records and metrics on one real node: allowed connections (conntrack) carry the rule that
 * allowed them, drops (NFLOG) the policy that dropped them, a staged ClusterNetworkPolicy shows
 * as audit; connection ends carry counters; `podnet observe` filters; the metrics parse with an
 * independent Prometheus text-format parser and their counters move with the traffic; the HTTP
 * endpoint serves the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import parsePrometheus, { type PromFamily } from 'parse-prometheus-text-format';
import type { FlowRecord } from '../src/flows/types.js';
import { withNode, type NodeFixture } from '../src/lab/node-fixture.js';
import { netnsPath } from '../src/lab/netns.js';
import { childEnv, eventually, podnetCli, type CliResult } from './harness/podnet-cli.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;

const env = childEnv;
const cli = (node: NodeFixture, args: readonly string[], input?: string): Promise<CliResult> => podnetCli(node.agent.socket, args, input);

interface Pod {
  readonly name: string;
  readonly ns: string;
  readonly v4: string;
}

async function addPod(node: NodeFixture, name: string, app: string): Promise<Pod> {
  const { ns, path } = await node.newPodNs(name);
  const list = node.conflist({ plugin: { args: { cni: { labels: [{ key: 'app', value: app }] } } } });
  const res = await node.runtime.add(list, node.attachment(`ctr-${name}`, path, `K8S_POD_NAMESPACE=prod;K8S_POD_NAME=${name}`));
  const v4 = (res.ips as { address: string }[]).map((i) => i.address.split('/')[0] as string).find((i) => i.includes('.')) as string;
  return { name, ns, v4 };
}

/** A TCP server answering "hi" on port 80 inside a pod (killed by the caller). */
function server(pod: Pod): ChildProcess {
  return spawn('nsenter', [`--net=${netnsPath(pod.ns)}`, '--', process.execPath, '-e', "require('net').createServer((s) => s.end('hi\\n')).listen(80)"], { env: env(), stdio: 'ignore' });
}

async function tcp(node: NodeFixture, from: Pod, to: Pod): Promise<boolean> {
  const r = await node.execIn(from.ns, 'busybox', ['nc', '-w', '1', to.v4, '80'], 10_000);
  return r.stdout.includes('hi');
}

async function observe(node: NodeFixture, args: readonly string[] = []): Promise<FlowRecord[]> {
  const r = await cli(node, ['observe', '-o', 'json', '--last', '500', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as FlowRecord);
}

function sample(fams: readonly PromFamily[], name: string, labels: Record<string, string>): number {
  const f = fams.find((x) => x.name === name);
  if (!f) return 0;
  return f.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)).reduce((n, m) => n + Number(m.value ?? m.count ?? 0), 0);
}

/**
 * Observations in a histogram, all label sets together: parse-prometheus-text-format drops the
 * labels (and _count) of labelled histograms, so only the +Inf buckets are read.
 */
function histogramCount(fams: readonly PromFamily[], name: string): number {
  const f = fams.find((x) => x.name === name);
  assert.equal(f?.type, 'HISTOGRAM', `${name} is a histogram`);
  return (f?.metrics ?? []).reduce((n, m) => n + Number(m.buckets?.['+Inf'] ?? 0), 0);
}

async function metrics(node: NodeFixture): Promise<PromFamily[]> {
  const r = await cli(node, ['metrics']);
  assert.equal(r.code, 0, r.stderr);
  return parsePrometheus(r.stdout);
}

const POLICIES = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-clients, namespace: prod}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: 80}]}]
---
apiVersion: podnet.io/v1
kind: ClusterNetworkPolicy
metadata: {name: audit-other}
spec:
  order: 10
  stage: audit
  podSelector: {matchLabels: {app: client}}
  ingress: [{action: Deny, from: [{podSelector: {matchLabels: {app: other}}}]}]
`;

test('flows: forwarded with the allowing rule, dropped with the policy, audit, counters; observe filters; metrics move', { skip }, async () => {
  await withNode({}, async (node) => {
    const web = await addPod(node, 'web', 'web');
    const client = await addPod(node, 'client', 'client');
    const other = await addPod(node, 'other', 'other');
    const srv = server(web);
    try {
      const applied = await cli(node, ['apply', '-f', '-', '--wait'], POLICIES);
      assert.equal(applied.code, 0, applied.stderr);
      await eventually('the server listens', async () => ((await tcp(node, client, web)) ? true : undefined));
      const before = await metrics(node);

      assert.equal(await tcp(node, other, web), false, 'other -> web:80 is dropped');
      const ping = await node.execIn(other.ns, 'ping', ['-c1', '-W2', client.v4]);
      assert.equal(ping.code, 0, 'audit does not drop');

      const allowed = await eventually('the allowed connection', async () =>
        (await observe(node, ['--pod', 'prod/web', '--protocol', 'tcp'])).find((r) => r.event === 'new' && r.src.pod === 'client' && r.dst.pod === 'web'),
      );
      assert.equal(allowed.verdict, 'forwarded');
      assert.equal(allowed.dst.port, 80);
      assert.deepEqual(allowed.policies.find((p) => p.direction === 'ingress'), { kind: 'NetworkPolicy', namespace: 'prod', name: 'web-from-clients', direction: 'ingress', rule: 0 });
      assert.match(allowed.reason, /ingress allowed by NetworkPolicy prod\/web-from-clients ingress\[0\]/);

      const dropped = await eventually('the drop', async () => (await observe(node, ['--verdict', 'dropped'])).find((r) => r.src.pod === 'other' && r.dst.pod === 'web'));
      assert.equal(dropped.event, 'drop');
      assert.equal(dropped.protocol, 'TCP');
      assert.equal(dropped.dst.port, 80);
      assert.equal(dropped.direction, 'ingress');
      assert.deepEqual(dropped.policies.map((p) => `${p.namespace}/${p.name}`), ['prod/web-from-clients']);

      const audit = await eventually('the audit record', async () => (await observe(node, ['--verdict', 'audit'])).find((r) => r.src.pod === 'other' && r.dst.pod === 'client'));
      assert.equal(audit.protocol, 'ICMP');
      assert.deepEqual(audit.policies, [{ kind: 'ClusterNetworkPolicy', name: 'audit-other', direction: 'ingress', rule: 0, action: 'Deny' }]);
      const icmp = await observe(node, ['--protocol', 'icmp', '--pod', 'client']);
      assert.ok(icmp.some((r) => r.event === 'new' && r.verdict === 'forwarded' && r.src.pod === 'other'), 'the audited ping was forwarded');

      // Filters are exact: nothing else comes through.
      for (const r of await observe(node, ['--verdict', 'dropped'])) assert.equal(r.verdict, 'dropped');
      for (const r of await observe(node, ['--port', '80'])) assert.ok(r.dst.port === 80 || r.src.port === 80);
      for (const r of await observe(node, ['--namespace', 'nope'])) assert.fail(`unexpected ${JSON.stringify(r)}`);

      // Connection ends carry counters (conntrack entries are flushed to end them now).
      const flushed = await node.execIn(node.nodeNs, 'conntrack', ['-F']);
      assert.equal(flushed.code, 0, flushed.stderr);
      const ended = await eventually('the connection end', async () => (await observe(node, ['--event', 'end', '--pod', 'prod/web'])).find((r) => r.src.pod === 'client' && r.protocol === 'TCP'));
      assert.ok((ended.packets?.orig ?? 0) >= 3 && (ended.packets?.reply ?? 0) >= 2, JSON.stringify(ended));
      assert.ok((ended.bytes?.reply ?? 0) > 0);

      // Metrics parse and move with the traffic.
      const after = await metrics(node);
      assert.ok(sample(after, 'podnet_flows_total', { event: 'new', verdict: 'forwarded' }) > sample(before, 'podnet_flows_total', { event: 'new', verdict: 'forwarded' }));
      const drops = (f: readonly PromFamily[]): number => sample(f, 'podnet_policy_verdicts_total', { verdict: 'dropped', policy: 'prod/web-from-clients' });
      assert.ok(drops(after) > drops(before), 'drop counter of the policy moved');
      assert.ok(sample(after, 'podnet_policy_verdicts_total', { verdict: 'audit', policy: 'audit-other' }) >= 1);
      assert.ok(histogramCount(after, 'podnet_cni_request_duration_seconds') >= 3, 'CNI ADD latency histogram');
      assert.ok(histogramCount(after, 'podnet_policy_programming_duration_seconds') >= 1);
      assert.ok(sample(after, 'podnet_ipam_addresses', { state: 'used' }) >= 3);
      assert.equal(sample(after, 'podnet_datastore_up', {}), 1);
      const n = drops(after);
      assert.equal(await tcp(node, other, web), false);
      await eventually('the drop counter to move again', async () => (drops(await metrics(node)) > n ? true : undefined));

      // The HTTP endpoint in the node's namespace serves the same.
      const fetched = await new Promise<string>((resolve, reject) =>
        execFile('nsenter', [`--net=${netnsPath(node.nodeNs)}`, '--', process.execPath, '-e', "fetch('http://127.0.0.1:9473/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))"], { env: env(), timeout: 15_000 }, (e, out) => (e ? reject(e) : resolve(String(out)))),
      );
      assert.ok(parsePrometheus(fetched).some((f) => f.name === 'podnet_flows_total'));
    } finally {
      srv.kill('SIGKILL');
    }
  });
});
