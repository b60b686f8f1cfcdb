/**
 * `podnet lab` end to end, privileged: for each backend a 3-node lab (etcd in its namespace, one
 * real agent per node, pods attached through the built podnet-cni), the full pod-to-pod ping
 * matrix over IPv4 and IPv6, egress NAT to the external namespace from a pod on every node (ext
 * must see the node's underlay address), and the datapath each backend promises (routes via the
 * underlay for host-gw, via podnet.vxlan for vxlan, both for cross-subnet over two subnets).
 * Then the CLI round trip through `node dist/src/bin/podnet.js lab …`, with an agent SIGKILLed
 * (pods keep working), ending in `lab down` and a check that no namespace or process is left.
 * Failures carry the per-node evidence (routes, FDB, neighbours, NAT table, agent logs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { StatusView } from '../src/agent/views.js';
import { callRpc } from '../src/agent/client.js';
import { cidrContains, parseCidr, parseIp } from '../src/common/ip.js';
import type { BackendName } from '../src/model/node.js';
import { ETCD_BIN } from '../src/lab/etcd.js';
import { collectEvidence } from '../src/lab/evidence.js';
import { run } from '../src/lab/exec.js';
import { Lab } from '../src/lab/lab.js';
import type { PingMatrix } from '../src/lab/lab-checks.js';
import { execIn, listNetns } from '../src/lab/netns.js';
import { PODNET_JS } from '../src/lab/paths.js';
import { pidsMentioning } from '../src/lab/procs.js';
import { renderMatrix } from '../src/lab/render.js';
import { addressOf, LAB_ROOT } from '../src/lab/topology.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync(ETCD_BIN) ? `needs ${ETCD_BIN}` : !existsSync(PODNET_JS) ? 'needs the build' : false;

const labName = (tag: string): string => `${tag}${randomBytes(3).toString('hex')}`;

function assertNothingLeft(name: string): void {
  assert.deepEqual(listNetns(`pl-${name}-`), [], `namespaces of lab ${name} left`);
  assert.deepEqual(pidsMentioning(`${LAB_ROOT}/${name}`), [], `processes of lab ${name} left`);
  assert.equal(existsSync(`${LAB_ROOT}/${name}`), false, `lab dir of ${name} left`);
}

async function routesVia(lab: Lab, node: string): Promise<string> {
  const r = await execIn(lab.node(node).ns, 'ip', ['-4', 'route', 'show', 'proto', '148'], { timeoutMs: 5000 });
  return r.stdout;
}

interface Case {
  readonly backend: BackendName;
  readonly subnets: 1 | 2;
  readonly podMtu: number;
}

const CASES: readonly Case[] = [
  { backend: 'host-gw', subnets: 1, podMtu: 1500 },
  { backend: 'vxlan', subnets: 1, podMtu: 1450 },
  { backend: 'cross-subnet', subnets: 2, podMtu: 1450 },
];

for (const c of CASES) {
  test(`lab ${c.backend} (${c.subnets} subnet${c.subnets === 2 ? 's' : ''}): 3 nodes, IPv4 and IPv6 pod matrix, egress NAT`, { skip, timeout: 240_000 }, async (t) => {
    const name = labName(c.backend === 'host-gw' ? 'thg' : c.backend === 'vxlan' ? 'tvx' : 'tcs');
    const t0 = Date.now();
    const lab = await Lab.up({ name, nodes: 3, backend: c.backend, subnets: c.subnets });
    const upMs = Date.now() - t0;
    try {
      const fail = async (what: string): Promise<string> => `${what}\n${await collectEvidence(lab)}`;
      await Promise.all(lab.nodes().flatMap((n) => ['a', 'b'].map((s) => lab.addPod(n.name, `p${n.index}${s}`, { namespace: 'lab-test' }))));
      await lab.waitSynced();
      assert.equal(lab.pods().length, 6);
      for (const p of lab.pods()) assert.ok(p.v4 && p.v6, `${p.name} got both families: ${p.addresses.join(',')}`);

      const matrices: PingMatrix[] = [];
      for (const family of [4, 6] as const) {
        const m = await lab.pingMatrix({ family });
        matrices.push(m);
        if (m.failed > 0 || m.cells.length !== 30) assert.fail(await fail(renderMatrix(m)));
      }

      for (const n of lab.nodes()) {
        const pod = lab.pods().find((p) => p.node === n.name);
        assert.ok(pod);
        for (const family of [4, 6] as const) {
          const e = await lab.egress(pod.name, family);
          if (!e.ok) assert.fail(await fail(`egress ${pod.name} IPv${family}: ${e.error ?? ''}`));
          assert.equal(e.seen, addressOf(family === 4 ? n.v4 : n.v6));
        }
      }

      // The datapath the backend promises (n1 and n3 share subnet A; n2 is on B with 2 subnets).
      const st = await callRpc<StatusView>(lab.agentSocket('n1'), 'status');
      assert.equal(st.cluster.backend, c.backend);
      assert.equal(st.podMtu, c.podMtu, 'pod MTU');
      const routes = await routesVia(lab, 'n1');
      const viaDev = (peer: string): string | undefined => {
        const ip = parseIp(lab.pods().find((p) => p.node === peer)?.v4 ?? '');
        const line = routes.split('\n').find((l) => {
          const dst = parseCidr(l.split(' ')[0] ?? '');
          return ip !== undefined && dst !== undefined && cidrContains(dst, ip);
        });
        return / dev (\S+)/.exec(line ?? '')?.[1];
      };
      const want = { 'host-gw': ['eth0', 'eth0'], vxlan: ['podnet.vxlan', 'podnet.vxlan'], 'cross-subnet': ['podnet.vxlan', 'eth0'] }[c.backend];
      const got = [viaDev('n2'), viaDev('n3')];
      if (JSON.stringify(got) !== JSON.stringify(want)) assert.fail(await fail(`${c.backend}: n1 routes to n2's and n3's blocks via ${got.join(', ')}, want ${want.join(', ')}`));

      t.diagnostic(`${c.backend}: lab up ${upMs} ms; IPv4 ${matrices[0]?.passed}/30, IPv6 ${matrices[1]?.passed}/30; retried pairs ${matrices.flatMap((m) => m.cells).filter((x) => x.attempts > 1).length}`);
    } finally {
      await lab.down();
      assertNothingLeft(name);
    }
  });
}

async function cli(args: readonly string[], timeoutMs = 120_000): Promise<{ code: number; out: string }> {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const r = await run(process.execPath, [PODNET_JS, 'lab', ...args], { env, timeoutMs });
  return { code: r.code, out: r.stdout + r.stderr };
}

test('lab CLI round trip: up, pod add, ping, agent kill, status, down leaves nothing', { skip, timeout: 240_000 }, async (t) => {
  const name = labName('cli');
  try {
    const up = await cli(['up', '--name', name, '--nodes', '2', '--backend', 'host-gw']);
    assert.equal(up.code, 0, up.out);
    assert.match(up.out, new RegExp(`lab ${name} up`));
    for (const [node, pod] of [['n1', 'web'], ['n2', 'db']] as const) {
      const r = await cli(['pod', 'add', node, pod, '--name', name, '--namespace', 'shop']);
      assert.equal(r.code, 0, r.out);
    }
    const dup = await cli(['pod', 'add', 'n1', 'web', '--name', name]);
    assert.equal(dup.code, 1);
    assert.match(dup.out, /LAB_POD_EXISTS/);
    for (const family of ['4', '6']) {
      const r = await cli(['ping', '--name', name, '--family', family]);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /2\/2 pairs reachable/);
    }
    const ex = await cli(['exec', 'web', '--name', name, '--', 'ip', '-o', 'addr', 'show', 'dev', 'eth0']);
    assert.equal(ex.code, 0, ex.out);
    assert.match(ex.out, /10\.244\./);

    // A crashed agent leaves its pods' datapath in place.
    const kill = await cli(['agent', 'kill', 'n1', '--name', name]);
    assert.equal(kill.code, 0, kill.out);
    const still = await cli(['ping', '--name', name]);
    assert.equal(still.code, 0, still.out);
    const st = await cli(['status', '--name', name, '-o', 'json']);
    assert.equal(st.code, 0, st.out);
    const s = JSON.parse(st.out) as { nodes: { name: string; agentUp: boolean }[]; pods: { name: string; v4?: string }[] };
    assert.deepEqual(s.nodes.map((n) => [n.name, n.agentUp]), [['n1', false], ['n2', true]]);
    assert.deepEqual(s.pods.map((p) => p.name).sort(), ['db', 'web']);
    t.diagnostic(up.out.split('\n').find((l) => l.includes(' up in ')) ?? '');
  } finally {
    const down = await cli(['down', '--name', name]);
    assert.equal(down.code, 0, down.out);
    assertNothingLeft(name);
  }
});
