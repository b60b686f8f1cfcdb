/**
 * Conformance, clean-up verbs through the built podnet-cni: DEL must complete "to the fullest
 * extent possible" (empty CNI_NETNS, no prevResult, a pod namespace already gone, repeated DELs,
 * never-added containers: all success, everything released), and GC releases exactly the
 * attachments of its network and plugin that are not in `cni.dev/valid-attachments` (or in the
 * legacy `cni.dev/attachments` libcni also sends), and pn* links no allocation explains.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../src/lab/cni-runtime.js';
import { withNode, type NodeFixture } from '../../src/lab/node-fixture.js';
import { cniCall, endpointsOf, PODNET_IPAM_BIN, podLinksIn, snapshot } from '../../src/lab/node-state.js';
import { assertCniError, assertEmptyNode, assertEmptySuccess, assertJsonSuccess, attachEnv, linkIn, nodeEnv, pings, podnetConf, Baseline, VERSIONS } from './support.js';

async function addPod(node: NodeFixture, name: string, conf: JsonObject = podnetConf(node)): Promise<{ ns: string; path: string; id: string; result: JsonObject; hostIf: string }> {
  const { ns, path } = await node.newPodNs(name);
  const id = `ctr-${name}`;
  const result = assertJsonSuccess(await cniCall(node, attachEnv('ADD', id, path), conf));
  return { ns, path, id, result, hostIf: String((result.interfaces as JsonObject[])[0]?.name) };
}

const handles = async (node: NodeFixture): Promise<string[]> => (await endpointsOf(node)).map((e) => `${e.containerId}/${e.ifname}`).sort();

test('DEL: empty or unset CNI_NETNS, no prevResult, repeated, never added, bad prevResult: success and everything released', async () => {
  await withNode({}, async (node) => {
    const conf = podnetConf(node);
    const a = await addPod(node, 'a');
    assert.equal((await podLinksIn(node.nodeNs)).length, 1);
    // The runtime lost the netns path and the cached result.
    assertEmptySuccess(await cniCall(node, attachEnv('DEL', a.id, '', {}), conf));
    assert.equal(await linkIn(node, a.ns, 'eth0'), undefined, 'pod interface removed');
    assertEmptyNode(await snapshot(node));
    // Again, and again without CNI_NETNS at all.
    assertEmptySuccess(await cniCall(node, attachEnv('DEL', a.id, a.path), { ...conf, prevResult: a.result }));
    const unset = attachEnv('DEL', a.id, '');
    delete unset.CNI_NETNS;
    assertEmptySuccess(await cniCall(node, unset, conf));
    // Never added, in every version.
    for (const v of VERSIONS) assertEmptySuccess(await cniCall(node, attachEnv('DEL', `never-${v.replace(/\./g, '')}`, a.path), podnetConf(node, v)));
    // A prevResult that does not parse does not stop a DEL.
    const b = await addPod(node, 'b');
    assertEmptySuccess(await cniCall(node, attachEnv('DEL', b.id, b.path), { ...conf, prevResult: { cniVersion: '1.1.0', ips: [{ address: 'garbage' }] } }));
    assertEmptyNode(await snapshot(node));
    // podnet-ipam DEL without netns.
    const ipamConf = { cniVersion: '1.1.0', name: 'podnet', type: 'ptp', ipam: { type: 'podnet-ipam', agentSocket: node.agent.socket } };
    assertJsonSuccess(await cniCall(node, attachEnv('ADD', 'ipam-1', b.path), ipamConf, PODNET_IPAM_BIN));
    assertEmptySuccess(await cniCall(node, attachEnv('DEL', 'ipam-1', ''), ipamConf, PODNET_IPAM_BIN));
    assertEmptySuccess(await cniCall(node, attachEnv('DEL', 'ipam-1', ''), ipamConf, PODNET_IPAM_BIN));
    assertEmptyNode(await snapshot(node));
  });
});

test('DEL after the pod namespace was deleted: success, host link, routes and addresses released', async () => {
  await withNode({}, async (node) => {
    const conf = podnetConf(node);
    for (const name of ['gone1', 'gone2']) {
      const p = await addPod(node, name);
      assert.deepEqual(await podLinksIn(node.nodeNs), [p.hostIf]);
      await node.deletePodNs(p.ns);
      // gone1: DEL right away (the kernel may still be dismantling the namespace); gone2: after the veth is gone.
      if (name === 'gone2') {
        const deadline = Date.now() + 10_000;
        while ((await podLinksIn(node.nodeNs)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      }
      assertEmptySuccess(await cniCall(node, attachEnv('DEL', p.id, p.path), { ...conf, prevResult: p.result }));
      assertEmptyNode(await snapshot(node));
      assertEmptySuccess(await cniCall(node, attachEnv('DEL', p.id, p.path), conf));
    }
  });
});

test('GC: exactly the attachments not in cni.dev/valid-attachments (or legacy cni.dev/attachments) are released, per network and plugin', async () => {
  await withNode({}, async (node) => {
    const conf = podnetConf(node);
    const gcConf = (extra: JsonObject, c: JsonObject = conf): JsonObject => ({ ...c, ...extra });
    const att = (...ids: string[]) => ids.map((id) => ({ containerID: id, ifname: 'eth0' }));
    const pods = new Map<string, Awaited<ReturnType<typeof addPod>>>();
    for (const n of ['a', 'b', 'c', 'd']) pods.set(n, await addPod(node, n));
    const other = await addPod(node, 'e', podnetConf(node, '1.1.0', { name: 'othernet' }));
    const ipamConf = { cniVersion: '1.1.0', name: 'podnet', type: 'ptp', ipam: { type: 'podnet-ipam', agentSocket: node.agent.socket } };
    assertJsonSuccess(await cniCall(node, attachEnv('ADD', 'ctr-f', other.path, { CNI_IFNAME: 'net1' }), ipamConf, PODNET_IPAM_BIN));
    const all = ['ctr-a/eth0', 'ctr-b/eth0', 'ctr-c/eth0', 'ctr-d/eth0', 'ctr-e/eth0', 'ctr-f/net1'];
    assert.deepEqual(await handles(node), all);

    // Neither key: refused, nothing released.
    const base = await Baseline.take(node);
    assertCniError(await base.call(nodeEnv('GC'), conf), 7, '1.1.0', /cni\.dev\/valid-attachments/);
    assertCniError(await base.call(nodeEnv('GC'), gcConf({ 'cni.dev/valid-attachments': [{ containerID: 'x' }] })), 7, '1.1.0', /ifname/);

    // cni.dev/valid-attachments [a, c]: b and d go; e (another network) and f (podnet-ipam) stay.
    assertEmptySuccess(await cniCall(node, nodeEnv('GC'), gcConf({ 'cni.dev/valid-attachments': att('ctr-a', 'ctr-c') })));
    assert.deepEqual(await handles(node), ['ctr-a/eth0', 'ctr-c/eth0', 'ctr-e/eth0', 'ctr-f/net1']);
    assert.deepEqual(await podLinksIn(node.nodeNs), [pods.get('a')!.hostIf, pods.get('c')!.hostIf, other.hostIf].sort());
    for (const n of ['b', 'd']) assert.equal(await linkIn(node, pods.get(n)!.ns, 'eth0'), undefined, `pod ${n} unplugged`);
    for (const n of ['a', 'c']) assert.ok(await pings(node, pods.get(n)!.ns, '172.31.0.1'), `pod ${n} still works`);

    // The legacy key alone, [a]: c goes.
    assertEmptySuccess(await cniCall(node, nodeEnv('GC'), gcConf({ 'cni.dev/attachments': att('ctr-a') })));
    assert.deepEqual(await handles(node), ['ctr-a/eth0', 'ctr-e/eth0', 'ctr-f/net1']);

    // Both keys: the union is valid (libcni sends both); a JSON null is an empty list.
    await base.retake();
    assertEmptySuccess(await base.call(nodeEnv('GC'), gcConf({ 'cni.dev/valid-attachments': att('ctr-a'), 'cni.dev/attachments': null })));
    assertEmptySuccess(await base.call(nodeEnv('GC'), gcConf({ 'cni.dev/valid-attachments': null, 'cni.dev/attachments': att('ctr-a') })));
    assert.ok(await pings(node, pods.get('a')!.ns, 'fd00:31::1'));

    // The attachment is (containerID, ifname): a with another ifname does not keep a.
    assertEmptySuccess(await cniCall(node, nodeEnv('GC'), gcConf({ 'cni.dev/valid-attachments': [{ containerID: 'ctr-a', ifname: 'net1' }] })));
    assert.deepEqual(await handles(node), ['ctr-e/eth0', 'ctr-f/net1']);

    // Another network's GC and podnet-ipam's GC release their own.
    assertEmptySuccess(await cniCall(node, nodeEnv('GC'), gcConf({ 'cni.dev/valid-attachments': [] }, podnetConf(node, '1.1.0', { name: 'othernet' }))));
    assert.deepEqual(await handles(node), ['ctr-f/net1']);
    assertEmptySuccess(await cniCall(node, nodeEnv('GC'), { ...ipamConf, 'cni.dev/valid-attachments': [] }, PODNET_IPAM_BIN));
    assertEmptyNode(await snapshot(node));

    // A pn* link that no allocation explains (a crash between an ADD's steps) is removed by GC.
    const stray = 'pn0123456789ab';
    const r = await node.execIn(node.nodeNs, 'ip', ['link', 'add', stray, 'type', 'veth', 'peer', 'name', 'strayp']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await podLinksIn(node.nodeNs), [stray]);
    assertEmptySuccess(await cniCall(node, nodeEnv('GC'), gcConf({ 'cni.dev/valid-attachments': [] })));
    assertEmptyNode(await snapshot(node));
  });
});
