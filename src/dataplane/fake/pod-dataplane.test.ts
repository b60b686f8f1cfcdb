import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommonErrors, PodnetError, isPodnetError } from '../../common/errors.js';
import type { PodNetSpec } from '../types.js';
import { FakePodDataplane } from './pod-dataplane.js';

const spec = (n: number, extra: Partial<PodNetSpec> = {}): PodNetSpec => ({
  netnsPath: `/run/netns/p${n}`,
  ifname: 'eth0',
  hostIfname: `pn00000000000${n.toString(16)}`,
  addresses: [
    { family: 4, address: `10.244.0.${n}` },
    { family: 6, address: `fd00::${n.toString(16)}` },
  ],
  mtu: 1450,
  ...extra,
});

test('setup records link and host routes; check passes; teardown removes; teardown is idempotent', async () => {
  const dp = new FakePodDataplane();
  const r = await dp.setup(spec(1, { mac: '02:00:00:00:00:aa' }));
  assert.deepEqual(r, { hostIfname: 'pn000000000001', hostMac: 'ee:ee:ee:ee:ee:ee', podMac: '02:00:00:00:00:aa', mtu: 1450 });
  await dp.setup(spec(2));
  assert.deepEqual(dp.hostRoutes().map((x) => `${x.dst} ${x.dev}`).sort(), [
    '10.244.0.1/32 pn000000000001',
    '10.244.0.2/32 pn000000000002',
    'fd00::1/128 pn000000000001',
    'fd00::2/128 pn000000000002',
  ]);
  await dp.check(spec(1, { mac: '02:00:00:00:00:aa' }));
  assert.deepEqual((await dp.listPodLinks()).map((l) => l.name), ['pn000000000001', 'pn000000000002']);
  await dp.teardown('pn000000000001');
  await dp.teardown('pn000000000001');
  assert.equal(dp.link('pn000000000001'), undefined);
  assert.equal(dp.hostRoutes().length, 2);
  await assert.rejects(dp.check(spec(1)), (e) => isPodnetError(e, 'DATAPLANE_CHECK_FAILED') && /does not exist/.test(e.message));
  assert.deepEqual(dp.calls().map((c) => c.op), ['setup', 'setup', 'check', 'listPodLinks', 'teardown', 'teardown', 'check']);
});

test('same validation and errors as the Linux adapter', async () => {
  const dp = new FakePodDataplane({ netns: ['/run/netns/p1'] });
  await assert.rejects(dp.setup(spec(1, { mtu: 70000 })), (e) => isPodnetError(e, 'DATAPLANE_INVALID_SPEC'));
  await assert.rejects(dp.setup(spec(2)), (e) => isPodnetError(e, 'DATAPLANE_NETNS_NOT_FOUND') && e.cni === 3);
  await assert.rejects(dp.teardown('eth0'), (e) => isPodnetError(e, 'DATAPLANE_INVALID_SPEC'));
  dp.addForeignInterface('/run/netns/p1', 'eth0');
  await assert.rejects(dp.setup(spec(1)), (e) => isPodnetError(e, 'DATAPLANE_IFNAME_IN_USE'));
  assert.deepEqual(dp.links(), []);
  dp.addNetns('/run/netns/p2');
  await dp.setup(spec(2));
  await assert.rejects(dp.setup(spec(3, { netnsPath: '/run/netns/p2' })), (e) => isPodnetError(e, 'DATAPLANE_IFNAME_IN_USE'), 'eth0 in p2 is taken by our own pod');
});

test('a leftover link of the same host name is replaced', async () => {
  const dp = new FakePodDataplane();
  await dp.setup(spec(1));
  const again = await dp.setup(spec(1, { addresses: [{ family: 4, address: '10.9.9.9' }] }));
  assert.equal(again.hostIfname, 'pn000000000001');
  assert.deepEqual(dp.hostRoutes(), [{ dst: '10.9.9.9/32', dev: 'pn000000000001' }]);
});

test('failures in the middle of setup leave nothing behind; failNext fires once per count', async () => {
  const dp = new FakePodDataplane();
  for (const op of ['setup', 'setup:createLink', 'setup:pod', 'setup:host'] as const) {
    dp.failNext(op);
    await assert.rejects(dp.setup(spec(1)), (e) => isPodnetError(e, 'DATAPLANE_INJECTED') && e.message.includes(op));
    assert.deepEqual(dp.links(), [], op);
    assert.deepEqual(dp.hostRoutes(), [], op);
  }
  const custom = new PodnetError(CommonErrors.TIMEOUT, 'slow kernel');
  dp.failNext('teardown', custom, 2);
  await assert.rejects(dp.teardown('pn000000000001'), (e) => e === custom);
  assert.deepEqual(dp.pendingFailures(), ['teardown']);
  await assert.rejects(dp.teardown('pn000000000001'), (e) => e === custom);
  await dp.teardown('pn000000000001');
  await dp.setup(spec(1));
  assert.equal(dp.links().length, 1);
});

test('failure injection for the node-level calls; prepareNode and uplinkMtu state', async () => {
  const dp = new FakePodDataplane({ uplinkMtu: 9000 });
  assert.equal(await dp.uplinkMtu(), 9000);
  dp.setUplinkMtu(undefined);
  assert.equal(await dp.uplinkMtu(), undefined);
  assert.equal(new FakePodDataplane().nodePrepared, false);
  dp.failNext('prepareNode');
  await assert.rejects(dp.prepareNode());
  assert.equal(dp.nodePrepared, false);
  await dp.prepareNode();
  assert.equal(dp.nodePrepared, true);
  dp.failNext('listPodLinks');
  await assert.rejects(dp.listPodLinks());
  dp.failNext('check');
  await assert.rejects(dp.check(spec(1)), (e) => isPodnetError(e, 'DATAPLANE_INJECTED'));
});

test('drift makes check fail with the difference named', async () => {
  const dp = new FakePodDataplane();
  const s = spec(4);
  await dp.setup(s);
  assert.equal(dp.removeHostRoute('fd00::4/128'), true);
  dp.removePodAddress(s.hostIfname, '10.244.0.4');
  dp.setLinkDown(s.hostIfname);
  await assert.rejects(dp.check(s), (e) => {
    assert.ok(isPodnetError(e, 'DATAPLANE_CHECK_FAILED'));
    assert.match(e.message, /host route fd00::4\/128 dev pn000000000004 is missing/);
    assert.match(e.message, /lacks address 10\.244\.0\.4\/32/);
    assert.match(e.message, /is down/);
    return true;
  });
  await assert.rejects(dp.check({ ...s, mtu: 1400 }), /MTU 1450, expected 1400/);
});

test('deleting a namespace takes its pods with it', async () => {
  const dp = new FakePodDataplane();
  await dp.setup(spec(5));
  await dp.setup(spec(6));
  dp.deleteNetns('/run/netns/p5');
  assert.deepEqual(dp.links().map((l) => l.hostIfname), ['pn000000000006']);
  assert.ok(dp.hostRoutes().every((r) => r.dev === 'pn000000000006'));
  await assert.rejects(dp.check(spec(5)), (e) => isPodnetError(e, 'DATAPLANE_NETNS_NOT_FOUND'));
  await assert.rejects(dp.setup(spec(5)), (e) => isPodnetError(e, 'DATAPLANE_NETNS_NOT_FOUND'));
});
