/**
 * Conformance, failures: every way a runtime (or an admin's config) can get a call wrong, through
 * the built podnet-cni, with the exact CNI code, the spec's error object on stdout and exit code 1,
 * and after EACH call a snapshot proving nothing was left behind: no new pn* link or podnet route
 * in the node namespace, no endpoint or allocation in `podnet endpoints` / `podnet ipam show`, no
 * interface in the pod. A resident pod is up throughout and must be untouched by all of it.
 * Then the agent stopped: ADD/DEL/CHECK/GC answer 11 naming the socket (through the shim's Node
 * fallback), STATUS 50, VERSION still works, config errors keep their own codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { JsonObject } from '../../src/lab/cni-runtime.js';
import { withNode, type NodeFixture } from '../../src/lab/node-fixture.js';
import { cniCall, endpointsOf, PODNET_IPAM_BIN, snapshot } from '../../src/lab/node-state.js';
import { Baseline, assertCniError, assertEmptyNode, assertEmptySuccess, assertJsonSuccess, attachEnv, addressesOf, nodeEnv, pings, podnetConf, startAgent, VERSIONS } from './support.js';

/** What a hostile or careless runtime could put in a name: shell metacharacters, spaces, quotes, paths. */
const SHELLY = ['a;rm -rf /', '$(id)', '`id`', 'a b', 'a"b', "a'b", '../x'];
const SHELLY_IFNAMES = ['e;id', '$(id)', '`id`', 'e 0', 'e"0', "e'0", '../x', '..', 'eth0-is-too-long'];

async function resident(node: NodeFixture): Promise<{ ns: string; path: string; result: JsonObject }> {
  const { ns, path } = await node.newPodNs('resident');
  const result = assertJsonSuccess(await cniCall(node, attachEnv('ADD', 'ctr-resident', path, { CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=resident' }), podnetConf(node)));
  return { ns, path, result };
}

test('config, environment and name errors: exact codes, the error object, nothing left behind', async (t) => {
  await withNode({}, async (node) => {
    const res = await resident(node);
    const { ns: tgtNs, path: tgt } = await node.newPodNs('target');
    const base = await Baseline.take(node, [res.ns, tgtNs]);
    const conf = podnetConf(node);
    const sock = node.agent.socket;
    const add = (extra: Record<string, string> = {}) => attachEnv('ADD', 'ctr-new', tgt, extra);

    await t.test('malformed network config: code 6 (ADD with every kind of bad JSON; every verb)', async () => {
      const bad = [
        `{"cniVersion":"1.1.0","name":"podnet","type":"podnet-cni","agentSocket":"${sock}",`,
        `{"agentSocket":"${sock}","cniVersion":"1.1.0","name":"podnet","type":"podnet-cni"} trailing`,
        `[{"agentSocket":"${sock}"}]`,
        '',
        'null',
        '"podnet"',
      ];
      for (const stdin of bad) assertCniError(await base.call(add(), stdin), 6, '1.1.0', /decoding network config/);
      for (const verb of ['DEL', 'CHECK', 'STATUS', 'GC']) {
        const env = verb === 'STATUS' || verb === 'GC' ? nodeEnv(verb) : attachEnv(verb, 'ctr-resident', res.path);
        assertCniError(await base.call(env, bad[0] as string), 6);
      }
      await base.assertUnchanged('the whole step (with `podnet ipam show`)');
    });

    await t.test('unknown field: code 2 naming the key and value; the error carries the config version', async () => {
      const e = assertCniError(await base.call(add(), { ...conf, bogus: { x: 1 } }), 2, '1.1.0', /bogus/);
      assert.match(e.msg, /bogus=\{"x":1\}/);
      assertCniError(await base.call(add(), { ...conf, cniVersion: '0.3.1', ipamm: {} }), 2, '0.3.1', /ipamm/);
      assertCniError(await base.call(nodeEnv('STATUS'), { ...conf, extra: true }), 2, '1.1.0', /extra/);
      // podnet-ipam: the caller owns the top level, the ipam dictionary is ours.
      const ipamConf = { cniVersion: '1.0.0', name: 'n', type: 'ptp', somethingOfPtp: 1, ipam: { type: 'podnet-ipam', agentSocket: sock, rangeStart: '10.0.0.1' } };
      assertCniError(await base.call(add(), ipamConf, PODNET_IPAM_BIN), 2, '1.0.0', /ipam\.rangeStart/);
      await base.assertUnchanged('the whole step (with `podnet ipam show`)');
    });

    await t.test('missing or unsupported cniVersion: code 1', async () => {
      for (const v of [undefined, '', '0.2.0', '1.2.0', '2.0.0', '1.1', 1.1]) {
        const c: JsonObject = { ...conf };
        if (v === undefined) delete c.cniVersion;
        else c.cniVersion = v;
        const e = assertCniError(await base.call(add(), c), 1, '1.1.0');
        assert.match(e.msg, /0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0/, 'names the supported versions');
      }
      // A prevResult in a version podnet does not know is code 1 too.
      assertCniError(await base.call(attachEnv('CHECK', 'ctr-resident', res.path), { ...conf, prevResult: { ...res.result, cniVersion: '9.9.9' } }), 1);
      await base.assertUnchanged('the whole step (with `podnet ipam show`)');
    });

    await t.test('missing CNI_* variables: code 4 for every verb, naming each missing variable', async () => {
      const required: Record<string, string[]> = {
        ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
        DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
        CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
        GC: ['CNI_PATH'],
      };
      for (const [verb, vars] of Object.entries(required)) {
        const stdin = verb === 'CHECK' ? { ...conf, prevResult: res.result } : verb === 'GC' ? { ...conf, 'cni.dev/valid-attachments': [] } : conf;
        for (const name of vars) {
          const full = verb === 'GC' ? nodeEnv('GC') : attachEnv(verb, verb === 'ADD' ? 'ctr-new' : 'ctr-resident', verb === 'ADD' ? tgt : res.path);
          const without = { ...full };
          delete without[name];
          assertCniError(await base.call(without, stdin), 4, '1.1.0', new RegExp(name));
          if (name === vars[0]) assertCniError(await base.call({ ...full, [name]: '' }, stdin), 4, '1.1.0', new RegExp(name));
        }
      }
      // All missing at once: one error names them all.
      assertCniError(await base.call({ CNI_COMMAND: 'ADD' }, conf), 4, '1.1.0', /CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME/);
      assertCniError(await base.call({}, conf), 4, '1.1.0', /CNI_COMMAND/);
      for (const cmd of ['add', 'ADD ', 'UPDATE']) assertCniError(await base.call(add({ CNI_COMMAND: cmd }), conf), 4, '1.1.0', /CNI_COMMAND/);
      await base.assertUnchanged('the whole step (with `podnet ipam show`)');
    });

    await t.test('container IDs, ifnames and network names with shell characters: 4 (env) or 7 (config), nothing run', async () => {
      const canary = `/tmp/podnet-pwned-${randomBytes(4).toString('hex')}`;
      const evil = [...SHELLY, `$(touch ${canary})`, `x;touch ${canary}`];
      try {
        for (const id of evil) {
          assertCniError(await base.call(add({ CNI_CONTAINERID: id }), conf), 4, '1.1.0', /CNI_CONTAINERID/);
        }
        for (const id of evil.slice(0, 2)) assertCniError(await base.call(attachEnv('DEL', id, res.path), conf), 4, '1.1.0', /CNI_CONTAINERID/);
        for (const ifname of [...SHELLY_IFNAMES, `$(touch ${canary.slice(-6)})`]) {
          assertCniError(await base.call(add({ CNI_IFNAME: ifname }), conf), 4, '1.1.0', /CNI_IFNAME/);
        }
        for (const name of evil) assertCniError(await base.call(add(), { ...conf, name }), 7, '1.1.0', /name/);
        for (const name of ['$(id)', '../x']) assertCniError(await base.call(nodeEnv('GC'), { ...conf, name, 'cni.dev/valid-attachments': [] }), 7, '1.1.0', /name/);
        assertCniError(await base.call(add(), { ...conf, type: '../../bin/sh' }), 7, '1.1.0', /type/);
        assert.equal(existsSync(canary), false, 'no shell ever ran the names');
      } finally {
        rmSync(canary, { force: true });
      }
      await base.assertUnchanged('the whole step (with `podnet ipam show`)');
    });

    await t.test('CNI_ARGS: malformed pairs, unknown keys, bad values are code 4; IgnoreUnknown lets unknown keys through', async () => {
      const bad: [string, RegExp][] = [
        ['K8S_POD_NAME', /malformed pair/],
        ['A=B=C', /malformed pair/],
        ['K8S_POD_NAME=a;;', /malformed pair/],
        ['FOO=bar', /unknown keys "FOO"/],
        ['FOO=bar;IgnoreUnknown=0', /unknown keys/],
        ['IgnoreUnknown=maybe;FOO=bar', /IgnoreUnknown/],
        ['IP=300.1.1.1', /IP/],
        ['MAC=zz:zz', /MAC/],
        ['K8S_POD_NAME=$(id)', /K8S_POD_NAME/],
        ['k8s_pod_name=x', /unknown keys "k8s_pod_name"/],
      ];
      for (const [args, re] of bad) assertCniError(await base.call(add({ CNI_ARGS: args }), conf), 4, '1.1.0', re);
      // Accepted: unknown keys with IgnoreUnknown (anywhere, 1 or true), empty values.
      for (const args of ['FOO=bar;IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web-0', 'IgnoreUnknown=true;X=1;Y=;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web-0']) {
        assertJsonSuccess(await cniCall(node, add({ CNI_ARGS: args }), conf));
        const ep = (await endpointsOf(node)).find((e) => e.containerId === 'ctr-new');
        assert.equal(ep?.namespace, 'ns1');
        assert.equal(ep?.pod, 'web-0');
        assertEmptySuccess(await cniCall(node, attachEnv('DEL', 'ctr-new', tgt, { CNI_ARGS: args }), conf));
        await base.assertUnchanged('ADD+DEL with IgnoreUnknown');
      }
      await base.assertUnchanged('the whole step (with `podnet ipam show`)');
    });

    // The resident pod was never disturbed.
    assert.ok(await pings(node, res.ns, '172.31.0.1'));
    assert.ok(await pings(node, res.ns, 'fd00:31::1'));
    assertEmptySuccess(await cniCall(node, attachEnv('DEL', 'ctr-resident', res.path), conf));
    assertEmptyNode(await snapshot(node));
  });
});


test('config values, pod, address and dataplane errors: exact codes, nothing left behind, the resident pod untouched', async (t) => {
  await withNode({}, async (node) => {
    const res = await resident(node);
    const { ns: tgtNs, path: tgt } = await node.newPodNs('target');
    const base = await Baseline.take(node, [res.ns, tgtNs]);
    const conf = podnetConf(node);
    const sock = node.agent.socket;
    const add = (extra: Record<string, string> = {}) => attachEnv('ADD', 'ctr-new', tgt, extra);

    await t.test('pod namespace: missing (3), not a namespace (5), the node itself (107); nothing left', async () => {
      const gone = '/run/netns/podnet-test-does-not-exist';
      const e = assertCniError(await base.call(add({ CNI_NETNS: gone }), conf), 3, '1.1.0');
      assert.match(e.msg, /does not exist/);
      assert.match(e.msg, new RegExp(gone), 'the message names CNI_NETNS');
      assertCniError(await base.call(add({ CNI_NETNS: '/etc/hostname' }), conf), 5);
      assertCniError(await base.call(add({ CNI_NETNS: '/tmp' }), conf), 5);
      assertCniError(await base.call(add({ CNI_NETNS: `/run/netns/${node.nodeNs}` }), conf), 107, '1.1.0', /host's own namespace/);
      assertCniError(await base.call(add({ CNI_NETNS: 'relative/path' }), conf), 3);
      // A namespace that existed and was deleted before the ADD.
      const { ns: gone2, path: gonePath } = await node.newPodNs('vanished');
      await node.deletePodNs(gone2);
      assertCniError(await base.call(add({ CNI_NETNS: gonePath }), conf), 3);
      await base.assertUnchanged('the whole step (with `podnet ipam show`)');
    });

    await t.test('interface name already taken in the pod: 105, address released, no host link', async () => {
      const r = await node.execIn(tgtNs, 'ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0peer']);
      assert.equal(r.code, 0, r.stderr);
      try {
        await base.retake();
        assertCniError(await base.call(add(), conf), 105, '1.1.0', /eth0 already exists/);
      } finally {
        await node.execIn(tgtNs, 'ip', ['link', 'del', 'eth0']);
        await base.retake();
      }
      await base.assertUnchanged('the whole step (with `podnet ipam show`)');
    });

    await t.test('static addresses: taken (102), outside every pool (7), unknown pool (7); nothing left', async () => {
      const { v4, v6 } = addressesOf(res.result);
      assertCniError(await base.call(add(), { ...conf, runtimeConfig: { ips: [`${v4[0]}/32`] } }), 102, '1.1.0', new RegExp(String(v4[0]).replace(/\./g, '\\.')));
      assertCniError(await base.call(add(), { ...conf, runtimeConfig: { ips: [String(v6[0])] } }), 102);
      assertCniError(await base.call(add({ CNI_ARGS: `IP=${v4[0]}` }), conf), 102);
      // One free and one taken: all or nothing.
      assertCniError(await base.call(add(), { ...conf, runtimeConfig: { ips: ['10.200.7.7/16', `${v4[0]}/16`] } }), 102);
      assertCniError(await base.call(add(), { ...conf, runtimeConfig: { ips: ['192.0.2.10/24'] } }), 7, '1.1.0', /not inside any pool/);
      assertCniError(await base.call(add(), { ...conf, pools: ['nope'] }), 7, '1.1.0', /nope/);
      await base.assertUnchanged('the whole step (with `podnet ipam show`)');
    });

    await t.test('invalid config values: code 7 naming the field', async () => {
      const cases: [JsonObject, RegExp][] = [
        [{ mtu: 10 }, /mtu/],
        [{ mtu: '1500' }, /mtu/],
        [{ agentSocket: 'relative.sock' }, /agentSocket/],
        [{ families: [5] }, /families/],
        [{ pools: [] }, /pools/],
        [{ name: '' }, /name/],
        [{ type: '' }, /type/],
        [{ ipMasq: 'yes' }, /ipMasq/],
        [{ dns: { nameservers: ['not-an-ip'] } }, /dns\.nameservers\[0\]/],
        [{ runtimeConfig: { mac: 'zz' } }, /runtimeConfig\.mac/],
        [{ runtimeConfig: { ips: ['10.200.0.999'] } }, /runtimeConfig\.ips\[0\]/],
        [{ runtimeConfig: { portMappings: [{ hostPort: 0, containerPort: 80 }] } }, /hostPort/],
        [{ runtimeConfig: { portMappings: [{ hostPort: 80, HostPort: 81, containerPort: 80 }] } }, /HostPort/],
        [{ prevResult: { cniVersion: '1.1.0', ips: [{ address: 'bad' }] } }, /prevResult\.ips\[0\]\.address/],
        [{ prevResult: { cniVersion: '1.1.0', interfaces: [], ips: [{ address: '10.0.0.1/32', interface: 3 }] } }, /interface/],
      ];
      for (const [extra, re] of cases) assertCniError(await base.call(add(), { ...conf, ...extra }), 7, '1.1.0', re);
      // A multicast MAC is invalid config (7), refused by the verb layer before anything is made.
      assertCniError(await base.call(add(), { ...conf, runtimeConfig: { mac: '01:00:5e:00:00:01' } }), 7, '1.1.0', /01:00:5e:00:00:01/);
      // An agentSocket with JSON escapes: the shim cannot read it and hands over to the Node plugin, which reaches the agent.
      const escaped = JSON.stringify(conf).replace(JSON.stringify(sock), JSON.stringify(sock).replace(/\//g, '\\/'));
      assert.ok(escaped.includes('\\/'));
      assertCniError(await base.call(add(), escaped.replace('"podnet-cni"', '"podnet-cni","mtu":10')), 7, '1.1.0', /mtu/);
      await base.assertUnchanged('the whole step (with `podnet ipam show`)');
    });

    await t.test('CHECK: without prevResult (7), unknown attachment (3), prevResult differing from the agent (103)', async () => {
      assertCniError(await base.call(attachEnv('CHECK', 'ctr-resident', res.path), conf), 7, '1.1.0', /prevResult/);
      assertCniError(await base.call(attachEnv('CHECK', 'ctr-unknown', tgt), { ...conf, prevResult: res.result }), 3);
      const other = { ...res.result, ips: [{ address: '10.200.99.99/32', gateway: '169.254.1.1', interface: 1 }] };
      assertCniError(await base.call(attachEnv('CHECK', 'ctr-resident', res.path), { ...conf, prevResult: other }), 103, '1.1.0', /10\.200\.99\.99|lacks/);
      assertEmptySuccess(await base.call(attachEnv('CHECK', 'ctr-resident', res.path), { ...conf, prevResult: res.result }));
      await base.assertUnchanged('the whole step (with `podnet ipam show`)');
    });

    await t.test('a damaged pod fails CHECK with 103 and DEL still cleans it', async () => {
      const { ns, path } = await node.newPodNs('damaged');
      const r = assertJsonSuccess(await cniCall(node, attachEnv('ADD', 'ctr-damaged', path), conf));
      const { v4 } = addressesOf(r);
      assert.equal((await node.execIn(ns, 'ip', ['addr', 'del', `${v4[0]}/32`, 'dev', 'eth0'])).code, 0);
      assertCniError(await cniCall(node, attachEnv('CHECK', 'ctr-damaged', path), { ...conf, prevResult: r }), 103, '1.1.0', new RegExp(String(v4[0]).replace(/\./g, '\\.')));
      assertEmptySuccess(await cniCall(node, attachEnv('DEL', 'ctr-damaged', path), { ...conf, prevResult: r }));
      await node.deletePodNs(ns);
      await base.assertUnchanged('damaged pod ADD+DEL');
      await base.assertUnchanged('the whole step (with `podnet ipam show`)');
    });

    // The resident pod was never disturbed.
    assert.ok(await pings(node, res.ns, '172.31.0.1'));
    assert.ok(await pings(node, res.ns, 'fd00:31::1'));
    assertEmptySuccess(await cniCall(node, attachEnv('DEL', 'ctr-resident', res.path), conf));
    assertEmptyNode(await snapshot(node));
  });
});


test('agent stopped: ADD/DEL/CHECK/GC 11 naming the socket, STATUS 50, VERSION works, pods keep working, nothing left', async () => {
  await withNode({}, async (node) => {
    const res = await resident(node);
    const { ns: tgtNs, path: tgt } = await node.newPodNs('target');
    const base = await Baseline.take(node, [res.ns, tgtNs]);
    const conf = podnetConf(node);
    const sock = node.agent.socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const ipamConf = { cniVersion: '1.1.0', name: 'n', type: 'ptp', ipam: { type: 'podnet-ipam', agentSocket: node.agent.socket } };

    const probe = async (how: string): Promise<void> => {
      const t0 = Date.now();
      const e = assertCniError(await cniCall(node, attachEnv('ADD', 'ctr-new', tgt), conf), 11, '1.1.0', new RegExp(sock));
      assert.equal(e.details, 'CNI_TRY_AGAIN_LATER');
      // The Node fallback's words (the shim's own last resort says "could not start"), with the connect error.
      assert.match(e.msg, new RegExp(`^podnet agent is not reachable at ${sock}: connect ${sock}: .*; is \`podnet agent\` running\\?$`));
      assert.ok(Date.now() - t0 < 10_000, `ADD failed fast (${Date.now() - t0} ms)`);
      assertCniError(await cniCall(node, attachEnv('ADD', 'ctr-new', tgt), { ...conf, cniVersion: '0.3.1' }), 11, '0.3.1', new RegExp(sock));
      assertCniError(await cniCall(node, attachEnv('ADD', 'ctr-new', tgt), ipamConf, PODNET_IPAM_BIN), 11, '1.1.0', new RegExp(sock));
      assertCniError(await cniCall(node, attachEnv('DEL', 'ctr-resident', res.path), conf), 11, '1.1.0', new RegExp(sock));
      assertCniError(await cniCall(node, attachEnv('CHECK', 'ctr-resident', res.path), { ...conf, prevResult: res.result }), 11, '1.1.0', new RegExp(sock));
      assertCniError(await cniCall(node, nodeEnv('GC'), { ...conf, 'cni.dev/valid-attachments': [] }), 11, '1.1.0', new RegExp(sock));
      const st = assertCniError(await cniCall(node, nodeEnv('STATUS'), conf), 50, '1.1.0', new RegExp(sock));
      assert.equal(st.details, 'CNI_PLUGIN_NOT_AVAILABLE');
      assertCniError(await cniCall(node, nodeEnv('STATUS'), ipamConf, PODNET_IPAM_BIN), 50);
      // The fallback still validates: config errors keep their codes, a version's missing verbs too.
      assertCniError(await cniCall(node, attachEnv('ADD', 'ctr-new', tgt), `{"agentSocket":"${node.agent.socket}",`), 6);
      assertCniError(await cniCall(node, attachEnv('ADD', 'ctr-new', tgt), { ...conf, bogus: 1 }), 2);
      assertCniError(await cniCall(node, attachEnv('ADD', 'ctr-$(id)', tgt), conf), 4);
      assertCniError(await cniCall(node, nodeEnv('STATUS'), { ...conf, cniVersion: '1.0.0' }), 1, '1.0.0');
      assert.deepEqual(assertJsonSuccess(await cniCall(node, { CNI_COMMAND: 'VERSION' }, conf)), { cniVersion: '1.1.0', supportedVersions: [...VERSIONS] });
      // Pods keep working while the agent is down.
      assert.ok(await pings(node, res.ns, '172.31.0.1'), `resident pings the node (${how})`);
      assert.ok(await pings(node, res.ns, 'fd00:31::1'), `resident pings the node over IPv6 (${how})`);
    };

    await node.agent.stop();
    await probe('agent stopped, socket removed');
    await startAgent(node);
    await base.assertUnchanged('calls while the agent was stopped');

    await node.agent.kill();
    assert.ok(existsSync(node.agent.socket), 'kill -9 leaves the socket file behind');
    await probe('agent killed, stale socket file');
    await startAgent(node);
    await base.assertUnchanged('calls while the agent was dead');

    // And everything works again.
    assertJsonSuccess(await cniCall(node, attachEnv('ADD', 'ctr-new', tgt), conf));
    assertEmptySuccess(await cniCall(node, attachEnv('DEL', 'ctr-new', tgt), conf));
    assertEmptySuccess(await cniCall(node, attachEnv('DEL', 'ctr-resident', res.path), conf));
    assertEmptyNode(await snapshot(node));
  });
});
