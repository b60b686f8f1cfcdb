/** PodNetwork over the in-memory datastore, real IPAM and the fake dataplane: no root needed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCni } from '../cni/run.js';
import { MemoryDatastore } from '../datastore/memory.js';
import { FakePodDataplane } from '../dataplane/fake/pod-dataplane.js';
import { DatastoreIpam } from '../ipam/ipam.js';
import { createPool, listPools } from '../ipam/pools.js';
import type { IpPool } from '../ipam/types.js';
import { PodNetwork } from './pod-network.js';

async function setup(pools: { name: string; cidr: string; blockSize?: number; gateway?: string }[]) {
  const store = new MemoryDatastore();
  for (const p of pools) await createPool(store, p);
  const ipam = new DatastoreIpam(store, 'node-a');
  await ipam.start();
  const dataplane = new FakePodDataplane();
  let current: IpPool[] = await listPools(store);
  const net = new PodNetwork({ ipam, dataplane, nodeName: 'node-a', defaultMtu: () => 1400, pools: () => current });
  const call = async (command: string, containerId: string, extra: Record<string, unknown> = {}, env: Record<string, string> = {}, mode: 'cni' | 'ipam' = 'cni') => {
    const conf = { cniVersion: '1.1.0', name: 'podnet', type: mode === 'cni' ? 'podnet-cni' : 'bridge', ...extra };
    const out = await runCni(
      { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: `/run/netns/${containerId}`, CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', ...env },
      JSON.stringify(conf),
      net,
      mode,
    );
    return { code: out.exitCode, json: out.stdout ? (JSON.parse(out.stdout) as Record<string, unknown>) : {} };
  };
  const done = async () => {
    await ipam.stop();
    await store.close();
  };
  return { store, ipam, dataplane, net, call, done, refresh: async () => (current = await listPools(store)) };
}

test('ADD assigns dual-stack addresses, plumbs the pod and answers in the config version; DEL undoes both', async () => {
  const t = await setup([
    { name: 'v4', cidr: '10.1.0.0/24', blockSize: 28 },
    { name: 'v6', cidr: 'fd00:1::/120', blockSize: 124 },
  ]);
  try {
    const add = await t.call('ADD', 'c1', { args: {} }, { CNI_ARGS: 'K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web' });
    assert.equal(add.code, 0, JSON.stringify(add.json));
    const ips = (add.json.ips as { address: string; gateway: string }[]).map((i) => i.address);
    assert.equal(ips.length, 2);
    assert.match(ips[0] ?? '', /^10\.1\.0\.\d+\/32$/);
    assert.match(ips[1] ?? '', /^fd00:1::[0-9a-f]+\/128$/);
    assert.equal(t.dataplane.links().length, 1);
    assert.equal(t.dataplane.links()[0]?.mtu, 1400);
    const recs = await t.ipam.list('node-a');
    assert.deepEqual(new Set(recs.map((r) => r.attrs.pod)), new Set(['web']));

    const legacy = await t.call('ADD', 'c2', { cniVersion: '0.3.1' });
    assert.equal(legacy.code, 0);
    assert.deepEqual((legacy.json.ips as { version: string }[]).map((i) => i.version), ['4', '6']);

    assert.equal((await t.call('DEL', 'c1')).code, 0);
    assert.equal((await t.call('DEL', 'c1')).code, 0, 'DEL is idempotent');
    assert.equal(t.dataplane.links().length, 1);
    assert.equal((await t.ipam.list('node-a')).length, 2);
  } finally {
    await t.done();
  }
});

test('a dataplane failure mid-ADD releases the addresses and leaves no link', async () => {
  const t = await setup([{ name: 'v4', cidr: '10.2.0.0/24', blockSize: 28 }]);
  try {
    t.dataplane.failNext('setup:pod');
    const add = await t.call('ADD', 'c1');
    assert.equal(add.code, 1);
    assert.equal(add.json.code, 103, JSON.stringify(add.json));
    assert.equal(t.dataplane.links().length, 0);
    assert.equal((await t.ipam.list('node-a')).length, 0);
  } finally {
    await t.done();
  }
});

test('a full pool gives code 101 and leaves nothing behind', async () => {
  const t = await setup([{ name: 'tiny', cidr: '10.3.0.0/30', blockSize: 30 }]);
  try {
    assert.equal((await t.call('ADD', 'c1')).code, 0);
    assert.equal((await t.call('ADD', 'c2')).code, 0);
    const full = await t.call('ADD', 'c3');
    assert.equal(full.json.code, 101, JSON.stringify(full.json));
    assert.match(String(full.json.msg), /tiny/);
    assert.equal(t.dataplane.links().length, 2);
    assert.equal((await t.ipam.list('node-a')).length, 2);
  } finally {
    await t.done();
  }
});

test('static IPs from runtimeConfig and CNI_ARGS; the same address twice is refused with 102', async () => {
  const t = await setup([{ name: 'v4', cidr: '10.4.0.0/24', blockSize: 28 }]);
  try {
    const a = await t.call('ADD', 'c1', { runtimeConfig: { ips: ['10.4.0.77/24'] } });
    assert.equal(a.code, 0, JSON.stringify(a.json));
    assert.equal((a.json.ips as { address: string }[])[0]?.address, '10.4.0.77/32');
    const b = await t.call('ADD', 'c2', {}, { CNI_ARGS: 'IP=10.4.0.77' });
    assert.equal(b.json.code, 102, JSON.stringify(b.json));
    assert.equal(t.dataplane.links().length, 1);
  } finally {
    await t.done();
  }
});

test('CHECK passes for a healthy pod, fails with 3 for an unknown one and on a prevResult mismatch', async () => {
  const t = await setup([{ name: 'v4', cidr: '10.5.0.0/24', blockSize: 28 }]);
  try {
    const add = await t.call('ADD', 'c1');
    assert.equal((await t.call('CHECK', 'c1', { prevResult: add.json })).code, 0);
    const unknown = await t.call('CHECK', 'c9', { prevResult: add.json });
    assert.equal(unknown.json.code, 3);
    const wrong = { ...add.json, ips: [{ address: '10.5.0.200/32', interface: 1 }] };
    assert.equal((await t.call('CHECK', 'c1', { prevResult: wrong })).json.code, 103);
  } finally {
    await t.done();
  }
});

test('GC releases exactly what the runtime no longer has, only on this network', async () => {
  const t = await setup([{ name: 'v4', cidr: '10.6.0.0/24', blockSize: 28 }]);
  try {
    for (const c of ['c1', 'c2', 'c3']) assert.equal((await t.call('ADD', c)).code, 0);
    assert.equal((await t.call('ADD', 'other', { name: 'othernet' })).code, 0);
    const gc = await t.call('GC', '', { 'cni.dev/valid-attachments': [{ containerID: 'c2', ifname: 'eth0' }] }, { CNI_CONTAINERID: '', CNI_IFNAME: '' });
    assert.equal(gc.code, 0, JSON.stringify(gc.json));
    const left = (await t.ipam.list('node-a')).map((r) => r.attrs.containerId).sort();
    assert.deepEqual(left, ['c2', 'other']);
    assert.equal(t.dataplane.links().length, 2);
  } finally {
    await t.done();
  }
});

test('podnet-ipam mode: the pool prefix and gateway, no interfaces, nothing plumbed', async () => {
  const t = await setup([{ name: 'br', cidr: '10.7.0.0/24', blockSize: 28, gateway: '10.7.0.1' }]);
  try {
    const add = await t.call('ADD', 'c1', { ipam: { type: 'podnet-ipam', pools: ['br'] } }, {}, 'ipam');
    assert.equal(add.code, 0, JSON.stringify(add.json));
    assert.equal(add.json.interfaces, undefined);
    const ip = (add.json.ips as { address: string; gateway: string }[])[0];
    assert.match(ip?.address ?? '', /^10\.7\.0\.\d+\/24$/);
    assert.notEqual(ip?.address, '10.7.0.1/24');
    assert.equal(ip?.gateway, '10.7.0.1');
    assert.equal(t.dataplane.links().length, 0);
    assert.equal((await t.call('DEL', 'c1', { ipam: { type: 'podnet-ipam' } }, {}, 'ipam')).code, 0);
    assert.equal((await t.ipam.list('node-a')).length, 0);
  } finally {
    await t.done();
  }
});

test('STATUS fails with 50 when every pool is disabled', async () => {
  const t = await setup([{ name: 'v4', cidr: '10.8.0.0/24' }]);
  try {
    assert.equal((await t.call('STATUS', '', {}, { CNI_CONTAINERID: '', CNI_IFNAME: '' })).code, 0);
    const { updatePool } = await import('../ipam/pools.js');
    await updatePool(t.store, 'v4', { disabled: true });
    await t.refresh();
    assert.equal((await t.call('STATUS', '', {}, { CNI_CONTAINERID: '', CNI_IFNAME: '' })).json.code, 50);
  } finally {
    await t.done();
  }
});
