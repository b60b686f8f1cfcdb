import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../common/errors.js';
import type { NodeRecord } from '../model/node.js';
import { computeDesired } from './compute.js';
import { localOf, testNode, testPools, testState, v4Block, v4Tunnel, v6Block, v6Tunnel } from './test-fixtures.js';
import type { ClusterState, DesiredCluster, DesiredRoute } from './types.js';

const routeTo = (d: DesiredCluster, dst: string): DesiredRoute | undefined => d.routes.find((r) => r.dst === dst);
const other = (i: number, over: Partial<NodeRecord> = {}): Partial<NodeRecord> => ({
  addressV4: `172.30.2.${10 + i}/24`,
  addressV6: `fd00:b::${(10 + i).toString(16)}/64`,
  ...over,
});

test('host-gw: blackholes for own blocks, routes via underlay addresses for remote blocks, both families', () => {
  const nodes = [1, 2, 3].map((i) => testNode(i, 'host-gw'));
  const d = computeDesired(localOf(nodes[0]!), testState(nodes));
  assert.equal(d.backend, 'host-gw');
  assert.deepEqual(d.routes, [
    { kind: 'blackhole', family: 4, dst: '10.244.0.64/26' },
    { kind: 'via', family: 4, dst: '10.244.0.128/26', via: '172.30.1.12', dev: 'eth0', onlink: false },
    { kind: 'via', family: 4, dst: '10.244.0.192/26', via: '172.30.1.13', dev: 'eth0', onlink: false },
    { kind: 'blackhole', family: 6, dst: 'fd10:244::40/122' },
    { kind: 'via', family: 6, dst: 'fd10:244::80/122', via: 'fd00:a::c', dev: 'eth0', onlink: false },
    { kind: 'via', family: 6, dst: 'fd10:244::c0/122', via: 'fd00:a::d', dev: 'eth0', onlink: false },
  ]);
  assert.deepEqual(d.vxlan, []);
  assert.equal(d.podMtu, 1500);
  assert.deepEqual(d.problems, []);
  assert.deepEqual(d.nat, { natCidrs: ['10.244.0.0/16', 'fd10:244::/64'], clusterCidrs: ['10.244.0.0/16', 'fd10:244::/64'] });
});

test('host-gw: a node outside the underlay subnet is a problem and gets no route', () => {
  const nodes = [testNode(1, 'host-gw'), testNode(2, 'host-gw'), testNode(3, 'host-gw', other(3))];
  const d = computeDesired(localOf(nodes[0]!), testState(nodes));
  assert.equal(routeTo(d, v4Block(3)), undefined);
  assert.equal(routeTo(d, v6Block(3)), undefined);
  assert.ok(routeTo(d, v4Block(2)));
  assert.equal(d.problems.length, 2, d.problems.join('\n'));
  assert.match(d.problems[0]!, /^node n3: its underlay address 172\.30\.2\.13 is not in this node's underlay subnet 172\.30\.1\.0\/24.*no route to 10\.244\.0\.192\/26$/);
  assert.match(d.problems[1]!, /^node n3: its underlay address fd00:b::d is not in .*fd00:a::\/64.*no route to fd10:244::c0\/122$/);
});

test('host-gw: a remote node without IPv6 underlay gets IPv4 routes only, and the IPv6 blocks are a problem', () => {
  const nodes = [testNode(1, 'host-gw'), testNode(2, 'host-gw', { addressV6: undefined })];
  const d = computeDesired(localOf(nodes[0]!), testState(nodes));
  assert.ok(routeTo(d, v4Block(2)));
  assert.equal(routeTo(d, v6Block(2)), undefined);
  assert.deepEqual(d.problems, [`node n2: it has no IPv6 underlay address to route IPv6 blocks to; no route to ${v6Block(2)}`]);
});

test('host-gw over an IPv6-only underlay routes IPv4 blocks via IPv6 next hops (RFC 5549)', () => {
  const nodes = [1, 2].map((i) => testNode(i, 'host-gw', { addressV4: undefined }));
  const d = computeDesired(localOf(nodes[0]!), testState(nodes));
  assert.deepEqual(routeTo(d, v4Block(2)), { kind: 'via', family: 4, dst: v4Block(2), via: 'fd00:a::c', dev: 'eth0', onlink: false });
  assert.deepEqual(d.problems, []);
});

test('vxlan: one device over IPv4 carrying both pod families, FDB/neighbour peers, onlink routes via tunnel addresses', () => {
  const nodes = [1, 2, 3].map((i) => testNode(i, 'vxlan'));
  nodes[2] = testNode(3, 'vxlan', other(3)); // another subnet does not matter to vxlan
  const d = computeDesired(localOf(nodes[0]!, 'ens3'), testState(nodes));
  assert.deepEqual(d.problems, []);
  assert.equal(d.podMtu, 1450);
  assert.deepEqual(d.vxlan, [
    {
      name: 'podnet.vxlan',
      family: 4,
      vni: 4096,
      port: 4789,
      local: '172.30.1.11',
      underlayDev: 'ens3',
      mac: '02:00:00:00:01:01',
      mtu: 1450,
      addresses: [`${v4Tunnel(1)}/32`, `${v6Tunnel(1)}/128`],
      peers: [
        { mac: '02:00:00:00:01:02', underlay: '172.30.1.12', tunnelIps: [v4Tunnel(2), v6Tunnel(2)] },
        { mac: '02:00:00:00:01:03', underlay: '172.30.2.13', tunnelIps: [v4Tunnel(3), v6Tunnel(3)] },
      ],
    },
  ]);
  assert.deepEqual(routeTo(d, v4Block(3)), { kind: 'via', family: 4, dst: v4Block(3), via: v4Tunnel(3), dev: 'podnet.vxlan', onlink: true });
  assert.deepEqual(routeTo(d, v6Block(2)), { kind: 'via', family: 6, dst: v6Block(2), via: v6Tunnel(2), dev: 'podnet.vxlan', onlink: true });
  assert.deepEqual(routeTo(d, v4Block(1)), { kind: 'blackhole', family: 4, dst: v4Block(1) });
  assert.equal(d.routes.length, 6);
});

test('vxlan: a node reachable over IPv6 only gets a second device podnet.vxlan6; MTU leaves room for IPv6 (70)', () => {
  const nodes = [testNode(1, 'vxlan'), testNode(2, 'vxlan'), testNode(3, 'vxlan', { addressV4: undefined })];
  const d = computeDesired(localOf(nodes[0]!), testState(nodes));
  assert.deepEqual(
    d.vxlan.map((v) => [v.name, v.family, v.local, v.mtu, v.addresses.length, v.peers.map((p) => p.underlay)]),
    [
      ['podnet.vxlan', 4, '172.30.1.11', 1450, 2, ['172.30.1.12']],
      ['podnet.vxlan6', 6, 'fd00:a::b', 1430, 0, ['fd00:a::d']],
    ],
  );
  assert.equal(d.podMtu, 1430);
  assert.equal((routeTo(d, v4Block(3)) as { dev: string }).dev, 'podnet.vxlan6');
  assert.equal((routeTo(d, v4Block(2)) as { dev: string }).dev, 'podnet.vxlan');
});

test('vxlan: a node without IPv6 underlay still carries IPv6 pods over its IPv4 tunnel; no IPv6 device appears', () => {
  const nodes = [testNode(1, 'vxlan', { addressV6: undefined }), testNode(2, 'vxlan')];
  const d = computeDesired(localOf(nodes[0]!), testState(nodes));
  assert.deepEqual(d.vxlan.map((v) => v.name), ['podnet.vxlan']);
  assert.deepEqual(routeTo(d, v6Block(2)), { kind: 'via', family: 6, dst: v6Block(2), via: v6Tunnel(2), dev: 'podnet.vxlan', onlink: true });
  assert.equal(d.podMtu, 1450);
  assert.deepEqual(d.problems, []);
});

test('vxlan: an IPv6-only node has only podnet.vxlan6, with the tunnel addresses', () => {
  const nodes = [1, 2].map((i) => testNode(i, 'vxlan', { addressV4: undefined }));
  const d = computeDesired(localOf(nodes[0]!), testState(nodes));
  assert.deepEqual(d.vxlan.map((v) => [v.name, v.addresses.length, v.mtu]), [['podnet.vxlan6', 2, 1430]]);
  assert.equal(d.podMtu, 1430);
});

test('vxlan: missing VXLAN identity on either side becomes a problem, never a half-made tunnel', () => {
  const nodes = [testNode(1, 'vxlan'), testNode(2, 'vxlan', { vxlan: undefined }), testNode(3, 'vxlan', { vxlan: { mac: '02:00:00:00:01:03', tunnelV4: v4Tunnel(3) } })];
  const d = computeDesired(localOf(nodes[0]!), testState(nodes));
  assert.equal(routeTo(d, v4Block(2)), undefined);
  assert.ok(routeTo(d, v4Block(3)));
  assert.equal(routeTo(d, v6Block(3)), undefined);
  assert.deepEqual(d.vxlan[0]!.peers.map((p) => p.mac), ['02:00:00:00:01:03']);
  assert.equal(d.problems.length, 2);
  assert.match(d.problems.join('\n'), /node n2: it has no VXLAN MAC/);
  assert.match(d.problems.join('\n'), /node n3: it has no IPv6 VXLAN tunnel address/);

  const noLocal = computeDesired(localOf(testNode(1, 'vxlan', { vxlan: undefined })), testState(nodes));
  assert.deepEqual(noLocal.vxlan, []);
  assert.deepEqual(noLocal.routes.map((r) => r.kind), ['blackhole', 'blackhole']);
  assert.match(noLocal.problems.join('\n'), /needs a VXLAN MAC/);
});

test('vxlan: a duplicated VTEP MAC or tunnel address is refused for the later node', () => {
  const nodes = [testNode(1, 'vxlan'), testNode(2, 'vxlan'), testNode(3, 'vxlan', { vxlan: { mac: '02:00:00:00:01:02', tunnelV4: '10.244.0.193' } })];
  const d = computeDesired(localOf(nodes[0]!), testState(nodes));
  assert.deepEqual(d.vxlan[0]!.peers.map((p) => p.mac), ['02:00:00:00:01:02']);
  assert.equal(routeTo(d, v4Block(3)), undefined);
  assert.match(d.problems.join('\n'), /node n3: its VXLAN MAC 02:00:00:00:01:02 is also node n2's/);
});

test('vxlan: a tunnel address outside its node\'s blocks gets a host route through the tunnel', () => {
  const nodes = [testNode(1, 'vxlan'), testNode(2, 'vxlan', { vxlan: { mac: '02:00:00:00:01:02', tunnelV4: '10.244.200.1', tunnelV6: v6Tunnel(2) } })];
  const d = computeDesired(localOf(nodes[0]!), testState(nodes));
  assert.deepEqual(routeTo(d, '10.244.200.1/32'), { kind: 'via', family: 4, dst: '10.244.200.1/32', via: '10.244.200.1', dev: 'podnet.vxlan', onlink: true });
  assert.equal(routeTo(d, `${v6Tunnel(2)}/128`), undefined);
});

test('cross-subnet: direct routes to the same subnet, VXLAN to the others; MTU as for vxlan', () => {
  const nodes = [testNode(1, 'cross-subnet'), testNode(2, 'cross-subnet'), testNode(3, 'cross-subnet', other(3))];
  const d = computeDesired(localOf(nodes[0]!), testState(nodes));
  assert.deepEqual(routeTo(d, v4Block(2)), { kind: 'via', family: 4, dst: v4Block(2), via: '172.30.1.12', dev: 'eth0', onlink: false });
  assert.deepEqual(routeTo(d, v6Block(2)), { kind: 'via', family: 6, dst: v6Block(2), via: 'fd00:a::c', dev: 'eth0', onlink: false });
  assert.deepEqual(routeTo(d, v4Block(3)), { kind: 'via', family: 4, dst: v4Block(3), via: v4Tunnel(3), dev: 'podnet.vxlan', onlink: true });
  assert.deepEqual(routeTo(d, v6Block(3)), { kind: 'via', family: 6, dst: v6Block(3), via: v6Tunnel(3), dev: 'podnet.vxlan', onlink: true });
  assert.deepEqual(d.vxlan.map((v) => [v.name, v.peers.map((p) => p.underlay)]), [['podnet.vxlan', ['172.30.2.13']]]);
  assert.equal(d.podMtu, 1450);
  assert.deepEqual(d.problems, []);

  // All adjacent: the device still exists (pods may meet a remote subnet later) and has no peers.
  const same = [1, 2].map((i) => testNode(i, 'cross-subnet'));
  const d2 = computeDesired(localOf(same[0]!), testState(same));
  assert.deepEqual(d2.vxlan.map((v) => [v.name, v.peers.length]), [['podnet.vxlan', 0]]);
  assert.equal(d2.podMtu, 1450);
});

test('cross-subnet decides per family: IPv4-adjacent node without IPv6 underlay gets IPv6 pods through the tunnel', () => {
  const nodes = [testNode(1, 'cross-subnet'), testNode(2, 'cross-subnet', { addressV6: undefined })];
  const d = computeDesired(localOf(nodes[0]!), testState(nodes));
  assert.equal((routeTo(d, v4Block(2)) as { dev: string }).dev, 'eth0');
  assert.deepEqual(routeTo(d, v6Block(2)), { kind: 'via', family: 6, dst: v6Block(2), via: v6Tunnel(2), dev: 'podnet.vxlan', onlink: true });
});

test('node removal: routes and peers go; blocks left behind by a removed node are reported', () => {
  const nodes = [1, 2, 3].map((i) => testNode(i, 'vxlan'));
  const full = computeDesired(localOf(nodes[0]!), testState(nodes));
  const gone = testState(nodes.slice(0, 2), {});
  const blocksOnly: ClusterState = { ...testState(nodes), nodes: gone.nodes };
  const d = computeDesired(localOf(nodes[0]!), blocksOnly);
  assert.equal(routeTo(d, v4Block(3)), undefined);
  assert.deepEqual(d.vxlan[0]!.peers.map((p) => p.underlay), ['172.30.1.12']);
  assert.deepEqual(d.problems, [`node n3: it has no node record (removed?); no route to ${v4Block(3)}, ${v6Block(3)}`]);
  const clean = computeDesired(localOf(nodes[0]!), gone);
  assert.deepEqual(clean.problems, []);
  assert.equal(clean.routes.length, full.routes.length - 2);
});

test('MTU: the smallest uplink of the cluster, less the overhead', () => {
  const nodes = [testNode(1, 'vxlan', { uplinkMtu: 9000 }), testNode(2, 'vxlan', { uplinkMtu: 1400 }), testNode(3, 'vxlan', { uplinkMtu: 9000 })];
  const d = computeDesired(localOf(nodes[0]!), testState(nodes));
  assert.equal(d.podMtu, 1350);
  assert.equal(d.vxlan[0]!.mtu, 1350);
  const h = computeDesired(localOf(testNode(1, 'host-gw', { uplinkMtu: 9000 })), testState([testNode(2, 'host-gw', { uplinkMtu: 8000 })]));
  assert.equal(h.podMtu, 8000);
  const bad = computeDesired(localOf(testNode(1, 'host-gw', { uplinkMtu: 0 })), testState([]));
  assert.equal(bad.podMtu, 1500);
  assert.match(bad.problems.join('\n'), /no node records a usable uplink MTU/);
  const small = computeDesired(localOf(testNode(1, 'vxlan', { uplinkMtu: 1300 })), testState([testNode(1, 'vxlan')]));
  assert.equal(small.podMtu, 1250);
  assert.match(small.problems.join('\n'), /pod MTU 1250 is below 1280/);
});

test('the same state in any order gives the same output', () => {
  const recs: NodeRecord[] = [];
  for (let i = 1; i <= 40; i++) recs.push(testNode(i, 'cross-subnet', i % 3 === 0 ? other(i) : i % 7 === 0 ? { addressV4: undefined } : {}));
  const base = testState(recs);
  const reference = computeDesired(localOf(recs[0]!), base);
  assert.equal(reference.routes.length, 80);
  let seed = 42;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const shuffle = <T>(xs: T[]): T[] => xs.map((x) => [rnd(), x] as const).sort((a, b) => a[0] - b[0]).map(([, x]) => x);
  for (let round = 0; round < 10; round++) {
    const state: ClusterState = {
      nodes: new Map(shuffle([...base.nodes])),
      blocks: new Map(shuffle([...base.blocks])),
      pools: shuffle([...base.pools]),
    };
    assert.deepEqual(computeDesired(localOf(recs[0]!), state), reference);
  }
});

test('NAT: natOutgoing pools masqueraded, every pool is cluster; nested and duplicate CIDRs folded', () => {
  const pools = [
    ...testPools(false),
    { name: 'out', cidr: '10.250.0.0/16', blockSize: 26, natOutgoing: true, disabled: true },
    { name: 'in', cidr: '10.250.1.0/24', blockSize: 26, natOutgoing: true, disabled: false },
    { name: 'junk', cidr: 'nope', blockSize: 26, natOutgoing: true, disabled: false },
  ];
  const d = computeDesired(localOf(testNode(1, 'host-gw')), testState([testNode(1, 'host-gw')], { pools }));
  assert.deepEqual(d.nat, { natCidrs: ['10.250.0.0/16'], clusterCidrs: ['10.244.0.0/16', '10.250.0.0/16', 'fd10:244::/64'] });
  assert.match(d.problems.join('\n'), /pool junk/);
});

test('bad records are problems, bad options and backends are errors', () => {
  const nodes = [testNode(1, 'host-gw'), testNode(2, 'host-gw', { addressV4: '172.30.1.300/24', vxlan: { mac: 'ff:ff:ff:ff:ff:ff' } })];
  const state: ClusterState = { ...testState(nodes), blocks: new Map([...testState(nodes).blocks, ['10.244.9.0/33', { node: 'n2', pool: 'v4' }]]) };
  const d = computeDesired(localOf(nodes[0]!), state);
  assert.match(d.problems.join('\n'), /node n2: underlay address "172\.30\.1\.300\/24" is not an IPv4 address/);
  assert.match(d.problems.join('\n'), /VXLAN MAC "ff:ff:ff:ff:ff:ff" is not a unicast MAC/);
  assert.match(d.problems.join('\n'), /block "10\.244\.9\.0\/33" of node n2 does not parse/);
  assert.throws(() => computeDesired(localOf(nodes[0]!), state, { vni: 0 }), (e) => isPodnetError(e, 'CLUSTER_INVALID_OPTIONS'));
  assert.throws(() => computeDesired(localOf(nodes[0]!, 'a b'), state), (e) => isPodnetError(e, 'CLUSTER_INVALID_OPTIONS'));
  assert.throws(() => computeDesired(localOf({ ...nodes[0]!, backend: 'ipip' as 'vxlan' }), state), (e) => isPodnetError(e, 'CLUSTER_UNKNOWN_BACKEND'));
});

test('blocks of a pool with a gateway (served on L2 through podnet-ipam) get no blackhole, but remote nodes still route to them', () => {
  const nodes = [1, 2].map((i) => testNode(i, 'host-gw'));
  const pools = testPools().map((p) => (p.name === 'v4' ? { ...p, gateway: '10.244.0.1' } : p));
  const mine = computeDesired(localOf(nodes[0]!), testState(nodes, { pools }));
  assert.equal(routeTo(mine, v4Block(1)), undefined, 'no blackhole over the bridge segment');
  assert.deepEqual(routeTo(mine, v6Block(1)), { kind: 'blackhole', family: 6, dst: v6Block(1) });
  const theirs = computeDesired(localOf(nodes[1]!), testState(nodes, { pools }));
  assert.equal(routeTo(theirs, v4Block(1))?.kind, 'via');
});
