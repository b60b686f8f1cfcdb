import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PodnetError, isPodnetError } from '../common/errors.js';
import { cidrContains, parseCidr, parseIp } from '../common/ip.js';
import { MemoryDatastore } from '../datastore/memory.js';
import { DatastoreErrors as DE } from '../datastore/errors.js';
import type { Datastore, KvEntry, WriteOptions } from '../datastore/types.js';
import { eventually } from '../datastore/contract.js';
import { IpamErrors as E } from './errors.js';
import { DatastoreIpam } from './ipam.js';
import { createPool, deletePool, listPools, releaseEmptyBlocks, updatePool } from './pools.js';
import { BLOCKS_PREFIX, blockKey, parseBlockKey } from './keys.js';
import { parseBlock } from './block.js';
import { request } from './test-helpers.js';
import type { PoolInput } from './pool.js';

async function setup(...pools: PoolInput[]): Promise<MemoryDatastore> {
  const store = new MemoryDatastore();
  for (const p of pools) await createPool(store, p);
  return store;
}

const rejectsWith = async (p: Promise<unknown>, code: string, msg?: RegExp): Promise<PodnetError> => {
  let err: unknown;
  await assert.rejects(p, (e: unknown) => {
    err = e;
    return isPodnetError(e, code) && (!msg || msg.test((e as Error).message));
  });
  return err as PodnetError;
};

/** Every allocation in the store: address -> {handle, node of its block}. Fails on a duplicate. */
async function allAllocations(store: Datastore): Promise<Map<string, { handle: string; blockNode: string; attrsNode: string }>> {
  const out = new Map<string, { handle: string; blockNode: string; attrsNode: string }>();
  for (const e of (await store.list(BLOCKS_PREFIX)).entries) {
    const id = parseBlockKey(e.key)!;
    const b = parseBlock(e.value, id);
    const c = parseCidr(b.cidr)!;
    for (const [o, a] of b.allocations) {
      const addr = `${c.family === 4 ? '' : ''}${o}@${b.cidr}`;
      assert.ok(!out.has(addr), `duplicate ${addr}`);
      out.set(addr, { handle: a.handle, blockNode: b.node, attrsNode: a.attrs.node });
    }
  }
  return out;
}

test('50 concurrent assigns on one node: 50 distinct addresses, none reserved, all indexed', async () => {
  const store = await setup({ name: 'v4', cidr: '10.244.0.0/24', blockSize: 28 });
  const ipam = new DatastoreIpam(store, 'node-a');
  const res = await Promise.all(Array.from({ length: 50 }, (_, i) => ipam.assign(request('node-a', `c${i}/eth0`, [4]))));
  const addrs = res.map((r) => (assert.equal(r.length, 1), r[0]!.address));
  assert.equal(new Set(addrs).size, 50);
  const pool = parseCidr('10.244.0.0/24')!;
  for (const a of addrs) {
    assert.ok(cidrContains(pool, parseIp(a)!), a);
    assert.notEqual(a, '10.244.0.0');
    assert.notEqual(a, '10.244.0.255');
  }
  assert.equal(addrs.includes('10.244.0.1'), true, 'starts at the first usable address');
  for (let i = 0; i < 50; i++) assert.deepEqual((await ipam.get(`c${i}/eth0`)).map((r) => r.address), [res[i]![0]!.address]);
  const [u] = await ipam.usage();
  assert.equal(u!.used, 50);
  assert.equal(u!.size, '254');
  assert.deepEqual(u!.blocks.map((b) => `${b.cidr}:${b.node}:${b.used}/${b.size}`), [
    '10.244.0.0/28:node-a:15/15', '10.244.0.16/28:node-a:16/16', '10.244.0.32/28:node-a:16/16', '10.244.0.48/28:node-a:3/16',
  ]);
  await ipam.stop();
  await store.close();
});

test('two nodes assigning concurrently never share a block or an address', async () => {
  const store = await setup({ name: 'v4', cidr: '10.1.0.0/24', blockSize: 29 }, { name: 'v6', cidr: 'fd00:1::/120', blockSize: 125 });
  const nodes = ['node-a', 'node-b', 'node-c'].map((n) => new DatastoreIpam(store, n));
  const results = await Promise.all(
    nodes.flatMap((ipam) => Array.from({ length: 25 }, (_, i) => ipam.assign(request(ipam.node, `${ipam.node}-c${i}/eth0`, [4, 6])))),
  );
  const seen = new Set<string>();
  for (const r of results) for (const a of r) {
    assert.ok(!seen.has(a.address), `address ${a.address} handed out twice`);
    seen.add(a.address);
  }
  assert.equal(seen.size, 150);
  const all = await allAllocations(store);
  assert.equal(all.size, 150);
  for (const [addr, a] of all) assert.equal(a.blockNode, a.attrsNode, `${addr} of ${a.handle} sits in a block of ${a.blockNode}`);
  const owners = new Map<string, string>();
  for (const u of await nodes[0]!.usage()) for (const b of u.blocks) {
    assert.ok(!owners.has(b.cidr));
    owners.set(b.cidr, b.node);
  }
  for (const ipam of nodes) {
    assert.equal((await ipam.list(ipam.node)).length, 50);
    await ipam.stop();
  }
  await store.close();
});

test('exhaustion: IPAM_POOL_EXHAUSTED naming the pool, no partial allocation, no borrowing from another node', async () => {
  const store = await setup({ name: 'tiny', cidr: '10.9.0.0/29', blockSize: 30 }, { name: 'v6', cidr: 'fd00:9::/64' });
  const a = new DatastoreIpam(store, 'node-a');
  const got = [];
  for (let i = 0; i < 6; i++) got.push((await a.assign(request('node-a', `c${i}/eth0`, [4])))[0]!.address);
  assert.deepEqual(got, ['10.9.0.1', '10.9.0.2', '10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6']);
  const err = await rejectsWith(a.assign(request('node-a', 'c6/eth0', [4])), E.IPAM_POOL_EXHAUSTED, /tiny \(10\.9\.0\.0\/29\)/);
  assert.equal(err.cni, 101);
  // Dual-stack, IPv6 first: the IPv6 address taken before IPv4 failed is given back.
  await rejectsWith(a.assign(request('node-a', 'c7/eth0', [6, 4])), E.IPAM_POOL_EXHAUSTED);
  assert.deepEqual(await a.get('c7/eth0'), []);
  const usage = await a.usage();
  assert.equal(usage.find((u) => u.pool.name === 'v6')!.used, 0);
  assert.equal(usage.find((u) => u.pool.name === 'tiny')!.used, 6);
  // Node b: node a's blocks are full, and no unclaimed block is left.
  await a.release('c0/eth0');
  const b = new DatastoreIpam(store, 'node-b');
  await rejectsWith(b.assign(request('node-b', 'b0/eth0', [4])), E.IPAM_POOL_EXHAUSTED);
  assert.equal((await b.list('node-b')).length, 0);
  // ... while node a can use its freed address again.
  assert.deepEqual((await a.assign(request('node-a', 'c8/eth0', [4]))).map((x) => x.address), ['10.9.0.1']);
  await a.stop();
  await b.stop();
  await store.close();
});

test('static addresses: taken exactly, refused with who holds them, claim their block', async () => {
  const store = await setup({ name: 'v4', cidr: '10.2.0.0/24', blockSize: 28 }, { name: 'other', cidr: '10.3.0.0/24', disabled: true });
  const a = new DatastoreIpam(store, 'node-a');
  const b = new DatastoreIpam(store, 'node-b');
  const s = await a.assign(request('node-a', 's1/eth0', [4], { requested: ['10.2.0.37'] }));
  assert.deepEqual(s, [{ family: 4, address: '10.2.0.37', block: '10.2.0.32/28', pool: 'v4' }]);
  assert.deepEqual(await a.assign(request('node-a', 's1/eth0', [4], { requested: ['10.2.0.37'] })), s, 'idempotent');
  await rejectsWith(a.assign(request('node-a', 's2/eth0', [4], { requested: ['10.2.0.37'] })), E.IPAM_ADDRESS_UNAVAILABLE, /held by s1\/eth0 \(pod default\/pod-s1\) on node node-a/);
  await rejectsWith(b.assign(request('node-b', 'b1/eth0', [4], { requested: ['10.2.0.38'] })), E.IPAM_ADDRESS_UNAVAILABLE, /block 10\.2\.0\.32\/28, which belongs to node node-a/);
  await rejectsWith(a.assign(request('node-a', 's3/eth0', [4], { requested: ['10.2.0.0'] })), E.IPAM_ADDRESS_UNAVAILABLE, /network or broadcast/);
  await rejectsWith(a.assign(request('node-a', 's3/eth0', [4], { requested: ['10.2.0.255'] })), E.IPAM_ADDRESS_UNAVAILABLE, /network or broadcast/);
  await rejectsWith(a.assign(request('node-a', 's3/eth0', [4], { requested: ['192.168.1.1'] })), E.IPAM_NO_POOL, /not inside any pool/);
  await rejectsWith(a.assign(request('node-a', 's3/eth0', [4], { requested: ['10.3.0.9'] })), E.IPAM_NO_POOL, /disabled/);
  await rejectsWith(a.assign(request('node-a', 's3/eth0', [4], { requested: ['10.2.0.9'], pools: ['other'] })), E.IPAM_NO_POOL);
  // The static address claimed its (unclaimed) block for node-a; dynamic assignment fills that
  // block around the static address, first block first.
  const u = (await a.usage()).find((x) => x.pool.name === 'v4')!;
  assert.deepEqual(u.blocks.map((x) => `${x.cidr}:${x.node}`), ['10.2.0.32/28:node-a']);
  const dyn = [];
  for (let i = 0; i < 16; i++) dyn.push((await a.assign(request('node-a', `d${i}/eth0`, [4])))[0]!.address);
  assert.ok(!dyn.includes('10.2.0.37'));
  assert.equal(dyn[0], '10.2.0.32');
  assert.equal(dyn[15], '10.2.0.1', 'then claims the lowest unclaimed block');
  await a.stop();
  await b.stop();
  await store.close();
});

test('dual-stack is all or nothing; re-assigning a handle returns what it has, completing a partial one', async () => {
  const store = await setup({ name: 'v4', cidr: '10.4.0.0/24' }, { name: 'v6', cidr: 'fd00:4::/64' });
  const a = new DatastoreIpam(store, 'node-a');
  const b = new DatastoreIpam(store, 'node-b');
  const held = await a.assign(request('node-a', 'x/eth0', [6]));
  // IPv4 succeeds, the requested IPv6 address is taken: the IPv4 address is released again.
  await rejectsWith(b.assign(request('node-b', 'y/eth0', [4], { requested: ['10.4.0.200', held[0]!.address] })), E.IPAM_ADDRESS_UNAVAILABLE);
  assert.equal((await b.list('node-b')).length, 0);
  await rejectsWith(b.assign(request('node-b', 'y/eth0', [4, 6], { requested: [held[0]!.address] })), E.IPAM_ADDRESS_UNAVAILABLE);
  assert.deepEqual((await a.usage()).map((u) => u.used), [0, 1]);
  const ds = await b.assign(request('node-b', 'y/eth0', [4, 6]));
  assert.deepEqual(ds.map((x) => x.family), [4, 6]);
  assert.deepEqual(await b.assign(request('node-b', 'y/eth0', [4, 6])), ds, 'ADD retried');
  // A handle holding only IPv4 (e.g. a crash between the two writes) gets its IPv6 added.
  const v4only = await a.assign(request('node-a', 'z/eth0', [4]));
  const both = await a.assign(request('node-a', 'z/eth0', [4, 6]));
  assert.deepEqual(both[0], v4only[0]);
  assert.equal(both.length, 2);
  assert.equal((await a.get('z/eth0')).length, 2);
  await a.stop();
  await b.stop();
  await store.close();
});

test('release is idempotent and exact; a released address is not reused at once', async () => {
  const store = await setup({ name: 'v4', cidr: '10.5.0.0/24' }, { name: 'v6', cidr: 'fd00:5::/64' });
  const a = new DatastoreIpam(store, 'node-a');
  const x = await a.assign(request('node-a', 'x/eth0', [4, 6]));
  const y = await a.assign(request('node-a', 'y/eth0', [4]));
  assert.deepEqual(await a.release('x/eth0'), x);
  assert.deepEqual(await a.release('x/eth0'), []);
  assert.deepEqual(await a.release('never/eth0'), []);
  assert.deepEqual(await a.get('x/eth0'), []);
  assert.deepEqual((await a.get('y/eth0')).map((r) => r.address), [y[0]!.address]);
  const z = await a.assign(request('node-a', 'z/eth0', [4]));
  assert.notEqual(z[0]!.address, x[0]!.address);
  assert.equal((await a.list('node-a')).length, 2);
  await a.stop();
  await store.close();
});

test('gc releases exactly the allocations not kept, of the node asked for', async () => {
  const store = await setup({ name: 'v4', cidr: '10.6.0.0/24', blockSize: 29 });
  const a = new DatastoreIpam(store, 'node-a');
  const b = new DatastoreIpam(store, 'node-b');
  for (let i = 0; i < 20; i++) await a.assign(request('node-a', `a${i}/eth0`, [4]));
  for (let i = 0; i < 5; i++) await b.assign(request('node-b', `b${i}/eth0`, [4]));
  const live = new Set(['a1/eth0', 'a4/eth0', 'a9/eth0', 'a19/eth0']);
  const released = await a.gc('node-a', (r) => live.has(r.handle));
  assert.deepEqual(new Set(released.map((r) => r.handle)), new Set([...Array(20).keys()].map((i) => `a${i}/eth0`).filter((h) => !live.has(h))));
  assert.equal(released.length, 16);
  assert.ok(released.every((r) => r.attrs.node === 'node-a' && typeof r.allocatedAt === 'number'));
  assert.deepEqual(new Set((await a.list('node-a')).map((r) => r.handle)), live);
  assert.equal((await b.list('node-b')).length, 5, 'the other node is untouched');
  assert.deepEqual(await a.gc('node-a', (r) => live.has(r.handle)), [], 'a second gc finds nothing');
  for (const h of live) assert.equal((await a.get(h)).length, 1);
  // Any node's instance can clean up after a dead node; node b's index follows through its watch.
  assert.equal((await a.gc('node-b', () => false)).length, 5);
  await eventually('node b index updated', async () => (await b.get('b0/eth0')).length === 0);
  assert.deepEqual((await releaseEmptyBlocks(store, 'node-b')).length, 1);
  await a.stop();
  await b.stop();
  await store.close();
});

test('pools: idempotent create, overlap, name clash, disable, delete only when disabled and empty', async () => {
  const store = new MemoryDatastore();
  const p = await createPool(store, { name: 'v4', cidr: '10.7.0.0/16' });
  assert.deepEqual(await createPool(store, { name: 'v4', cidr: '10.7.0.0/16' }), p);
  await rejectsWith(createPool(store, { name: 'v4', cidr: '10.8.0.0/16' }), E.IPAM_POOL_EXISTS);
  await rejectsWith(createPool(store, { name: 'inner', cidr: '10.7.128.0/24' }), E.IPAM_INVALID_POOL, /overlaps pool v4/);
  await rejectsWith(createPool(store, { name: 'outer', cidr: '10.0.0.0/8' }), E.IPAM_INVALID_POOL, /overlaps/);
  const racing = await Promise.allSettled([createPool(store, { name: 'r1', cidr: '10.20.0.0/16' }), createPool(store, { name: 'r2', cidr: '10.20.0.0/24' })]);
  assert.equal(racing.filter((r) => r.status === 'fulfilled').length, 1, 'of two overlapping pools created at once, one survives');
  assert.deepEqual((await listPools(store)).map((x) => x.name).filter((n) => n.startsWith('r')).length, 1);
  const ipam = new DatastoreIpam(store, 'node-a');
  await ipam.assign(request('node-a', 'c/eth0', [4], { pools: ['v4'] }));
  await rejectsWith(ipam.assign(request('node-a', 'd/eth0', [4], { pools: ['nope'] })), E.IPAM_NO_POOL, /pool nope does not exist/);
  await rejectsWith(ipam.assign(request('node-a', 'd/eth0', [6])), E.IPAM_NO_POOL, /no enabled IPv6 pool/);
  await rejectsWith(deletePool(store, 'v4'), E.IPAM_POOL_IN_USE, /disable it first/);
  await updatePool(store, 'v4', { disabled: true });
  await rejectsWith(ipam.assign(request('node-a', 'd/eth0', [4], { pools: ['v4'] })), E.IPAM_NO_POOL);
  await rejectsWith(deletePool(store, 'v4'), E.IPAM_POOL_IN_USE, /still has 1 allocations/);
  assert.equal((await ipam.get('c/eth0')).length, 1, 'a disabled pool keeps its allocations');
  await ipam.release('c/eth0');
  assert.equal(await deletePool(store, 'v4'), true);
  assert.equal(await deletePool(store, 'v4'), false);
  assert.equal((await store.list(BLOCKS_PREFIX)).entries.length, 0, 'blocks went with the pool');
  await ipam.stop();
  await store.close();
});

test('requests for another node are refused; stop lets queued calls finish and refuses new ones', async () => {
  const store = await setup({ name: 'v4', cidr: '10.10.0.0/24' });
  const a = new DatastoreIpam(store, 'node-a');
  await rejectsWith(a.assign(request('node-b', 'c/eth0', [4])), E.IPAM_INVALID_REQUEST);
  await a.start();
  const queued = Array.from({ length: 10 }, (_, i) => a.assign(request('node-a', `q${i}/eth0`, [4])));
  await new Promise((r) => setImmediate(r));
  await a.stop();
  assert.equal((await Promise.all(queued)).length, 10);
  assert.equal(a.inSync, false);
  await rejectsWith(a.assign(request('node-a', 'c/eth0', [4])), DE.DATASTORE_CLOSED);
  await rejectsWith(a.usage(), DE.DATASTORE_CLOSED);
  assert.throws(() => new DatastoreIpam(store, ''), (e: unknown) => isPodnetError(e, E.IPAM_INVALID_REQUEST));
  await store.close();
});

/** A store that makes every write to a block conflict. */
function conflictingStore(inner: MemoryDatastore): Datastore {
  return Object.assign(Object.create(inner) as Datastore, {
    update: async (key: string, value: string, rev: number, opts?: WriteOptions): Promise<KvEntry> => {
      if (key.startsWith(BLOCKS_PREFIX)) {
        const cur = (await inner.get(key))!;
        await inner.update(key, cur.value, cur.revision); // someone else touched it first
      }
      return inner.update(key, value, rev, opts);
    },
  });
}

test('conflict retries are bounded: IPAM_CONFLICT_RETRIES_EXHAUSTED and nothing half-done', async () => {
  const inner = await setup({ name: 'v4', cidr: '10.11.0.0/24' });
  const ok = new DatastoreIpam(inner, 'node-a');
  await ok.assign(request('node-a', 'first/eth0', [4])); // node-a owns a block now
  await ok.stop();
  const ipam = new DatastoreIpam(conflictingStore(inner), 'node-a', { maxAttempts: 5 });
  const t0 = Date.now();
  const err = await rejectsWith(ipam.assign(request('node-a', 'c/eth0', [4])), E.IPAM_CONFLICT_RETRIES_EXHAUSTED, /gave up after 5 attempts/);
  assert.equal(err.cni, 11);
  assert.ok(Date.now() - t0 < 2_000);
  assert.equal((await ipam.list('node-a')).length, 1);
  await ipam.stop();
  await inner.close();
});

test('correct under heavy CAS contention from a foreign writer touching the blocks', async () => {
  const store = await setup({ name: 'v4', cidr: '10.12.0.0/24', blockSize: 28 });
  const nodes = ['n1', 'n2'].map((n) => new DatastoreIpam(store, n, { maxAttempts: 50 }));
  let stop = false;
  const toucher = (async () => {
    while (!stop) {
      for (const e of (await store.list(BLOCKS_PREFIX)).entries) await store.update(e.key, e.value, e.revision).catch(() => undefined);
      await new Promise((r) => setImmediate(r));
    }
  })();
  const res = await Promise.all(nodes.flatMap((ipam) => Array.from({ length: 40 }, (_, i) => ipam.assign(request(ipam.node, `${ipam.node}-${i}/eth0`, [4])))));
  await Promise.all(nodes.flatMap((ipam) => Array.from({ length: 20 }, (_, i) => ipam.release(`${ipam.node}-${i * 2}/eth0`))));
  stop = true;
  await toucher;
  assert.equal(new Set(res.map((r) => r[0]!.address)).size, 80);
  const all = await allAllocations(store);
  assert.equal(all.size, 40);
  for (const [, a] of all) assert.equal(a.blockNode, a.attrsNode);
  for (const ipam of nodes) await ipam.stop();
  await store.close();
});

test('a block key is the unit of claim: a corrupt or foreign-sized block stops allocation in its pool', async () => {
  const store = await setup({ name: 'v4', cidr: '10.13.0.0/24', blockSize: 28 });
  await store.create(blockKey('v4', '10.13.0.0/26'), '{}');
  const a = new DatastoreIpam(store, 'node-a');
  await rejectsWith(a.assign(request('node-a', 'c/eth0', [4])), E.IPAM_BLOCK_CORRUPT, /does not fit pool v4/);
  await a.stop();
  await store.close();
});
