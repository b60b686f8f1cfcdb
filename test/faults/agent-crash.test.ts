/**
 * Faults, crash: kill -9 of the agent in the middle of a burst of ADDs, then a restart on the same
 * state directory. Every ADD either succeeded (and its pod keeps working, with an address no other
 * successful pod has) or failed with code 11 (try again later). What the killed ADDs left (an
 * address durable in the WAL without a link, a link whose answer never reached the runtime) is
 * removed by the runtime's next GC, which lists the successful attachments as valid: afterwards
 * allocations == successful pods and pn* links == successful pods. A retried ADD of a failed
 * attachment works.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InvokeResult, JsonObject } from '../../src/lab/cni-runtime.js';
import { withNode } from '../../src/lab/node-fixture.js';
import { cniCall, endpointsOf, ipamOf, podLinksIn, snapshot } from '../../src/lab/node-state.js';
import { addressesOf, assertCniError, assertEmptyNode, assertEmptySuccess, assertJsonSuccess, attachEnv, mapLimit, nodeEnv, pings, podnetConf, startAgent } from '../conformance/support.js';

const N = 40;
/** The agent is killed once this many ADDs have succeeded. */
const KILL_AFTER = 6;

test(`kill -9 of the agent during ${N} parallel ADDs: no duplicate, successful pods work, GC leaves no leak, retries work`, async (t) => {
  await withNode({}, async (node) => {
    const conf = podnetConf(node);
    const pods = await mapLimit(Array.from({ length: N }, (_, i) => i), 8, async (i) => ({ ...(await node.newPodNs(`k${i}`)), id: `crash-${i}` }));

    let succeeded = 0;
    let killAt = -1;
    let release: () => void = () => undefined;
    const enough = new Promise<void>((r) => (release = r));
    const t0 = Date.now();
    const calls = pods.map((p) =>
      cniCall(node, attachEnv('ADD', p.id, p.path), conf).then((r: InvokeResult) => {
        if (r.exitCode === 0 && ++succeeded >= KILL_AFTER) release();
        return r;
      }),
    );
    const all = Promise.all(calls);
    await Promise.race([enough, all, new Promise((r) => setTimeout(r, 60_000))]);
    await node.agent.kill();
    killAt = Date.now() - t0;
    const adds = await all;
    t.diagnostic(`agent killed ${killAt} ms into the burst, after ${succeeded >= KILL_AFTER ? KILL_AFTER : succeeded} successes`);

    const ok = adds.map((r, i) => ({ r, i })).filter((x) => x.r.exitCode === 0);
    const failed = adds.map((r, i) => ({ r, i })).filter((x) => x.r.exitCode !== 0);
    t.diagnostic(`${ok.length} ADDs succeeded, ${failed.length} failed`);
    assert.ok(ok.length >= KILL_AFTER, 'the burst was under way');
    assert.ok(failed.length > 0, 'the kill hit the burst (some ADDs failed)');
    for (const f of failed) {
      const e = assertCniError(f.r, 11);
      assert.match(e.msg, new RegExp(node.agent.socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'the message names the socket');
    }

    await startAgent(node);

    // Successful ADDs: distinct addresses, pods work.
    const results: Map<number, JsonObject> = new Map(ok.map((x) => [x.i, assertJsonSuccess(x.r)]));
    const v4 = [...results.values()].flatMap((r) => addressesOf(r).v4);
    const v6 = [...results.values()].flatMap((r) => addressesOf(r).v6);
    assert.equal(v4.length, ok.length);
    assert.equal(new Set(v4).size, v4.length, 'no duplicate IPv4 address among the successful ADDs');
    assert.equal(new Set(v6).size, v6.length, 'no duplicate IPv6 address among the successful ADDs');
    await mapLimit([...results.keys()], 8, async (i) => {
      assert.ok(await pings(node, pods[i]!.ns, '172.31.0.1'), `pod ${i} -> node IPv4 after the restart`);
      assert.ok(await pings(node, pods[i]!.ns, 'fd00:31::1'), `pod ${i} -> node IPv6 after the restart`);
    });
    // The restarted agent knows every successful pod.
    const eps = new Map((await endpointsOf(node)).map((e) => [e.containerId, e]));
    for (const [i, r] of results) {
      const ep = eps.get(pods[i]!.id);
      assert.ok(ep, `endpoint of successful pod ${i}`);
      assert.deepEqual([...ep.addresses].sort(), [...addressesOf(r).v4, ...addressesOf(r).v6].sort());
    }
    t.diagnostic(`before GC: ${eps.size} endpoints, ${(await podLinksIn(node.nodeNs)).length} pn* links for ${ok.length} successful pods`);

    // The runtime's GC: the successful attachments are the valid ones.
    const valid = [...results.keys()].map((i) => ({ containerID: pods[i]!.id, ifname: 'eth0' }));
    assertEmptySuccess(await cniCall(node, nodeEnv('GC'), { ...conf, 'cni.dev/valid-attachments': valid }));
    const after = await snapshot(node);
    assert.equal(after.endpoints.length, ok.length, 'allocations == successful pods');
    assert.deepEqual(after.used, { v4: ok.length, v6: ok.length }, 'addresses in use == successful pods');
    const hostIfs = [...results.values()].map((r) => String((r.interfaces as JsonObject[])[0]?.name)).sort();
    assert.deepEqual(after.links, hostIfs, 'pn* links == successful pods');
    for (const i of results.keys()) assert.ok(await pings(node, pods[i]!.ns, '172.31.0.1'), `pod ${i} still works after GC`);

    // Retried ADDs of the failed attachments work, with fresh distinct addresses.
    const retried = await Promise.all(failed.map((f) => cniCall(node, attachEnv('ADD', pods[f.i]!.id, pods[f.i]!.path), conf)));
    for (const [k, r] of retried.entries()) results.set(failed[k]!.i, assertJsonSuccess(r));
    const all4 = [...results.values()].flatMap((r) => addressesOf(r).v4);
    assert.equal(all4.length, N);
    assert.equal(new Set(all4).size, N, 'all addresses distinct after the retries');
    await mapLimit(failed, 8, async (f) => assert.ok(await pings(node, pods[f.i]!.ns, 'fd00:31::1'), `retried pod ${f.i} works`));
    const ipam = await ipamOf(node);
    assert.deepEqual(ipam.pools.map((p) => p.used), [N, N]);
    assert.equal((await podLinksIn(node.nodeNs)).length, N);

    const dels = await Promise.all(pods.map((p, i) => cniCall(node, attachEnv('DEL', p.id, p.path), { ...conf, prevResult: results.get(i) })));
    for (const r of dels) assertEmptySuccess(r);
    assertEmptyNode(await snapshot(node));
  });
});
