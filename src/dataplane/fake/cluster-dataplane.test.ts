import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../../common/errors.js';
import { computeDesired } from '../../calc/compute.js';
import { EMPTY_REPORT } from '../../calc/delta.js';
import { localOf, testNode, testPools, testState } from '../../calc/test-fixtures.js';
import type { BackendName, NodeRecord } from '../../model/node.js';
import { FakeClusterDataplane } from './cluster-dataplane.js';

const nodes = (n: number, backend: BackendName): NodeRecord[] => Array.from({ length: n }, (_, k) => testNode(k + 1, backend));
const desiredFor = (recs: NodeRecord[], natOutgoing = true) => computeDesired(localOf(recs[0]!), testState(recs, { pools: testPools(natOutgoing) }));

test('fake: first apply creates, second changes nothing, node removal removes its objects', async () => {
  const dp = new FakeClusterDataplane();
  const recs = nodes(3, 'vxlan');
  assert.deepEqual(await dp.apply(desiredFor(recs)), { routesAdded: 6, routesRemoved: 0, routesReplaced: 0, fdbChanged: 2, neighChanged: 4, devicesChanged: 1, natChanged: true });
  assert.deepEqual(await dp.apply(desiredFor(recs)), EMPTY_REPORT);
  assert.deepEqual(await dp.apply(desiredFor(recs.slice(0, 2))), { ...EMPTY_REPORT, routesRemoved: 2, fdbChanged: 1, neighChanged: 2 });
  const dev = dp.observed().devices[0]!;
  assert.deepEqual(dev.fdb, [{ mac: '02:00:00:00:01:02', dst: '172.30.1.12' }]);
  assert.equal(dev.txChecksum, false);
  assert.deepEqual(dp.stats, { applies: 3, noops: 1, clears: 0, changes: 16 + 5 });
});

test('fake: switching backends replaces routes and removes the device', async () => {
  const dp = new FakeClusterDataplane();
  await dp.apply(desiredFor(nodes(3, 'vxlan')));
  const r = await dp.apply(desiredFor(nodes(3, 'host-gw')));
  assert.deepEqual(r, { ...EMPTY_REPORT, routesAdded: 4, devicesChanged: 1 });
  assert.deepEqual(dp.observed().devices, []);
  assert.ok(dp.observed().routes.every((x) => x.kind === 'blackhole' || x.dev === 'eth0'));
});

test('fake: resync repairs what changed behind its back', async () => {
  const dp = new FakeClusterDataplane();
  const d = desiredFor(nodes(3, 'vxlan'));
  await dp.apply(d);
  dp.tamper.removeRoute(4, '10.244.0.128/26');
  dp.tamper.removeNeigh('podnet.vxlan', '10.244.0.193');
  dp.tamper.setTxChecksum('podnet.vxlan', true);
  dp.tamper.removeNat();
  assert.deepEqual(await dp.apply(d), { ...EMPTY_REPORT, routesAdded: 1, neighChanged: 1, devicesChanged: 1, natChanged: true });
  dp.tamper.removeDevice('podnet.vxlan');
  assert.deepEqual(await dp.apply(d), { ...EMPTY_REPORT, routesAdded: 4, fdbChanged: 2, neighChanged: 4, devicesChanged: 1 });
  assert.deepEqual(await dp.apply(d), EMPTY_REPORT);
});

test('fake: NAT follows the pools; no NAT pool means no table', async () => {
  const dp = new FakeClusterDataplane();
  await dp.apply(desiredFor(nodes(2, 'host-gw')));
  assert.deepEqual(dp.natState()?.natCidrs, ['10.244.0.0/16', 'fd10:244::/64']);
  assert.equal((await dp.apply(desiredFor(nodes(2, 'host-gw'), false))).natChanged, true);
  assert.equal(dp.natState(), undefined);
  assert.equal((await dp.apply(desiredFor(nodes(2, 'host-gw'), false))).natChanged, false);
});

test('fake: refuses what Linux refuses, injected failures change nothing, clear empties it', async () => {
  const dp = new FakeClusterDataplane({ links: ['ens3'] });
  await assert.rejects(dp.apply(desiredFor(nodes(2, 'host-gw'))), (e) => isPodnetError(e, 'CLUSTER_UNDERLAY_NOT_FOUND'));
  await assert.rejects(dp.apply({ ...desiredFor(nodes(2, 'host-gw')), podMtu: 10 }), (e) => isPodnetError(e, 'CLUSTER_INVALID_DESIRED'));
  const ok = computeDesired(localOf(testNode(1, 'vxlan'), 'ens3'), testState(nodes(2, 'vxlan')));
  dp.failNext();
  await assert.rejects(dp.apply(ok), (e) => isPodnetError(e, 'DATAPLANE_INJECTED'));
  assert.deepEqual(dp.observed(), { routes: [], devices: [] });
  assert.equal((await dp.apply(ok)).routesAdded, 4);
  await dp.clear();
  assert.deepEqual(dp.observed(), { routes: [], devices: [] });
  assert.equal(dp.natState(), undefined);
});
