/**
 * Faults, load: 50 ADDs at once through the built podnet-cni (as a node does when a deployment
 * scales up), then 50 DELs at once. Proves per-attachment serialisation and the IPAM CAS under
 * contention: 50 distinct IPv4 and IPv6 addresses, 50 host links, every pod reaches the node on
 * both families; afterwards nothing is left. The wall times are printed as diagnostics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../src/lab/cni-runtime.js';
import { withNode } from '../../src/lab/node-fixture.js';
import { cniCall, endpointsOf, ipamOf, podLinksIn, snapshot } from '../../src/lab/node-state.js';
import { addressesOf, assertEmptyNode, assertEmptySuccess, assertJsonSuccess, attachEnv, linkIn, mapLimit, nodeEnv, pings, podnetConf } from '../conformance/support.js';

const N = 50;

test(`${N} parallel ADDs through podnet-cni: distinct addresses, ${N} links, all pods reach the node; ${N} parallel DELs leave nothing`, async (t) => {
  await withNode({}, async (node) => {
    const conf = podnetConf(node);
    const pods = await mapLimit(Array.from({ length: N }, (_, i) => i), 8, async (i) => ({ ...(await node.newPodNs(`p${i}`)), id: `burst-${i}` }));

    const t0 = Date.now();
    const adds = await Promise.all(pods.map((p) => cniCall(node, attachEnv('ADD', p.id, p.path, { CNI_ARGS: `K8S_POD_NAMESPACE=burst;K8S_POD_NAME=${p.id}` }), conf)));
    const addMs = Date.now() - t0;
    t.diagnostic(`${N} parallel ADDs: ${addMs} ms wall`);
    const results: JsonObject[] = adds.map((r) => assertJsonSuccess(r));

    const v4 = results.map((r) => addressesOf(r).v4);
    const v6 = results.map((r) => addressesOf(r).v6);
    for (const [i, a] of v4.entries()) assert.equal(a.length, 1, `pod ${i}: one IPv4 address`);
    for (const [i, a] of v6.entries()) assert.equal(a.length, 1, `pod ${i}: one IPv6 address`);
    assert.equal(new Set(v4.flat()).size, N, 'IPv4 addresses are distinct');
    assert.equal(new Set(v6.flat()).size, N, 'IPv6 addresses are distinct');
    const hostIfs = results.map((r) => String((r.interfaces as JsonObject[])[0]?.name));
    assert.deepEqual(await podLinksIn(node.nodeNs), [...hostIfs].sort(), `${N} host links, one per pod`);
    const eps = await endpointsOf(node);
    assert.equal(eps.length, N);
    assert.ok(eps.every((e) => e.linkPresent && e.addresses.length === 2 && e.namespace === 'burst'));
    const ipam = await ipamOf(node);
    assert.deepEqual(ipam.pools.map((p) => p.used), [N, N], 'allocations == pods, per family');

    // Each pod holds exactly its addresses, and reaches the node on both families.
    const t1 = Date.now();
    await mapLimit(pods, 10, async (p, i) => {
      const l = await linkIn(node, p.ns, 'eth0');
      assert.deepEqual(l?.addresses, [`${v4[i]![0]}/32`, `${v6[i]![0]}/128`].sort(), `pod ${i} addresses`);
      assert.ok(await pings(node, p.ns, '172.31.0.1'), `pod ${i} -> node IPv4`);
      assert.ok(await pings(node, p.ns, 'fd00:31::1'), `pod ${i} -> node IPv6`);
    });
    t.diagnostic(`${2 * N} pings: ${Date.now() - t1} ms`);
    // Pod to pod across the burst (first <-> last).
    assert.ok(await pings(node, pods[0]!.ns, v4[N - 1]![0]!));
    assert.ok(await pings(node, pods[N - 1]!.ns, v6[0]![0]!));

    const t2 = Date.now();
    const dels = await Promise.all(pods.map((p, i) => cniCall(node, attachEnv('DEL', p.id, p.path), { ...conf, prevResult: results[i] })));
    t.diagnostic(`${N} parallel DELs: ${Date.now() - t2} ms wall`);
    for (const r of dels) assertEmptySuccess(r);
    assertEmptyNode(await snapshot(node));
    for (const p of pods.slice(0, 5)) assert.equal(await linkIn(node, p.ns, 'eth0'), undefined);
  });
});

test('GC in a loop while 40 ADDs run in parallel: the attachments being added survive, the stale ones go', async (t) => {
  await withNode({}, async (node) => {
    const conf = podnetConf(node);
    const N2 = 40;
    const STALE = 8;
    const pods = await mapLimit(Array.from({ length: N2 + STALE }, (_, i) => i), 8, async (i) => ({ ...(await node.newPodNs(`g${i}`)), id: i < N2 ? `gcadd-${i}` : `stale-${i}` }));
    const fresh = pods.slice(0, N2);
    const stale = pods.slice(N2);
    for (const p of stale) assertJsonSuccess(await cniCall(node, attachEnv('ADD', p.id, p.path), conf));
    // The runtime lists every attachment it is adding as valid; the stale ones it has forgotten.
    const valid = fresh.map((p) => ({ containerID: p.id, ifname: 'eth0' }));
    let stop = false;
    let gcs = 0;
    const gcLoop = (async () => {
      while (!stop) {
        assertEmptySuccess(await cniCall(node, nodeEnv('GC'), { ...conf, 'cni.dev/valid-attachments': valid }));
        gcs++;
      }
    })();
    let adds;
    try {
      adds = await Promise.all(fresh.map((p) => cniCall(node, attachEnv('ADD', p.id, p.path), conf)));
    } finally {
      stop = true;
      await gcLoop;
    }
    t.diagnostic(`${gcs} GCs ran during the ${N2} ADDs`);
    assert.ok(gcs >= 1, 'GC ran during the burst');
    const results = adds.map((r) => assertJsonSuccess(r));
    const eps = await endpointsOf(node);
    assert.deepEqual(eps.map((e) => e.containerId).sort(), fresh.map((p) => p.id).sort(), 'the stale attachments were released, the fresh ones kept');
    assert.ok(eps.every((e) => e.linkPresent), `every fresh pod has its host link: ${eps.filter((e) => !e.linkPresent).map((e) => e.containerId).join(', ')}`);
    assert.deepEqual(await podLinksIn(node.nodeNs), results.map((r) => String((r.interfaces as JsonObject[])[0]?.name)).sort());
    await mapLimit(fresh, 10, async (p, i) => assert.ok(await pings(node, p.ns, '172.31.0.1'), `pod ${i} works`));
    for (const p of stale) assert.equal(await linkIn(node, p.ns, 'eth0'), undefined, 'stale pods unplugged');
    await Promise.all(fresh.map((p) => cniCall(node, attachEnv('DEL', p.id, p.path), conf)));
    assertEmptyNode(await snapshot(node));
  });
});
