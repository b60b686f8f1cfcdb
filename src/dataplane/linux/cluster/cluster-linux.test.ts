/**
 * Privileged: three node namespaces (n1, n2 on underlay subnet A; n3 on subnet B behind a router),
 * one dual-stack pod each, the cluster state applied with LinuxClusterDataplane for host-gw, then
 * vxlan, then cross-subnet, and pod-to-pod pings across nodes at the MTU edge. Then the same for
 * two nodes with an IPv6-only underlay. Every namespace is the test's own and is deleted after.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeDesired } from '../../../calc/compute.js';
import { EMPTY_REPORT } from '../../../calc/delta.js';
import { localOf, testPools, testState } from '../../../calc/test-fixtures.js';
import type { ApplyReport, ClusterState, DesiredCluster } from '../../../calc/types.js';
import type { BackendName } from '../../../model/node.js';
import { LinuxClusterDataplane } from './cluster-dataplane.js';
import { execInOk } from '../../../lab/netns.js';
import { ClusterLab, type LabNodeSpec, labPrefix } from './test-lab.js';

const root = process.getuid?.() === 0;
/** In n1's blocks, held by no pod. */
const UNASSIGNED_V4 = '10.244.0.100';
const UNASSIGNED_V6 = 'fd10:244::70';

interface Applied {
  readonly desired: DesiredCluster;
  readonly report: ApplyReport;
}

class Cluster {
  readonly dps = new Map<number, LinuxClusterDataplane>();
  constructor(readonly lab: ClusterLab) {
    for (const n of lab.nodes) this.dps.set(n.i, new LinuxClusterDataplane({ netns: n.path }));
  }

  state(backend: BackendName, present: readonly number[], natOutgoing = true): ClusterState {
    return testState(present.map((i) => this.lab.record(i, backend)), { pools: testPools(natOutgoing) });
  }

  dp(i: number): LinuxClusterDataplane {
    const dp = this.dps.get(i);
    if (!dp) throw new Error(`no dataplane for node ${i}`);
    return dp;
  }

  /** Computes and applies each listed node's desired state from the cluster state of `present`. */
  async apply(backend: BackendName, on: readonly number[], present: readonly number[], natOutgoing = true): Promise<Map<number, Applied>> {
    const out = new Map<number, Applied>();
    const state = this.state(backend, present, natOutgoing);
    for (const i of on) {
      const desired = computeDesired(localOf(this.lab.record(i, backend)), state);
      out.set(i, { desired, report: await this.dp(i).apply(desired) });
    }
    return out;
  }

  /** A second apply of the same state changes nothing anywhere. */
  async assertNoop(backend: BackendName, present: readonly number[]): Promise<void> {
    for (const [i, a] of await this.apply(backend, present, present)) assert.deepEqual(a.report, EMPTY_REPORT, `second apply on n${i}`);
  }

  /** Pod-to-pod pings both ways, IPv4 and IPv6, with the largest payload the pod MTU allows (DF set). */
  async assertPods(pairs: readonly [number, number][], mtu: number): Promise<void> {
    const reassembled = await this.reassemblies();
    for (const [a, b] of pairs) {
      for (const [from, to] of [[a, b], [b, a]] as const) {
        const src = this.lab.node(from);
        const dst = this.lab.node(to);
        assert.ok(await this.lab.ping(src.podNs, dst.podV4, mtu - 28), `IPv4 pod n${from} -> pod n${to}, ${mtu} bytes`);
        assert.ok(await this.lab.ping(src.podNs, dst.podV6, mtu - 48), `IPv6 pod n${from} -> pod n${to}, ${mtu} bytes`);
      }
    }
    // The encapsulated packets fit the underlay: no node reassembled a fragment (VXLAN's outer
    // header has no DF by default, so a too-large packet would arrive fragmented, not vanish).
    assert.equal(await this.reassemblies(), reassembled, 'no underlay fragmentation');
    // One byte more does not fit the pod's link: the MTU is exactly what was computed.
    const [a, b] = pairs[0] ?? [1, 2];
    assert.equal(await this.lab.ping(this.lab.node(a).podNs, this.lab.node(b).podV4, mtu - 27, 1), false);
  }

  /** IPv4 + IPv6 reassembly requests seen by all node namespaces (/proc/net/snmp, snmp6). */
  async reassemblies(): Promise<number> {
    let sum = 0;
    for (const n of this.lab.nodes) {
      const snmp = await this.lab.sh(n.ns, 'cat', ['/proc/net/snmp']);
      const [head, values] = snmp.split('\n').filter((l) => l.startsWith('Ip: '));
      const i = (head ?? '').split(' ').indexOf('ReasmReqds');
      sum += Number((values ?? '').split(' ')[i]);
      const snmp6 = await this.lab.sh(n.ns, 'cat', ['/proc/net/snmp6']);
      sum += Number(/^Ip6ReasmReqds\s+(\d+)/m.exec(snmp6)?.[1]);
    }
    assert.ok(Number.isFinite(sum), 'reassembly counters readable');
    return sum;
  }

  async routes(i: number): Promise<string> {
    const ns = this.lab.node(i).ns;
    return (await this.lab.sh(ns, 'ip', ['route', 'show', 'proto', '148'])) + (await this.lab.sh(ns, 'ip', ['-6', 'route', 'show', 'proto', '148']));
  }

  async natCounter(i: number, family: 4 | 6): Promise<number> {
    const text = await this.lab.sh(this.lab.node(i).ns, 'nft', ['list', 'chain', 'inet', 'podnet-nat', 'postrouting']);
    const line = text.split('\n').find((l) => l.includes(`ipv${family}"`));
    return Number(/counter packets (\d+)/.exec(line ?? '')?.[1] ?? NaN);
  }

  /** Counts, in the router, packets for an unassigned address of n1's blocks. */
  async countAtRouter(): Promise<void> {
    const rule = (fam: string, match: string): string =>
      `table ${fam} pnc {\n\tchain pre {\n\t\ttype filter hook prerouting priority 0; policy accept;\n\t\t${match} counter\n\t}\n}\n`;
    await execInOk(this.lab.rt, 'nft', ['-f', '-'], { input: rule('ip', `ip daddr ${UNASSIGNED_V4}`) + rule('ip6', `ip6 daddr ${UNASSIGNED_V6}`) });
  }

  async routerCounts(): Promise<number[]> {
    const out: number[] = [];
    for (const fam of ['ip', 'ip6']) {
      const text = await this.lab.sh(this.lab.rt, 'nft', ['list', 'table', fam, 'pnc']);
      out.push(Number(/counter packets (\d+)/.exec(text)?.[1] ?? NaN));
    }
    return out;
  }

  async close(): Promise<void> {
    for (const dp of this.dps.values()) dp.close();
  }
}

test('cluster dataplane in namespaces: host-gw, vxlan, cross-subnet, node removal, clear', { skip: !root && 'needs root', timeout: 300_000 }, async (t) => {
  const specs: LabNodeSpec[] = [
    { i: 1, subnet: 'a' },
    { i: 2, subnet: 'a' },
    { i: 3, subnet: 'b' },
  ];
  const lab = await ClusterLab.create(labPrefix(), specs);
  const c = new Cluster(lab);
  const all = [1, 2, 3];
  try {
    await t.test('host-gw: adjacent nodes routed directly, the node behind the router reported and not routed', async () => {
      const hg = await c.apply('host-gw', all, all);
      const n1 = hg.get(1) as Applied;
      assert.deepEqual(n1.report, { ...EMPTY_REPORT, routesAdded: 4, natChanged: true });
      assert.equal(n1.desired.podMtu, 1500);
      assert.match(n1.desired.problems.join('\n'), /^node n3: its underlay address 172\.30\.2\.13 is not in this node's underlay subnet/m);
      assert.equal((hg.get(3) as Applied).report.routesAdded, 2); // its own blackholes only
      assert.match(await c.routes(1), /10\.244\.0\.128\/26 via 172\.30\.1\.12 dev eth0/);
      assert.match(await c.routes(1), /fd10:244::80\/122 via fd00:a::c dev eth0/);
      assert.doesNotMatch(await c.routes(1), /10\.244\.0\.192/);
      for (const i of all) await lab.setupPod(i, n1.desired.podMtu);
      await c.assertPods([[1, 2]], 1500);
      assert.equal(await lab.ping(lab.node(1).podNs, lab.node(3).podV4, 56, 1), false, 'n3 is not reachable with host-gw');
      await c.assertNoop('host-gw', all);
      // An unassigned address of the node's own block is dropped, not sent to the default route.
      await c.countAtRouter();
      assert.equal(await lab.ping(lab.node(1).podNs, UNASSIGNED_V4, 56, 2), false);
      assert.equal(await lab.ping(lab.node(1).podNs, UNASSIGNED_V6, 56, 2), false);
      assert.deepEqual(await c.routerCounts(), [0, 0], 'nothing leaked to the router');
    });

    await t.test('egress NAT: pods reach the router (which has no route to pods) only while masqueraded', async () => {
      const p1 = lab.node(1).podNs;
      const before4 = await c.natCounter(1, 4);
      assert.ok(await lab.ping(p1, '172.30.1.1'), 'IPv4 pod -> outside, masqueraded');
      assert.ok(await lab.ping(p1, 'fd00:a::1'), 'IPv6 pod -> outside, masqueraded');
      assert.ok((await c.natCounter(1, 4)) > before4);
      const pods = await c.natCounter(1, 4);
      assert.ok(await lab.ping(p1, lab.node(2).podV4));
      assert.equal(await c.natCounter(1, 4), pods, 'pod-to-pod traffic is not masqueraded');
      const off = await c.apply('host-gw', [1], all, false);
      assert.deepEqual(off.get(1)?.report, { ...EMPTY_REPORT, natChanged: true });
      assert.equal((await c.dp(1).observe()).nat.state, 'absent');
      assert.equal(await lab.ping(p1, '172.30.1.1', 56, 1), false, 'without NAT the reply has no way back');
      const on = await c.apply('host-gw', [1], all, true);
      assert.deepEqual(on.get(1)?.report, { ...EMPTY_REPORT, natChanged: true });
      assert.ok(await lab.ping(p1, '172.30.1.1'));
    });

    await t.test('vxlan: every node through the tunnel, pod MTU 1450 on a 1500 underlay, no black hole', async () => {
      const vx = await c.apply('vxlan', all, all);
      const n1 = vx.get(1) as Applied;
      assert.deepEqual(n1.report, { ...EMPTY_REPORT, routesReplaced: 2, routesAdded: 2, fdbChanged: 2, neighChanged: 4, devicesChanged: 1 });
      assert.equal(n1.desired.podMtu, 1450);
      assert.deepEqual(n1.desired.problems, []);
      const obs = await c.dp(1).observe();
      assert.equal(obs.devices.length, 1);
      assert.equal(obs.devices[0]?.txChecksum, false, 'tx-checksum-ip-generic is off');
      const link = await lab.sh(lab.node(1).ns, 'ip', ['-d', 'link', 'show', 'podnet.vxlan']);
      assert.match(link, /mtu 1450 .*\n.*\n\s+vxlan id 4096 local 172\.30\.1\.11 dev eth0 .*dstport 4789 nolearning/);
      for (const i of all) await lab.setupPod(i, 1450);
      await c.assertPods([[1, 2], [1, 3], [2, 3]], 1450);
      await c.assertNoop('vxlan', all);
    });

    await t.test('vxlan: a removed node loses its routes, FDB and neighbour entries everywhere', async () => {
      const gone = await c.apply('vxlan', [1, 2], [1, 2]);
      for (const i of [1, 2]) assert.deepEqual(gone.get(i)?.report, { ...EMPTY_REPORT, routesRemoved: 2, fdbChanged: 1, neighChanged: 2 });
      for (const i of [1, 2]) {
        const ns = lab.node(i).ns;
        assert.doesNotMatch(await c.routes(i), /10\.244\.0\.192|fd10:244::c0/);
        assert.doesNotMatch(await lab.sh(ns, 'bridge', ['fdb', 'show', 'dev', 'podnet.vxlan']), /02:00:00:00:01:03/);
        assert.doesNotMatch(await lab.sh(ns, 'ip', ['neigh', 'show', 'dev', 'podnet.vxlan']), /10\.244\.0\.193|fd10:244::c1/);
        assert.match(await lab.sh(ns, 'bridge', ['fdb', 'show', 'dev', 'podnet.vxlan']), new RegExp(`02:00:00:00:01:0${3 - i} dst 172\\.30\\.1\\.1${3 - i} self permanent`));
      }
      await c.assertPods([[1, 2]], 1450);
      assert.equal(await lab.ping(lab.node(1).podNs, lab.node(3).podV4, 56, 1), false);
      const back = await c.apply('vxlan', [1, 2], all);
      assert.deepEqual(back.get(1)?.report, { ...EMPTY_REPORT, routesAdded: 2, fdbChanged: 1, neighChanged: 2 });
      await c.assertPods([[1, 3]], 1450);
    });

    await t.test('cross-subnet: direct to the same subnet, VXLAN across the router', async () => {
      const cs = await c.apply('cross-subnet', all, all);
      assert.deepEqual(cs.get(1)?.report, { ...EMPTY_REPORT, routesReplaced: 2, fdbChanged: 1, neighChanged: 2 });
      assert.equal(cs.get(1)?.desired.podMtu, 1450);
      const r1 = await c.routes(1);
      assert.match(r1, /10\.244\.0\.128\/26 via 172\.30\.1\.12 dev eth0/);
      assert.match(r1, /10\.244\.0\.192\/26 via 10\.244\.0\.193 dev podnet\.vxlan onlink/);
      assert.match(r1, /fd10:244::c0\/122 via fd10:244::c1 dev podnet\.vxlan .*onlink/);
      assert.match(await c.routes(3), /10\.244\.0\.64\/26 via 10\.244\.0\.65 dev podnet\.vxlan onlink/);
      await c.assertPods([[1, 2], [1, 3], [2, 3]], 1450);
      await c.assertNoop('cross-subnet', all);
    });

    await t.test('repair: what is changed behind the reconciler\'s back comes back on the next apply', async () => {
      const ns = lab.node(1).ns;
      await lab.sh(ns, 'ip', ['route', 'del', '10.244.0.192/26']);
      await lab.sh(ns, 'ip', ['neigh', 'del', '10.244.0.193', 'dev', 'podnet.vxlan']);
      await lab.sh(ns, 'ip', ['link', 'set', 'podnet.vxlan', 'mtu', '1400']);
      await lab.sh(ns, 'nft', ['delete', 'element', 'inet', 'podnet-nat', 'cluster4', '{ 10.244.0.0/16 }']);
      const fixed = await c.apply('cross-subnet', [1], all);
      assert.deepEqual(fixed.get(1)?.report, { ...EMPTY_REPORT, routesAdded: 1, neighChanged: 1, devicesChanged: 1, natChanged: true });
      await c.assertNoop('cross-subnet', all);
      await c.assertPods([[1, 3]], 1450);
    });

    await t.test('clear removes routes (148), devices and NAT, and leaves pod routes (147) alone', async () => {
      for (const i of all) {
        const ns = lab.node(i).ns;
        const podRoutes = await lab.sh(ns, 'ip', ['route', 'show', 'proto', '147']);
        assert.match(podRoutes, new RegExp(lab.node(i).podV4.replaceAll('.', '\\.')));
        await c.dp(i).clear();
        assert.equal(await c.routes(i), '');
        assert.doesNotMatch(await lab.sh(ns, 'ip', ['link', 'show']), /podnet\.vxlan/);
        assert.equal((await lab.sh(ns, 'nft', ['list', 'ruleset'])).trim(), '');
        assert.equal(await lab.sh(ns, 'ip', ['route', 'show', 'proto', '147']), podRoutes);
        await c.dp(i).clear(); // idempotent
      }
      // Without the blackholes, traffic to an unassigned pod address leaks to the default route.
      await lab.ping(lab.node(1).podNs, UNASSIGNED_V4, 56, 1);
      await lab.ping(lab.node(1).podNs, UNASSIGNED_V6, 56, 1);
      const [v4, v6] = await c.routerCounts();
      assert.ok((v4 ?? 0) > 0 && (v6 ?? 0) > 0, `leaked after clear: ${v4} IPv4, ${v6} IPv6`);
    });
  } finally {
    await c.close();
    await lab.destroy();
  }
});

test('cluster dataplane over an IPv6-only underlay: RFC 5549 host-gw, then podnet.vxlan6 with MTU 1430', { skip: !root && 'needs root', timeout: 180_000 }, async (t) => {
  const lab = await ClusterLab.create(labPrefix(), [
    { i: 1, subnet: 'a', v4: false },
    { i: 2, subnet: 'a', v4: false },
  ]);
  const c = new Cluster(lab);
  const all = [1, 2];
  try {
    await t.test('host-gw: IPv4 pod blocks via IPv6 next hops', async () => {
      const hg = await c.apply('host-gw', all, all);
      assert.deepEqual(hg.get(1)?.desired.problems, []);
      assert.match(await c.routes(1), /10\.244\.0\.128\/26 via inet6 fd00:a::c dev eth0/);
      for (const i of all) await lab.setupPod(i, 1500);
      await c.assertPods([[1, 2]], 1500);
      await c.assertNoop('host-gw', all);
    });
    await t.test('vxlan: podnet.vxlan6 over IPv6, both pod families through it', async () => {
      const vx = await c.apply('vxlan', all, all);
      const d = vx.get(1)?.desired as DesiredCluster;
      assert.deepEqual(d.vxlan.map((v) => [v.name, v.mtu]), [['podnet.vxlan6', 1430]]);
      assert.equal(d.podMtu, 1430);
      assert.match(await lab.sh(lab.node(1).ns, 'ip', ['-d', 'link', 'show', 'podnet.vxlan6']), /vxlan id 4096 local fd00:a::b dev eth0/);
      for (const i of all) await lab.setupPod(i, 1430);
      await c.assertPods([[1, 2]], 1430);
      await c.assertNoop('vxlan', all);
      for (const i of all) await c.dp(i).clear();
      assert.equal(await c.routes(1), '');
    });
  } finally {
    await c.close();
    await lab.destroy();
  }
});
