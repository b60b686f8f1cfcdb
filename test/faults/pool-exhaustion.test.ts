/**
 * Faults, a full pool: an IPv4-only pool of a /29 in one /29 block. ADDs beyond its capacity
 * fail with code 101 and a message naming the pool, leave nothing behind, and keep failing the
 * same way; after a DEL the next ADD succeeds (with the freed address). Also at once: twice the
 * capacity in parallel gives exactly `capacity` pods with distinct addresses, the rest 101, and
 * no leftovers from the failed ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../src/lab/cni-runtime.js';
import { withNode } from '../../src/lab/node-fixture.js';
import { cniCall, endpointsOf, ipamOf, podLinksIn, snapshot } from '../../src/lab/node-state.js';
import { addressesOf, assertCniError, assertEmptyNode, assertEmptySuccess, assertJsonSuccess, attachEnv, Baseline, mapLimit, pings, podnetConf } from '../conformance/support.js';

const POOL = 'v4=10.210.0.0/29,blockSize=29';

test('a full pool: ADD fails with 101 naming the pool, nothing left behind; a DEL makes room for the next ADD', async (t) => {
  await withNode({ pools: [POOL] }, async (node) => {
    const conf = podnetConf(node);
    const [pool] = (await ipamOf(node)).pools;
    assert.equal(pool?.name, 'v4');
    const capacity = Number(pool.size);
    assert.ok(capacity >= 4 && capacity <= 8, `a /29 holds a handful of addresses (${capacity})`);
    t.diagnostic(`pool ${pool.cidr}: capacity ${capacity}`);

    const pods = await mapLimit(Array.from({ length: capacity + 2 }, (_, i) => i), 4, async (i) => ({ ...(await node.newPodNs(`f${i}`)), id: `full-${i}` }));
    const results: JsonObject[] = [];
    for (const p of pods.slice(0, capacity)) {
      const r = assertJsonSuccess(await cniCall(node, attachEnv('ADD', p.id, p.path), conf));
      assert.deepEqual(addressesOf(r).v6, [], 'IPv4 only');
      results.push(r);
    }
    const addrs = results.map((r) => addressesOf(r).v4[0] as string);
    assert.equal(new Set(addrs).size, capacity);
    for (const a of addrs) assert.match(a, /^10\.210\.0\.[0-7]$/);

    const base = await Baseline.take(node, [pods[capacity]!.ns]);
    for (let k = 0; k < 2; k++) {
      for (const p of pods.slice(capacity)) {
        const e = assertCniError(await base.call(attachEnv('ADD', p.id, p.path), conf, undefined, true), 101);
        assert.match(e.msg, /\bv4\b|10\.210\.0\.0\/29/, `the message names the pool: ${e.msg}`);
        assert.match(e.details, /IPAM_POOL_EXHAUSTED/);
      }
    }
    // The full pods still work.
    assert.ok(await pings(node, pods[0]!.ns, '172.31.0.1'));

    // A DEL frees one address; the next ADD gets it.
    const freed = addrs[2] as string;
    assertEmptySuccess(await cniCall(node, attachEnv('DEL', pods[2]!.id, pods[2]!.path), { ...conf, prevResult: results[2] }));
    const next = assertJsonSuccess(await cniCall(node, attachEnv('ADD', pods[capacity]!.id, pods[capacity]!.path), conf));
    assert.deepEqual(addressesOf(next).v4, [freed]);
    assert.ok(await pings(node, pods[capacity]!.ns, '172.31.0.1'));
    assertCniError(await cniCall(node, attachEnv('ADD', pods[capacity + 1]!.id, pods[capacity + 1]!.path), conf), 101);

    // Clean up, then the race: twice the capacity at once.
    for (const p of pods) assertEmptySuccess(await cniCall(node, attachEnv('DEL', p.id, p.path), conf));
    assertEmptyNode(await snapshot(node));
    const racers = await mapLimit(Array.from({ length: 2 * capacity }, (_, i) => i), 8, async (i) => ({ ...(await node.newPodNs(`r${i}`)), id: `race-${i}` }));
    const raced = await Promise.all(racers.map((p) => cniCall(node, attachEnv('ADD', p.id, p.path), conf)));
    const won = raced.filter((r) => r.exitCode === 0).map((r) => assertJsonSuccess(r));
    for (const r of raced.filter((x) => x.exitCode !== 0)) assertCniError(r, 101);
    assert.equal(won.length, capacity, 'exactly the capacity succeeds');
    const wonAddrs = won.map((r) => addressesOf(r).v4[0]);
    assert.equal(new Set(wonAddrs).size, capacity, 'distinct addresses');
    const s = await snapshot(node);
    assert.equal(s.links.length, capacity, 'links only for the winners');
    assert.equal((await endpointsOf(node)).length, capacity, 'allocations only for the winners');
    assert.deepEqual(s.used, { v4: capacity });
    assert.deepEqual(await podLinksIn(node.nodeNs), won.map((r) => String((r.interfaces as JsonObject[])[0]?.name)).sort());
    await Promise.all(racers.map((p) => cniCall(node, attachEnv('DEL', p.id, p.path), conf)));
    assertEmptyNode(await snapshot(node));
  });
});
