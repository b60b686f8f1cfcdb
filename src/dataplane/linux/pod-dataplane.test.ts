/**
 * Privileged: LinuxPodDataplane against the real kernel. A "node" namespace plays the host (its
 * lo holds the node's addresses, up0 is its uplink with the default routes) and every pod gets
 * its own namespace. Everything is checked with real traffic, right after setup returns.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isPodnetError } from '../../common/errors.js';
import type { PodNetSpec } from '../types.js';
import { NetnsPool, ipIn, ipJson, ping, privilegedSkip, sysctlIn } from './netns-fixture.js';
import { listRoutes } from './netlink/route.js';
import { NetlinkSocket } from './netlink/socket.js';
import { LinuxPodDataplane } from './pod-dataplane.js';

const skip = privilegedSkip();
const pool = new NetnsPool();
let node = '';
let dp: LinuxPodDataplane;
let hostIdx = 0;

const hostName = (): string => `pn${(0xa00000000000 + ++hostIdx).toString(16)}`;
const v4 = (n: number): { family: 4; address: string } => ({ family: 4, address: `10.244.0.${n}` });
const v6 = (n: number): { family: 6; address: string } => ({ family: 6, address: `fd00:244::${n.toString(16)}` });

function podSpec(pod: string, n: number, extra: Partial<PodNetSpec> = {}): PodNetSpec {
  return { netnsPath: pool.path(pod), ifname: 'eth0', hostIfname: hostName(), addresses: [v4(n), v6(n)], mtu: 1450, ...extra };
}

const nodeLinks = (ns = node): string[] => ipJson<{ ifname: string }[]>(ns, 'link', 'show').map((l) => l.ifname);
const podLinks = (ns: string): string[] => ipJson<{ ifname: string }[]>(ns, 'link', 'show').map((l) => l.ifname);
const exec = (ns: string, ...args: string[]): void => void execFileSync('ip', ['netns', 'exec', ns, ...args], { stdio: 'ignore', timeout: 5000 });

before(() => {
  if (skip) return;
  node = pool.create('node');
  const under = pool.create('under');
  ipIn(node, 'addr', 'add', '10.99.0.1/32', 'dev', 'lo');
  ipIn(node, 'addr', 'add', 'fd99::1/128', 'dev', 'lo');
  ipIn(node, 'link', 'add', 'up0', 'mtu', '1450', 'type', 'veth', 'peer', 'name', 'up0p', 'netns', under);
  ipIn(node, 'link', 'set', 'up0', 'up');
  ipIn(under, 'link', 'set', 'up0p', 'up');
  ipIn(node, 'addr', 'add', '192.0.2.1/24', 'dev', 'up0');
  ipIn(node, 'addr', 'add', '2001:db8::1/64', 'dev', 'up0', 'nodad');
  ipIn(node, 'route', 'add', 'default', 'via', '192.0.2.254', 'dev', 'up0');
  ipIn(node, 'route', 'add', 'default', 'via', '2001:db8::fe', 'dev', 'up0');
  dp = new LinuxPodDataplane({ hostNetns: pool.path(node) });
});

after(() => {
  dp?.close();
  pool.cleanup();
});

test('prepareNode turns forwarding on in the node namespace only', { skip }, async () => {
  const rootV4 = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
  const rootV6 = readFileSync('/proc/sys/net/ipv6/conf/all/forwarding', 'utf8');
  await dp.prepareNode();
  assert.equal(sysctlIn(node, 'net/ipv4/ip_forward'), '1');
  assert.equal(sysctlIn(node, 'net/ipv6/conf/all/forwarding'), '1');
  assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), rootV4);
  assert.equal(readFileSync('/proc/sys/net/ipv6/conf/all/forwarding', 'utf8'), rootV6);
  await dp.prepareNode(); // idempotent
});

test('two dual-stack pods: traffic pod<->pod and host<->pod works the instant setup returns', { skip }, async () => {
  await dp.prepareNode();
  const p1 = pool.create('p1');
  const p2 = pool.create('p2');
  const s1 = podSpec(p1, 11, { mac: '02:aa:00:00:00:11' });
  const s2 = podSpec(p2, 12);
  const r1 = await dp.setup(s1);
  const r2 = await dp.setup(s2);
  // No waiting of any kind before the first packets: IPv6 must not be held back by DAD.
  const results = {
    'p1->p2 v4': ping(p1, '10.244.0.12'),
    'p1->p2 v6': ping(p1, 'fd00:244::c'),
    'node->p1 v4': ping(node, '10.244.0.11'),
    'node->p1 v6': ping(node, 'fd00:244::b'),
    'p2->node v4': ping(p2, '10.99.0.1'),
    'p2->node v6': ping(p2, 'fd99::1'),
    'p2->p1 v6': ping(p2, 'fd00:244::b'),
  };
  assert.deepEqual(Object.entries(results).filter(([, ok]) => !ok).map(([k]) => k), []);

  assert.deepEqual(r1, { hostIfname: s1.hostIfname, hostMac: 'ee:ee:ee:ee:ee:ee', podMac: '02:aa:00:00:00:11', mtu: 1450 });
  assert.match(r2.podMac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  const eth0 = ipJson<{ address: string; mtu: number; addr_info: { local: string; prefixlen: number }[] }[]>(p2, 'addr', 'show', 'eth0')[0]!;
  assert.equal(eth0.address, r2.podMac);
  assert.equal(eth0.mtu, 1450);
  assert.deepEqual(eth0.addr_info.filter((a) => !a.local.startsWith('fe80')).map((a) => `${a.local}/${a.prefixlen}`).sort(), ['10.244.0.12/32', 'fd00:244::c/128']);
  assert.ok(podLinks(p1).includes('eth0'));
  const hostIfs = nodeLinks();
  assert.ok(hostIfs.includes(s1.hostIfname) && hostIfs.includes(s2.hostIfname));

  // Host routes are proto 147, scope link; a restarted agent can find them by protocol.
  const sock = NetlinkSocket.open({ netnsPath: pool.path(node) });
  try {
    const mine = [...listRoutes(sock, { family: 4, protocol: 147 }), ...listRoutes(sock, { family: 6, protocol: 147 })].map((r) => r.dst).sort();
    assert.deepEqual(mine, ['10.244.0.11/32', '10.244.0.12/32', 'fd00:244::b/128', 'fd00:244::c/128']);
  } finally {
    sock.close();
  }

  await dp.check(s1);
  await dp.check(s2);
  const listed = (await dp.listPodLinks()).map((l) => l.name);
  assert.ok(listed.includes(s1.hostIfname) && listed.includes(s2.hostIfname));
  assert.ok(!listed.includes('up0'));

  await dp.teardown(s1.hostIfname);
  await dp.teardown(s1.hostIfname); // idempotent
  assert.ok(!nodeLinks().includes(s1.hostIfname));
  assert.ok(!podLinks(p1).includes('eth0'), 'the pod end goes with the host end');
  assert.equal(ping(p2, '10.244.0.11'), false);
  assert.ok(!ipIn(node, 'route', 'show').includes('10.244.0.11'));
  await assert.rejects(dp.check(s1), (e) => isPodnetError(e, 'DATAPLANE_CHECK_FAILED') && /host link .* does not exist/.test(e.message));
  await dp.teardown(s2.hostIfname);
});

test('check() names precisely what drifted', { skip }, async () => {
  const p = pool.create('drift');
  const s = podSpec(p, 21);
  await dp.setup(s);
  try {
    await dp.check(s);
    ipIn(p, 'route', 'del', 'default');
    await assert.rejects(dp.check(s), (e) => isPodnetError(e, 'DATAPLANE_CHECK_FAILED') && e.message.includes('pod route 0.0.0.0/0 via 169.254.1.1 dev eth0 is missing'));
    ipIn(p, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0', 'proto', '147');
    await dp.check(s);
    ipIn(node, 'route', 'del', 'fd00:244::15/128');
    ipIn(p, 'neigh', 'del', '169.254.1.1', 'dev', 'eth0');
    ipIn(p, 'addr', 'add', '10.1.2.3/32', 'dev', 'eth0');
    await assert.rejects(dp.check(s), (e) => {
      assert.ok(isPodnetError(e, 'DATAPLANE_CHECK_FAILED'));
      assert.match(e.message, /host route fd00:244::15\/128 dev pn[0-9a-f]+ proto 147 is missing/);
      assert.match(e.message, /pod neighbour 169\.254\.1\.1 lladdr ee:ee:ee:ee:ee:ee permanent dev eth0 is missing/);
      assert.match(e.message, /unexpected address 10\.1\.2\.3\/32/);
      assert.doesNotMatch(e.message, /0\.0\.0\.0\/0/);
      return true;
    });
    await assert.rejects(dp.check({ ...s, mtu: 1400 }), (e) => isPodnetError(e) && /MTU 1450, expected 1400/.test(e.message));
  } finally {
    await dp.teardown(s.hostIfname);
  }
});

test('single-stack pods: IPv4 only and IPv6 only', { skip }, async () => {
  const a = pool.create('v4only');
  const b = pool.create('v6only');
  const sa = podSpec(a, 31, { addresses: [v4(31)] });
  const sb = podSpec(b, 32, { addresses: [v6(32)], mtu: 1280 });
  await dp.setup(sa);
  await dp.setup(sb);
  try {
    assert.equal(ping(a, '10.99.0.1'), true);
    assert.equal(ping(node, 'fd00:244::20'), true);
    assert.equal(ping(b, 'fd99::1'), true);
    await dp.check(sa);
    await dp.check(sb);
    assert.ok(!ipIn(b, 'route', 'show').includes('default'), 'no IPv4 default in a v6-only pod');
  } finally {
    await dp.teardown(sa.hostIfname);
    await dp.teardown(sb.hostIfname);
  }
});

test('a leftover host veth of the same name (crashed attempt) is replaced', { skip }, async () => {
  const p = pool.create('stale');
  const s = podSpec(p, 41);
  ipIn(node, 'link', 'add', s.hostIfname, 'type', 'veth', 'peer', 'name', 'stalepeer');
  await dp.setup(s);
  try {
    assert.ok(!nodeLinks().includes('stalepeer'));
    assert.equal(ping(node, '10.244.0.41'), true);
    await dp.check(s);
  } finally {
    await dp.teardown(s.hostIfname);
  }
});

test('pod interface name already taken: IFNAME_IN_USE, nothing created, the pod keeps its own', { skip }, async () => {
  const p = pool.create('clash');
  ipIn(p, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
  const before = nodeLinks();
  const s = podSpec(p, 51);
  await assert.rejects(dp.setup(s), (e) => isPodnetError(e, 'DATAPLANE_IFNAME_IN_USE') && e.cni === 105);
  assert.deepEqual(nodeLinks(), before);
  assert.deepEqual(podLinks(p).sort(), ['eth0', 'eth0p', 'lo']);
});

test('failures before anything exists: missing netns, bad spec, pod netns = host netns', { skip }, async () => {
  const before = nodeLinks();
  const p = pool.create('early');
  await assert.rejects(dp.setup(podSpec(p, 61, { netnsPath: `/run/netns/pnt-${pool.tag}-missing` })), (e) => isPodnetError(e, 'DATAPLANE_NETNS_NOT_FOUND') && e.cni === 3);
  await assert.rejects(dp.setup(podSpec(p, 61, { mtu: 70000 })), (e) => isPodnetError(e, 'DATAPLANE_INVALID_SPEC') && /MTU/.test(e.message));
  await assert.rejects(dp.setup(podSpec(p, 61, { mtu: 1000 })), (e) => isPodnetError(e, 'DATAPLANE_INVALID_SPEC') && /IPv6/.test(e.message));
  await assert.rejects(dp.setup(podSpec(p, 61, { netnsPath: '/proc/self/stat' })), (e) => isPodnetError(e, 'DATAPLANE_NETNS_FAILED'));
  await assert.rejects(dp.setup(podSpec(node, 61)), (e) => isPodnetError(e, 'DATAPLANE_INVALID_SPEC') && /host's own namespace/.test(e.message));
  await assert.rejects(dp.teardown('up0'), (e) => isPodnetError(e, 'DATAPLANE_INVALID_SPEC'));
  assert.deepEqual(nodeLinks(), before);
  assert.deepEqual(podLinks(p), ['lo']);
});

test('failure in the middle, pod side (IPv6 disabled in the pod): everything undone', { skip }, async () => {
  const p = pool.create('mid-pod');
  exec(p, 'sysctl', '-q', '-w', 'net.ipv6.conf.default.disable_ipv6=1');
  const before = nodeLinks();
  const s = podSpec(p, 71);
  await assert.rejects(dp.setup(s), (e) => isPodnetError(e, 'DATAPLANE_NETLINK_FAILED') && e.message.includes('fd00:244::47/128'));
  assert.deepEqual(nodeLinks(), before);
  assert.deepEqual(podLinks(p), ['lo']);
  assert.ok(!ipIn(node, 'route', 'show').includes('10.244.0.71'));
});

test('failure in the middle, host side (IPv6 disabled on the node): everything undone', { skip }, async () => {
  const n2 = pool.create('node2');
  exec(n2, 'sysctl', '-q', '-w', 'net.ipv6.conf.default.disable_ipv6=1');
  const dp2 = new LinuxPodDataplane({ hostNetns: pool.path(n2) });
  try {
    const p = pool.create('mid-host');
    const s = podSpec(p, 81);
    await assert.rejects(dp2.setup(s), (e) => isPodnetError(e, 'DATAPLANE_NETLINK_FAILED') && /host .*fe80::ecee:eeff:feee:eeee/.test(e.message));
    assert.deepEqual(nodeLinks(n2), ['lo']);
    assert.deepEqual(podLinks(p), ['lo']);
    // The same node still serves IPv4-only pods.
    const s4 = podSpec(p, 82, { addresses: [v4(82)] });
    await dp2.setup(s4);
    await dp2.check(s4);
    await dp2.teardown(s4.hostIfname);
    assert.deepEqual(nodeLinks(n2), ['lo']);
  } finally {
    dp2.close();
  }
});

test('uplinkMtu: IPv4 default route device, else IPv6, else undefined', { skip }, async () => {
  assert.equal(await dp.uplinkMtu(), 1450);
  const n6 = pool.create('n6');
  ipIn(n6, 'link', 'add', 'u6', 'mtu', '1380', 'type', 'veth', 'peer', 'name', 'u6p');
  ipIn(n6, 'link', 'set', 'u6', 'up');
  ipIn(n6, 'addr', 'add', '2001:db8:6::1/64', 'dev', 'u6', 'nodad');
  ipIn(n6, 'route', 'add', 'default', 'via', '2001:db8:6::fe', 'dev', 'u6');
  const dp6 = new LinuxPodDataplane({ hostNetns: pool.path(n6) });
  const none = new LinuxPodDataplane({ hostNetns: pool.path(pool.create('n0')) });
  try {
    assert.equal(await dp6.uplinkMtu(), 1380);
    assert.equal(await none.uplinkMtu(), undefined);
    assert.deepEqual(await none.listPodLinks(), []);
  } finally {
    dp6.close();
    none.close();
  }
});

test('timing: setup + teardown cycles (printed, not asserted)', { skip }, async (t) => {
  const pods = [pool.create('t1'), pool.create('t2'), pool.create('t3'), pool.create('t4')];
  const setupMs: number[] = [];
  const teardownMs: number[] = [];
  const teardownSyncMs: number[] = [];
  const stats0 = dp.hostStats();
  const cycles = 20;
  for (let i = 0; i < cycles; i++) {
    const s = podSpec(pods[i % pods.length]!, 100 + i);
    let t0 = process.hrtime.bigint();
    await dp.setup(s);
    setupMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    t0 = process.hrtime.bigint();
    const p = dp.teardown(s.hostIfname);
    teardownSyncMs.push(Number(process.hrtime.bigint() - t0) / 1e6); // main thread busy
    await p;
    teardownMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const stats1 = dp.hostStats();
  const med = (a: number[]): string => [...a].sort((x, y) => x - y)[a.length >> 1]!.toFixed(2);
  const sock = NetlinkSocket.open({ netnsPath: pool.path(node) });
  const n = 500;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) listRoutes(sock, { family: 4, protocol: 147 });
  const perCall = Number(process.hrtime.bigint() - t0) / 1e3 / n;
  sock.close();
  t.diagnostic(`setup ms median ${med(setupMs)} min ${Math.min(...setupMs).toFixed(2)} max ${Math.max(...setupMs).toFixed(2)}`);
  t.diagnostic(`teardown ms median ${med(teardownMs)} min ${Math.min(...teardownMs).toFixed(2)} max ${Math.max(...teardownMs).toFixed(2)}`);
  t.diagnostic(`teardown main-thread ms median ${med(teardownSyncMs)} max ${Math.max(...teardownSyncMs).toFixed(2)} (the delete itself runs on a worker thread)`);
  t.diagnostic(`host socket per setup: ${(stats1.requests - stats0.requests) / cycles} requests in ${(stats1.sends - stats0.sends) / cycles} sends (+ 9 in 1 send on the pod socket)`);
  t.diagnostic(`one small netlink dump round trip: ${perCall.toFixed(1)} us`);
  assert.deepEqual((await dp.listPodLinks()).length, 0);
});
