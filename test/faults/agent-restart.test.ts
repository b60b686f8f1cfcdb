/**
 * Faults, the agent going away while pods run: traffic between two pods (and to the node) keeps
 * flowing with zero loss while the agent is stopped, started, killed -9 and started again, and
 * the restarted agent reports the same endpoints with the very same kernel objects (host links
 * not recreated). And what an operator might do by mistake: a second agent on the same state
 * directory, or on the same socket with another state directory, refuses to start with a clear
 * error and disturbs neither the running agent nor its pods.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonObject } from '../../src/lab/cni-runtime.js';
import { run } from '../../src/lab/exec.js';
import { DEFAULT_FIXTURE_POOLS, withNode, type NodeFixture } from '../../src/lab/node-fixture.js';
import { cniCall, endpointsOf, snapshot } from '../../src/lab/node-state.js';
import { PODNET_JS } from '../../src/lab/paths.js';
import { addressesOf, assertEmptyNode, assertEmptySuccess, assertJsonSuccess, attachEnv, pings, podnetConf, startAgent } from '../conformance/support.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PingRun {
  readonly done: Promise<{ transmitted: number; received: number; out: string }>;
  readonly running: () => boolean;
}

/** `ping -i 0.05 -c count` from a namespace, in the background; bounded by a hard kill. */
function backgroundPing(ns: string, dst: string, count: number): PingRun {
  const child = spawn('ip', ['netns', 'exec', ns, 'ping', '-n', '-i', '0.05', '-c', String(count), '-W', '3', dst], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exited = false;
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const hard = setTimeout(() => child.kill('SIGKILL'), count * 50 + 60_000);
  const done = new Promise<{ transmitted: number; received: number; out: string }>((resolve) => {
    child.once('exit', () => {
      exited = true;
      clearTimeout(hard);
      const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(out);
      resolve({ transmitted: Number(m?.[1] ?? -1), received: Number(m?.[2] ?? -1), out: out.split('\n').slice(-4).join('\n') });
    });
  });
  return { done, running: () => !exited };
}

/** Kernel identity of the pods' plumbing: host links with ifindex and pod MACs. */
async function plumbing(node: NodeFixture, podNs: readonly string[]): Promise<string[]> {
  const r = await node.execIn(node.nodeNs, 'ip', ['-j', 'link', 'show']);
  const links = (JSON.parse(r.stdout) as { ifindex: number; ifname: string; address: string }[]).filter((l) => /^pn[0-9a-f]{12}$/.test(l.ifname)).map((l) => `${l.ifname}#${l.ifindex}`);
  const pods: string[] = [];
  for (const ns of podNs) {
    const p = await node.execIn(ns, 'ip', ['-j', 'link', 'show', 'eth0']);
    if (p.code !== 0) {
      pods.push(`${ns}:eth0 missing`);
      continue;
    }
    const [l] = JSON.parse(p.stdout) as { ifindex: number; address: string }[];
    pods.push(`${ns}:eth0#${l?.ifindex}/${l?.address}`);
  }
  return [...links.sort(), ...pods];
}

async function twoPods(node: NodeFixture) {
  const conf = podnetConf(node);
  const pods = [];
  for (const name of ['a', 'b']) {
    const { ns, path } = await node.newPodNs(name);
    const result = assertJsonSuccess(await cniCall(node, attachEnv('ADD', `ctr-${name}`, path, { CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name}` }), conf));
    pods.push({ ns, path, id: `ctr-${name}`, result, ...addressesOf(result) });
  }
  return { conf, a: pods[0]!, b: pods[1]! };
}

test('traffic keeps flowing with zero loss while the agent is stopped, restarted, killed -9 and restarted; same endpoints after', async (t) => {
  await withNode({}, async (node) => {
    const { conf, a, b } = await twoPods(node);
    const before = { eps: await endpointsOf(node), snap: await snapshot(node, [a.ns, b.ns]), plumbing: await plumbing(node, [a.ns, b.ns]) };

    const COUNT = 600; // 30 s at 20 packets per second, for each of the three flows
    const flows = [
      { what: `a -> b ${b.v4[0]}`, run: backgroundPing(a.ns, b.v4[0]!, COUNT) },
      { what: `b -> a ${a.v6[0]}`, run: backgroundPing(b.ns, a.v6[0]!, COUNT) },
      { what: 'a -> node 172.31.0.1', run: backgroundPing(a.ns, '172.31.0.1', COUNT) },
    ];
    const t0 = Date.now();
    const steps: string[] = [];
    const step = async (what: string, fn: () => Promise<void>) => {
      await fn();
      steps.push(`${what} at ${Date.now() - t0} ms`);
    };
    await sleep(1500);
    await step('SIGTERM', () => node.agent.stop());
    await sleep(1000);
    await step('restarted', () => startAgent(node));
    await sleep(1000);
    await step('SIGKILL', () => node.agent.kill());
    await sleep(1000);
    await step('restarted', () => startAgent(node));
    t.diagnostic(steps.join(', '));
    for (const f of flows) assert.ok(f.run.running(), `${f.what}: the ping must outlast the restarts (raise COUNT if the machine is this slow)`);
    for (const f of flows) {
      const r = await f.run.done;
      t.diagnostic(`${f.what}: ${r.transmitted} transmitted, ${r.received} received`);
      assert.equal(r.transmitted, COUNT, `${f.what}: ${r.out}`);
      assert.equal(r.received, COUNT, `${f.what}: zero loss\n${r.out}`);
    }

    assert.deepEqual(await endpointsOf(node), before.eps, 'the restarted agent reports the same endpoints');
    assert.deepEqual(await snapshot(node, [a.ns, b.ns]), before.snap);
    assert.deepEqual(await plumbing(node, [a.ns, b.ns]), before.plumbing, 'the very same host links and pod interfaces (nothing recreated)');
    // The restarted agent serves CHECK for the old pods and ADDs for new ones.
    assertEmptySuccess(await cniCall(node, attachEnv('CHECK', a.id, a.path), { ...conf, prevResult: a.result }));
    const { ns: cNs, path: cPath } = await node.newPodNs('c');
    const c = assertJsonSuccess(await cniCall(node, attachEnv('ADD', 'ctr-c', cPath), conf));
    assert.ok(await pings(node, cNs, a.v4[0]!));
    for (const [id, path, prev] of [[a.id, a.path, a.result], [b.id, b.path, b.result], ['ctr-c', cPath, c]] as [string, string, JsonObject][]) {
      assertEmptySuccess(await cniCall(node, attachEnv('DEL', id, path), { ...conf, prevResult: prev }));
    }
    assertEmptyNode(await snapshot(node));
  });
});

/** Starts `podnet agent` in the node namespace and expects it to refuse; returns its output. */
async function secondAgent(node: NodeFixture, stateDir: string, socket: string): Promise<{ code: number; out: string }> {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const args = ['netns', 'exec', node.nodeNs, process.execPath, PODNET_JS, 'agent', '--node-name', 'node-1', '--state-dir', stateDir, '--socket', socket, ...DEFAULT_FIXTURE_POOLS.flatMap((p) => ['--pool', p])];
  const r = await run('ip', args, { env, timeoutMs: 30_000 });
  return { code: r.code, out: `${r.stdout}${r.stderr}` };
}

test('a second agent on the same state directory, or on the same socket, refuses to start and disturbs nothing', async () => {
  await withNode({}, async (node) => {
    const { conf, a, b } = await twoPods(node);
    const before = { snap: await snapshot(node, [a.ns, b.ns]), plumbing: await plumbing(node, [a.ns, b.ns]) };
    const other = mkdtempSync(join(tmpdir(), 'podnet-second-'));
    try {
      // Same state directory, its own socket: the directory lock says who holds it.
      const r1 = await secondAgent(node, node.agent.stateDir, join(other, 'agent.sock'));
      assert.notEqual(r1.code, 0, `the second agent must refuse: ${r1.out}`);
      assert.match(r1.out, /locked/, r1.out);
      assert.match(r1.out, new RegExp(`pid ${node.agent.pid}\\b`), `names the holder: ${r1.out}`);
      assert.match(r1.out, /DATASTORE_LOCKED/);
      assert.deepEqual(await snapshot(node, [a.ns, b.ns]), before.snap, 'nothing changed');
      assert.deepEqual(await plumbing(node, [a.ns, b.ns]), before.plumbing);

      // Same socket, another (empty) state directory: it must not take over the socket, nor
      // treat the running agent's pods as orphans of its own empty store.
      const r2 = await secondAgent(node, join(other, 'state'), node.agent.socket);
      assert.notEqual(r2.code, 0, `the second agent must refuse: ${r2.out}`);
      assert.match(r2.out, /another podnet agent is listening/, r2.out);
      assert.match(r2.out, /AGENT_SOCKET_IN_USE/);
      assert.deepEqual(await plumbing(node, [a.ns, b.ns]), before.plumbing, "the running agent's pods keep their links");
      assert.deepEqual(await snapshot(node, [a.ns, b.ns]), before.snap, 'nothing changed');

      // The first agent still serves, the pods still work.
      assert.ok(await pings(node, a.ns, b.v4[0]!));
      assertEmptySuccess(await cniCall(node, attachEnv('CHECK', b.id, b.path), { ...conf, prevResult: b.result }));
      for (const p of [a, b]) assertEmptySuccess(await cniCall(node, attachEnv('DEL', p.id, p.path), { ...conf, prevResult: p.result }));
      assertEmptyNode(await snapshot(node));
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
