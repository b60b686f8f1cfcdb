import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../common/errors.js';
import { computeDesired } from './compute.js';
import { type ObservedCluster, type ObservedDevice, deltaSize, diffCluster, reportOf } from './delta.js';
import { localOf, testNode, testState } from './test-fixtures.js';
import type { DesiredCluster } from './types.js';
import { validateDesired } from './validate.js';

const opts = { disableTxChecksum: true };
const desiredVxlan = (n = 3): DesiredCluster => {
  const nodes = Array.from({ length: n }, (_, k) => testNode(k + 1, 'vxlan'));
  return validateDesired(computeDesired(localOf(nodes[0]!), testState(nodes)));
};

/** What the kernel would hold after applying `d` perfectly. */
function observedOf(d: DesiredCluster): ObservedCluster {
  return {
    routes: d.routes.map((r) => ({ ...r, priority: r.family === 4 ? 0 : 1024 })),
    devices: d.vxlan.map(
      (v): ObservedDevice => ({
        name: v.name,
        isVxlan: true,
        vni: v.vni,
        port: v.port,
        local: v.local,
        learning: false,
        underlayDev: v.underlayDev,
        mac: v.mac,
        mtu: v.mtu,
        up: true,
        txChecksum: false,
        addresses: [...v.addresses],
        fdb: v.peers.map((p) => ({ mac: p.mac, dst: p.underlay })),
        neigh: v.peers.flatMap((p) => p.tunnelIps.map((ip) => ({ ip, mac: p.mac }))),
      }),
    ),
  };
}

test('from nothing: everything is created; applied state: empty delta', () => {
  const d = desiredVxlan();
  const first = diffCluster(d, { routes: [], devices: [] }, opts);
  assert.deepEqual(reportOf(first, true), { routesAdded: 6, routesRemoved: 0, routesReplaced: 0, fdbChanged: 2, neighChanged: 4, devicesChanged: 1, natChanged: true });
  assert.equal(first.addAddresses.length, 2);
  assert.equal(deltaSize(diffCluster(d, observedOf(d), opts)), 0);
});

test('a device with other creation-time attributes is made again, with everything it held', () => {
  const d = desiredVxlan();
  const obs = observedOf(d);
  const dev = obs.devices[0]!;
  for (const change of [{ vni: 1 }, { port: 8472 }, { local: '172.30.1.99' }, { learning: true }, { group: '239.1.1.1' }, { underlayDev: 'eth1' }, { mac: '02:00:00:00:09:09' }, { isVxlan: false }]) {
    const delta = diffCluster(d, { ...obs, devices: [{ ...dev, ...change }] }, opts);
    assert.deepEqual(delta.deleteDevices, ['podnet.vxlan'], JSON.stringify(change));
    assert.equal(delta.createDevices.length, 1);
    assert.equal(delta.setFdb.length, 2);
    assert.equal(delta.setNeigh.length, 4);
    assert.equal(delta.addRoutes.length, 4, 'routes through the device come back'); // blackholes stay
    assert.equal(delta.removeRoutes.length, 0);
  }
});

test('MTU, state and offload are changed in place', () => {
  const d = desiredVxlan();
  const obs = observedOf(d);
  const delta = diffCluster(d, { ...obs, devices: [{ ...obs.devices[0]!, mtu: 1400, up: false, txChecksum: true }] }, opts);
  assert.deepEqual(delta.updateDevices, [{ name: 'podnet.vxlan', mtu: 1450, up: true, disableTxChecksum: true }]);
  assert.equal(deltaSize(delta), 1);
  const keep = diffCluster(d, { ...obs, devices: [{ ...obs.devices[0]!, txChecksum: true }] }, { disableTxChecksum: false });
  assert.equal(deltaSize(keep), 0);
});

test('FDB: a moved VTEP is replaced, extra remotes and strangers removed; neighbours likewise', () => {
  const d = desiredVxlan();
  const obs = observedOf(d);
  const dev = obs.devices[0]!;
  const fdb = [
    { mac: '02:00:00:00:01:02', dst: '172.30.9.9' }, // moved
    { mac: '02:00:00:00:01:03', dst: '172.30.1.13' },
    { mac: '02:00:00:00:01:03', dst: '172.30.8.8' }, // an extra remote
    { mac: '02:00:00:00:07:07', dst: '172.30.7.7' }, // not ours any more
  ];
  const neigh = [...dev.neigh.filter((n) => n.ip !== '10.244.0.129'), { ip: '10.244.0.129', mac: '02:00:00:00:07:07' }, { ip: '10.244.9.9', mac: '02:00:00:00:07:07' }];
  const delta = diffCluster(d, { ...obs, devices: [{ ...dev, fdb, neigh }] }, opts);
  assert.deepEqual(delta.setFdb, [{ dev: 'podnet.vxlan', mac: '02:00:00:00:01:02', dst: '172.30.1.12' }]);
  assert.deepEqual(delta.removeFdb, [
    { dev: 'podnet.vxlan', mac: '02:00:00:00:01:03', dst: '172.30.8.8' },
    { dev: 'podnet.vxlan', mac: '02:00:00:00:07:07', dst: '172.30.7.7' },
  ]);
  assert.deepEqual(delta.setNeigh, [{ dev: 'podnet.vxlan', ip: '10.244.0.129', mac: '02:00:00:00:01:02' }]);
  assert.deepEqual(delta.removeNeigh, [{ dev: 'podnet.vxlan', ip: '10.244.9.9', mac: '02:00:00:00:07:07' }]);
});

test('routes: replaced in their metric slot, added beside a foreign metric, odd shapes replaced, strays removed', () => {
  const d = desiredVxlan();
  const obs = observedOf(d);
  const routes = obs.routes.filter((r) => r.dst !== '10.244.0.128/26' && r.dst !== 'fd10:244::80/122' && r.dst !== '10.244.0.192/26');
  routes.push(
    { kind: 'via', family: 4, dst: '10.244.0.128/26', via: '172.30.1.12', dev: 'eth0', onlink: false, priority: 0 },
    { kind: 'other', family: 6, dst: 'fd10:244::80/122', priority: 1024 },
    { kind: 'via', family: 4, dst: '10.244.0.192/26', via: '10.244.0.250', dev: 'podnet.vxlan', onlink: true, priority: 50 },
    { kind: 'blackhole', family: 4, dst: '10.99.0.0/26', priority: 0 },
  );
  const delta = diffCluster(d, { ...obs, routes }, opts);
  assert.deepEqual(delta.replaceRoutes.map((x) => [x.from.kind, x.to.dst]), [['via', '10.244.0.128/26'], ['other', 'fd10:244::80/122']]);
  assert.deepEqual(delta.addRoutes.map((r) => r.dst), ['10.244.0.192/26']);
  assert.deepEqual(delta.removeRoutes.map((r) => [r.dst, r.priority]), [['10.244.0.192/26', 50], ['10.99.0.0/26', 0]]);
});

test('devices not desired are deleted; their routes are not deleted one by one', () => {
  const d = desiredVxlan();
  const obs = observedOf(d);
  const hostgw = validateDesired(computeDesired(localOf(testNode(1, 'host-gw')), testState([1, 2, 3].map((i) => testNode(i, 'host-gw')))));
  const delta = diffCluster(hostgw, obs, opts);
  assert.deepEqual(delta.deleteDevices, ['podnet.vxlan']);
  assert.equal(delta.removeRoutes.length, 0);
  assert.equal(delta.addRoutes.length, 4);
  assert.equal(delta.replaceRoutes.length, 0);
});

test('validateDesired canonicalises and refuses what the kernel or nft must never see', () => {
  const d = desiredVxlan();
  const v = validateDesired({ ...d, nat: { natCidrs: ['FD10:244::/64', '10.244.0.0/16', '10.244.0.0/16'], clusterCidrs: [] } });
  assert.deepEqual(v.nat.natCidrs, ['fd10:244::/64', '10.244.0.0/16']);
  const bad: [string, DesiredCluster][] = [
    ['host bits', { ...d, routes: [{ kind: 'blackhole', family: 4, dst: '10.0.0.1/24' }] }],
    ['family', { ...d, routes: [{ kind: 'blackhole', family: 6, dst: '10.0.0.0/24' }] }],
    ['v6 via v4', { ...d, routes: [{ kind: 'via', family: 6, dst: 'fd00::/64', via: '10.0.0.1', dev: 'eth0', onlink: false }] }],
    ['dev', { ...d, routes: [{ kind: 'via', family: 4, dst: '10.0.0.0/24', via: '10.0.0.1', dev: 'eth0; rm -rf /', onlink: false }] }],
    ['twice', { ...d, routes: [d.routes[0]!, d.routes[0]!] }],
    ['undesired device', { ...d, vxlan: [], routes: d.routes }],
    ['device name', { ...d, vxlan: [{ ...d.vxlan[0]!, name: 'flannel.1' }] }],
    ['vni', { ...d, vxlan: [{ ...d.vxlan[0]!, vni: 1 << 24 }] }],
    ['mac', { ...d, vxlan: [{ ...d.vxlan[0]!, mac: '01:00:5e:00:00:01' }] }],
    ['local family', { ...d, vxlan: [{ ...d.vxlan[0]!, local: 'fd00::1' }] }],
    ['peer twice', { ...d, vxlan: [{ ...d.vxlan[0]!, peers: [d.vxlan[0]!.peers[0]!, d.vxlan[0]!.peers[0]!] }] }],
    ['nat text', { ...d, nat: { natCidrs: ['10.0.0.0/8 } ; flush ruleset ; {'], clusterCidrs: [] } }],
    ['backend', { ...d, backend: 'ipip' as 'vxlan' }],
  ];
  for (const [what, x] of bad) assert.throws(() => validateDesired(x), (e) => isPodnetError(e, 'CLUSTER_INVALID_DESIRED'), what);
});
