/**
 * Scale: one node with 500 remote nodes (dual-stack blocks), computed and applied with the fake
 * and with the kernel (a namespace of the test's own): first apply, no-op applies (what a periodic
 * resync costs), one node removed, a backend switch, clear. Timings go to the test's diagnostics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { computeDesired } from '../../../calc/compute.js';
import { EMPTY_REPORT } from '../../../calc/delta.js';
import { localOf, testNode, testState, v4Tunnel, v6Tunnel } from '../../../calc/test-fixtures.js';
import type { ClusterState, DesiredCluster } from '../../../calc/types.js';
import { runOk } from '../../../lab/exec.js';
import { addNetns, delNetns, execInOk, netnsPath } from '../../../lab/netns.js';
import type { BackendName, NodeRecord } from '../../../model/node.js';
import { FakeClusterDataplane } from '../../fake/cluster-dataplane.js';
import { LinuxClusterDataplane } from './cluster-dataplane.js';

const REMOTES = 500;
const root = process.getuid?.() === 0;
const hex = (n: number): string => n.toString(16).padStart(2, '0');

/** Node i of a large flat cluster: 172.30.0.0/16 and fd00:a::/64, one VXLAN MAC per node. */
function bigNode(i: number, backend: BackendName): NodeRecord {
  return testNode(i, backend, {
    addressV4: `172.30.${1 + (i >> 8)}.${i & 255}/16`,
    addressV6: `fd00:a::1:${i.toString(16)}/64`,
    vxlan: { mac: `02:00:00:01:${hex(i >> 8)}:${hex(i & 255)}`, tunnelV4: v4Tunnel(i), tunnelV6: v6Tunnel(i) },
  });
}

function bigState(backend: BackendName, count = REMOTES + 1): ClusterState {
  return testState(Array.from({ length: count }, (_, k) => bigNode(k + 1, backend)));
}

const ms = (t0: number): number => Math.round((performance.now() - t0) * 10) / 10;

async function timed<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, ms(t0)];
}

test(`scale: ${REMOTES} remote nodes, fake and kernel`, { timeout: 300_000 }, async (t) => {
  const local = localOf(bigNode(1, 'vxlan'));
  const [vx, computeMs] = await timed(() => computeDesired(local, bigState('vxlan')));
  assert.equal(vx.routes.length, 2 * (REMOTES + 1));
  assert.deepEqual(vx.problems, []);
  t.diagnostic(`computeDesired, ${REMOTES} remote nodes: ${computeMs} ms`);

  const fake = new FakeClusterDataplane();
  const [fr, fakeFirst] = await timed(() => fake.apply(vx));
  assert.equal(fr.routesAdded, 2 * (REMOTES + 1));
  const [fn, fakeNoop] = await timed(() => fake.apply(vx));
  assert.deepEqual(fn, EMPTY_REPORT);
  t.diagnostic(`fake: first apply ${fakeFirst} ms, no-op apply ${fakeNoop} ms`);

  if (!root) {
    t.diagnostic('kernel part skipped: needs root');
    return;
  }
  const ns = `pnc-${randomBytes(3).toString('hex')}-scale`;
  const peer = `${ns}p`;
  const dp = new LinuxClusterDataplane({ netns: netnsPath(ns) });
  try {
    await addNetns(ns);
    await addNetns(peer);
    await runOk('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peer]);
    await runOk('ip', ['-n', ns, 'addr', 'add', '172.30.1.1/16', 'dev', 'eth0']);
    await runOk('ip', ['-n', ns, 'addr', 'add', 'fd00:a::1:1/64', 'dev', 'eth0', 'nodad']);
    await runOk('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    await runOk('ip', ['-n', peer, 'link', 'set', 'eth0', 'up']);

    const [first, firstMs] = await timed(() => dp.apply(vx));
    assert.deepEqual(first, { routesAdded: 2 * (REMOTES + 1), routesRemoved: 0, routesReplaced: 0, fdbChanged: REMOTES, neighChanged: 2 * REMOTES, devicesChanged: 1, natChanged: true });
    const firstPhases = dp.lastTimings;
    const noops: number[] = [];
    for (let k = 0; k < 5; k++) {
      const [r, took] = await timed(() => dp.apply(vx));
      assert.deepEqual(r, EMPTY_REPORT);
      noops.push(took);
    }
    const noopPhases = dp.lastTimings;
    const counted = (await execInOk(ns, 'ip', ['route', 'show', 'proto', '148'])).trim().split('\n').length;
    assert.equal(counted, REMOTES + 1);
    const fdb = (await execInOk(ns, 'bridge', ['fdb', 'show', 'dev', 'podnet.vxlan'])).trim().split('\n').length;
    assert.equal(fdb, REMOTES);

    const less: DesiredCluster = computeDesired(local, bigState('vxlan', REMOTES));
    const [removed, removeMs] = await timed(() => dp.apply(less));
    assert.deepEqual(removed, { ...EMPTY_REPORT, routesRemoved: 2, fdbChanged: 1, neighChanged: 2 });

    const hg = computeDesired(localOf(bigNode(1, 'host-gw')), bigState('host-gw', REMOTES));
    const [switched, switchMs] = await timed(() => dp.apply(hg));
    assert.deepEqual(switched, { ...EMPTY_REPORT, routesAdded: 2 * (REMOTES - 1), devicesChanged: 1 });
    const [, clearMs] = await timed(() => dp.clear());
    assert.equal((await execInOk(ns, 'ip', ['route', 'show', 'proto', '148'])).trim(), '');

    const f = (p: { readMs: number; writeMs: number; natMs: number }): string => `read ${p.readMs.toFixed(1)} / write ${p.writeMs.toFixed(1)} / nat ${p.natMs.toFixed(1)} ms`;
    t.diagnostic(`kernel: first apply ${firstMs} ms (${f(firstPhases)})`);
    t.diagnostic(`kernel: no-op apply ${noops.join(', ')} ms (last: ${f(noopPhases)})`);
    t.diagnostic(`kernel: one node removed ${removeMs} ms; vxlan -> host-gw ${switchMs} ms; clear ${clearMs} ms`);
    t.diagnostic(`kernel: netlink requests so far ${dp.netlinkStats().requests}`);
  } finally {
    dp.close();
    await delNetns(ns);
    await delNetns(peer);
  }
});
