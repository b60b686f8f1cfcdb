/**
 * Conformance, per config version: the built podnet-cni / podnet-ipam executables driven exactly
 * as a runtime drives them (CNI_* environment, config on stdin, exit code and stdout read back),
 * against a real agent. For 0.3.0, 0.3.1, 0.4.0, 1.0.0 and 1.1.0 and every verb: the success
 * output in the version's own shape, the exit codes, and the verbs a version lacks (CHECK before
 * 0.4.0, STATUS and GC before 1.1.0) refused with code 1 and nothing changed. VERSION is answered
 * with no agent at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniRuntime, type JsonObject } from '../../src/lab/cni-runtime.js';
import { withNode } from '../../src/lab/node-fixture.js';
import { endpointsOf, PODNET_CNI_BIN, PODNET_IPAM_BIN, snapshot, cniCall } from '../../src/lab/node-state.js';
import { PODNET_CNI_DIR } from '../../src/lab/paths.js';
import {
  VERSIONS,
  addressesOf,
  assertCniError,
  assertEmptyNode,
  assertEmptySuccess,
  assertJsonSuccess,
  attachEnv,
  callLeavingNothing,
  isLegacy,
  linkIn,
  nodeEnv,
  pings,
  podnetConf,
} from './support.js';

const keys = (o: unknown): string[] => Object.keys(o as object).sort();

test('VERSION is answered without any agent, by podnet-cni and podnet-ipam, for every version', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-noagent-'));
  try {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const rt = new CniRuntime([PODNET_CNI_DIR], env, 30_000);
    const socket = join(dir, 'absent.sock');
    for (const bin of [PODNET_CNI_BIN, PODNET_IPAM_BIN]) {
      for (const v of VERSIONS) {
        const conf = bin === PODNET_IPAM_BIN ? { cniVersion: v, name: 'n', type: 'ptp', ipam: { type: 'podnet-ipam', agentSocket: socket } } : { cniVersion: v, name: 'n', type: 'podnet-cni', agentSocket: socket };
        const r = await rt.invoke(bin, { CNI_COMMAND: 'VERSION' }, JSON.stringify(conf));
        const j = assertJsonSuccess(r);
        assert.deepEqual(j, { cniVersion: v, supportedVersions: [...VERSIONS] }, `${bin} ${v}`);
      }
      // libcni's probe sends only {"cniVersion": ...}; an empty stdin gets the current version.
      assert.deepEqual(assertJsonSuccess(await rt.invoke(bin, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}')), { cniVersion: '0.4.0', supportedVersions: [...VERSIONS] });
      assert.deepEqual(assertJsonSuccess(await rt.invoke(bin, { CNI_COMMAND: 'VERSION' }, '')), { cniVersion: '1.1.0', supportedVersions: [...VERSIONS] });
      // A full config without agentSocket (libcni's probe before ADD/DEL): still answered, no agent needed.
      assert.deepEqual(assertJsonSuccess(await rt.invoke(bin, { CNI_COMMAND: 'VERSION', CNI_PATH: PODNET_CNI_DIR }, '{"cniVersion":"1.0.0","name":"n","type":"podnet-cni"}')).supportedVersions, [...VERSIONS]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every version x every verb through podnet-cni: output shapes, exit codes, verbs the version lacks', async (t) => {
  await withNode({}, async (node) => {
    for (const v of VERSIONS) {
      await t.test(`cniVersion ${v}`, async () => {
        const { ns, path } = await node.newPodNs(`v${v.replace(/\./g, '')}`);
        const id = `ctr-v${v.replace(/\./g, '')}`;
        const conf = podnetConf(node, v);

        // VERSION with the agent running.
        assert.deepEqual(assertJsonSuccess(await cniCall(node, { CNI_COMMAND: 'VERSION' }, conf)), { cniVersion: v, supportedVersions: [...VERSIONS] });

        // ADD: the result in the version's shape.
        const add = await cniCall(node, attachEnv('ADD', id, path), conf);
        assert.equal(add.stderr, '', 'nothing on stderr');
        const res = assertJsonSuccess(add);
        assert.equal(res.cniVersion, v);
        assert.deepEqual(keys(res), ['cniVersion', 'interfaces', 'ips', 'routes']);
        const ifs = res.interfaces as JsonObject[];
        assert.equal(ifs.length, 2);
        const [host, pod] = ifs as [JsonObject, JsonObject];
        assert.match(String(host.name), /^pn[0-9a-f]{12}$/);
        assert.equal(host.mac, 'ee:ee:ee:ee:ee:ee');
        assert.equal(host.sandbox, undefined, 'the host veth has no sandbox');
        assert.equal(pod.name, 'eth0');
        assert.equal(pod.sandbox, path, 'sandbox is CNI_NETNS as the runtime gave it');
        const kernelPod = await linkIn(node, ns, 'eth0');
        assert.ok(kernelPod, 'eth0 exists in the pod');
        assert.equal(pod.mac, kernelPod.mac, 'result mac is the pod interface mac');
        if (isLegacy(v)) {
          assert.deepEqual(keys(host), ['mac', 'name']);
          assert.deepEqual(keys(pod), ['mac', 'name', 'sandbox'], '0.x interfaces have name/mac/sandbox only');
        } else {
          assert.deepEqual(keys(host), ['mac', 'name']);
          assert.deepEqual(keys(pod), ['mac', 'mtu', 'name', 'sandbox']);
          assert.equal(pod.mtu, kernelPod.mtu);
          assert.equal(pod.mtu, 1500);
        }
        const ips = res.ips as JsonObject[];
        assert.equal(ips.length, 2, 'one IPv4 and one IPv6 address');
        for (const ip of ips) {
          const fam = String(ip.address).includes(':') ? '6' : '4';
          assert.deepEqual(keys(ip), isLegacy(v) ? ['address', 'gateway', 'interface', 'version'] : ['address', 'gateway', 'interface']);
          if (isLegacy(v)) assert.equal(ip.version, fam, '0.x ips carry version');
          assert.equal(ip.interface, 1, 'ips point at the pod interface');
          assert.match(String(ip.address), fam === '4' ? /^10\.200\.\d+\.\d+\/32$/ : /^fd00:200:[0-9a-f:]+\/128$/);
          assert.equal(ip.gateway, fam === '4' ? '169.254.1.1' : 'fe80::ecee:eeff:feee:eeee');
        }
        const { v4, v6 } = addressesOf(res);
        assert.deepEqual(kernelPod.addresses, [`${v4[0]}/32`, `${v6[0]}/128`].sort(), 'the pod holds exactly the result addresses');
        for (const rt of res.routes as JsonObject[]) assert.deepEqual(keys(rt), ['dst', 'gw']);
        assert.deepEqual((res.routes as JsonObject[]).map((r) => r.dst), ['0.0.0.0/0', '::/0']);
        assert.ok(await pings(node, ns, '172.31.0.1'), 'pod reaches the node over IPv4');
        assert.ok(await pings(node, ns, 'fd00:31::1'), 'pod reaches the node over IPv6');

        // CHECK: since 0.4.0, with the ADD result as prevResult.
        const withPrev = { ...conf, prevResult: res };
        if (v === '0.3.0' || v === '0.3.1') {
          assertCniError(await callLeavingNothing(node, attachEnv('CHECK', id, path), withPrev, [ns]), 1, v, /CHECK/);
        } else {
          assertEmptySuccess(await cniCall(node, attachEnv('CHECK', id, path), withPrev));
        }

        // STATUS and GC: 1.1.0 only.
        if (v === '1.1.0') {
          assertEmptySuccess(await cniCall(node, nodeEnv('STATUS'), conf));
          assertEmptySuccess(await cniCall(node, nodeEnv('GC'), { ...conf, 'cni.dev/valid-attachments': [{ containerID: id, ifname: 'eth0' }] }));
          assert.equal((await endpointsOf(node)).length, 1, 'GC kept the valid attachment');
        } else {
          assertCniError(await callLeavingNothing(node, nodeEnv('STATUS'), conf, [ns]), 1, v, /STATUS/);
          assertCniError(await callLeavingNothing(node, nodeEnv('GC'), { ...conf, 'cni.dev/valid-attachments': [] }, [ns]), 1, v, /GC/);
        }
        assert.ok(await pings(node, ns, '172.31.0.1'), 'pod still reaches the node');

        // DEL with the cached result: empty success, everything gone.
        assertEmptySuccess(await cniCall(node, attachEnv('DEL', id, path), withPrev));
        assert.equal(await linkIn(node, ns, 'eth0'), undefined, 'eth0 removed from the pod');
        assertEmptyNode(await snapshot(node));
        await node.deletePodNs(ns);
      });
    }
  });
});

test('podnet-ipam (delegated IPAM) for every version: ips without interface, no interfaces; DEL releases', async () => {
  await withNode({}, async (node) => {
    for (const v of VERSIONS) {
      const conf = { cniVersion: v, name: 'ipamnet', type: 'ptp', ipam: { type: 'podnet-ipam', agentSocket: node.agent.socket } };
      const { path } = await node.newPodNs(`i${v.replace(/\./g, '')}`);
      const id = `ipam-${v.replace(/\./g, '')}`;
      const res = assertJsonSuccess(await cniCall(node, attachEnv('ADD', id, path), conf, PODNET_IPAM_BIN));
      assert.equal(res.cniVersion, v);
      assert.equal(res.interfaces, undefined, 'an IPAM result has no interfaces');
      const ips = res.ips as JsonObject[];
      assert.equal(ips.length, 2);
      for (const ip of ips) {
        assert.equal(ip.interface, undefined, 'an IPAM result has no ips[].interface');
        const fam = String(ip.address).includes(':') ? '6' : '4';
        assert.deepEqual(keys(ip), isLegacy(v) ? ['address', 'version'] : ['address']);
        if (isLegacy(v)) assert.equal(ip.version, fam);
        // The pool's prefix: the subnet the calling plugin serves.
        assert.match(String(ip.address), fam === '4' ? /^10\.200\.\d+\.\d+\/16$/ : /^fd00:200:[0-9a-f:]+\/56$/);
      }
      const eps = await endpointsOf(node);
      assert.equal(eps.length, 1);
      assert.equal(eps[0]?.plugin, 'ipam');
      assert.equal(eps[0]?.hostIfname, undefined, 'podnet-ipam makes no link');
      assert.deepEqual((await snapshot(node)).links, []);
      if (v !== '0.3.0' && v !== '0.3.1') assertEmptySuccess(await cniCall(node, attachEnv('CHECK', id, path), { ...conf, prevResult: res }, PODNET_IPAM_BIN));
      if (v === '1.1.0') assertEmptySuccess(await cniCall(node, nodeEnv('STATUS'), conf, PODNET_IPAM_BIN));
      assertEmptySuccess(await cniCall(node, attachEnv('DEL', id, path), conf, PODNET_IPAM_BIN));
      assertEmptyNode(await snapshot(node));
    }
  });
});
