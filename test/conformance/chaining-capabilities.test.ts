/**
 * Conformance, chaining and runtimeConfig through the built executables:
 *  - podnet-cni after another plugin keeps the prevResult (its interfaces first, its ips' interface
 *    indices shifted), and a plugin chained after podnet-cni (the reference `tuning`) gets
 *    podnet's result as prevResult and hands it on; CHECK and DEL run through the chain;
 *  - podnet-ipam as the `ipam.type` of the reference `ptp` plugin, delegated exactly as libcni's
 *    ipam.ExecAdd does it (ptp runs in the node namespace);
 *  - the capabilities a runtime injects as runtimeConfig, in containerd's and podman's spellings:
 *    ips (static addresses honoured), mac (set on the pod interface), dns (echoed in the result),
 *    portMappings, aliases, bandwidth (accepted), and the config's mtu.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../src/lab/cni-runtime.js';
import { run } from '../../src/lab/exec.js';
import { withNode, type NodeFixture } from '../../src/lab/node-fixture.js';
import { cniCall, endpointsOf, podLinksIn, snapshot } from '../../src/lab/node-state.js';
import { PODNET_CNI_DIR, REFERENCE_CNI_DIR } from '../../src/lab/paths.js';
import { addressesOf, assertEmptyNode, assertEmptySuccess, assertJsonSuccess, attachEnv, linkIn, pings, podnetConf } from './support.js';

const ALL_CAPS = { ips: true, mac: true, dns: true, portMappings: true, aliases: true, bandwidth: true };

test('podnet-cni keeps a prevResult from an earlier plugin (0.4.0 and 1.x), and hands its result to a chained plugin', async () => {
  await withNode({}, async (node) => {
    // An earlier plugin's result, as libcni passes it (in the config's version).
    for (const v of ['0.4.0', '1.0.0', '1.1.0']) {
      const legacy = v === '0.4.0';
      const prev: JsonObject = {
        cniVersion: v,
        interfaces: [{ name: 'dummy0', mac: '02:00:00:00:00:01' }, { name: 'net9', mac: '02:00:00:00:00:02', sandbox: '/run/netns/x' }],
        ips: [{ ...(legacy ? { version: '4' } : {}), address: '192.0.2.5/24', gateway: '192.0.2.1', interface: 1 }],
        routes: [{ dst: '198.51.100.0/24', gw: '192.0.2.1' }],
        dns: { nameservers: ['192.0.2.53'] },
      };
      const { ns, path } = await node.newPodNs(`prev${v.replace(/\./g, '')}`);
      const id = `ctr-prev-${v.replace(/\./g, '')}`;
      const res = assertJsonSuccess(await cniCall(node, attachEnv('ADD', id, path), podnetConf(node, v, { prevResult: prev })));
      assert.equal(res.cniVersion, v);
      const ifs = res.interfaces as JsonObject[];
      assert.deepEqual(ifs.slice(0, 2), prev.interfaces, 'the earlier interfaces come first, unchanged');
      assert.equal(ifs.length, 4);
      assert.equal(ifs[3]?.name, 'eth0');
      const ips = res.ips as JsonObject[];
      assert.deepEqual(ips[0], (prev.ips as JsonObject[])[0], 'the earlier ips are kept');
      assert.equal(ips.length, 3);
      for (const ip of ips.slice(1)) assert.equal(ip.interface, 3, "podnet's ips point at its pod interface after the shift");
      assert.deepEqual((res.routes as JsonObject[])[0], (prev.routes as JsonObject[])[0]);
      assert.deepEqual(res.dns, prev.dns, 'the earlier dns is kept when podnet has none');
      assert.ok(await pings(node, ns, '172.31.0.1'));
      // CHECK with the merged result, then DEL.
      assertEmptySuccess(await cniCall(node, attachEnv('CHECK', id, path), podnetConf(node, v, { prevResult: res })));
      assertEmptySuccess(await cniCall(node, attachEnv('DEL', id, path), podnetConf(node, v, { prevResult: res })));
    }
    assertEmptyNode(await snapshot(node));

    // A real chain through the runtime: podnet-cni, then the reference tuning plugin (which needs
    // prevResult, applies a sysctl inside the pod and returns prevResult).
    const list = node.conflist({ cniVersion: '1.0.0', chain: [{ type: 'tuning', sysctl: { 'net.core.somaxconn': '512' } }] });
    const { ns, path } = await node.newPodNs('chain');
    const att = node.attachment('ctr-chain', path, 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=chain');
    const res = await node.runtime.add(list, att);
    const eps = await endpointsOf(node);
    assert.equal(eps.length, 1);
    assert.deepEqual(addressesOf(res), { v4: eps[0]!.addresses.filter((a) => a.includes('.')), v6: eps[0]!.addresses.filter((a) => a.includes(':')) }, "the chain's final result is podnet's");
    assert.equal((res.interfaces as JsonObject[])[1]?.mac, (await linkIn(node, ns, 'eth0'))?.mac);
    const sc = await node.execIn(ns, 'sysctl', ['-n', 'net.core.somaxconn']);
    assert.equal(sc.stdout.trim(), '512', 'tuning ran in the pod with podnet as prevResult');
    await node.runtime.check(list, att, res);
    assert.ok(await pings(node, ns, 'fd00:31::1'));
    await node.runtime.del(list, att, res);
    assertEmptyNode(await snapshot(node));
  });
});

/** Runs a reference plugin inside the node namespace (it creates host-side links there, never in the root namespace). */
async function refPlugin(node: NodeFixture, type: string, env: Record<string, string>, conf: JsonObject) {
  const penv: NodeJS.ProcessEnv = { ...process.env, ...env, CNI_PATH: `${PODNET_CNI_DIR}:${REFERENCE_CNI_DIR}` };
  delete penv.NODE_EXTRA_CA_CERTS;
  const r = await run('ip', ['netns', 'exec', node.nodeNs, `${REFERENCE_CNI_DIR}/${type}`], { input: JSON.stringify(conf), env: penv, timeoutMs: 60_000 });
  return { ...r, json: r.stdout.trim() ? (JSON.parse(r.stdout) as JsonObject) : undefined };
}

test('podnet-ipam delegated by the reference ptp plugin: addresses with the pool prefix and gateway, released on DEL', async () => {
  await withNode({ pools: ['gw4=10.230.0.0/24,blockSize=26,gateway=10.230.0.1', 'gw6=fd00:230::/64,blockSize=122,gateway=fd00:230::1'] }, async (node) => {
    const conf = { cniVersion: '1.0.0', name: 'ptpnet', type: 'ptp', ipMasq: false, ipam: { type: 'podnet-ipam', agentSocket: node.agent.socket } };
    const { ns, path } = await node.newPodNs('ptp');
    const env = attachEnv('ADD', 'ctr-ptp', path);
    const add = await refPlugin(node, 'ptp', env, conf);
    assert.equal(add.code, 0, `ptp ADD: ${add.stdout}${add.stderr}`);
    const ips = (add.json?.ips as JsonObject[]).map((i) => String(i.address)).sort();
    assert.equal(ips.length, 2);
    assert.match(ips[0] as string, /^10\.230\.0\.\d+\/24$/);
    assert.match(ips[1] as string, /^fd00:230::[0-9a-f]+\/64$/);
    const eps = await endpointsOf(node);
    assert.equal(eps.length, 1);
    assert.equal(eps[0]?.plugin, 'ipam');
    assert.equal(eps[0]?.network, 'ptpnet');
    assert.deepEqual([...eps[0]!.addresses].sort(), ips.map((a) => a.split('/')[0]).sort());
    assert.deepEqual(await podLinksIn(node.nodeNs), [], 'podnet made no link: ptp owns the plumbing');
    const pod = await linkIn(node, ns, 'eth0');
    assert.deepEqual(pod?.addresses, ips, 'ptp applied the addresses podnet-ipam gave');
    // ptp routes the pod via its gateway; the node reaches the pod over ptp's host veth.
    const v4 = (ips[0] as string).split('/')[0] as string;
    const r = await node.execIn(node.nodeNs, 'ping', ['-c1', '-W2', v4]);
    assert.equal(r.code, 0, `node -> ptp pod ${v4}: ${r.stdout}${r.stderr}`);
    const del = await refPlugin(node, 'ptp', { ...env, CNI_COMMAND: 'DEL' }, { ...conf, prevResult: add.json });
    assert.equal(del.code, 0, `ptp DEL: ${del.stdout}${del.stderr}`);
    assertEmptyNode(await snapshot(node));
  });
});

test('runtimeConfig capabilities: static ips, mac, dns, containerd-style and podman-style spellings, mtu', async () => {
  await withNode({}, async (node) => {
    const list = node.conflist({ plugin: { capabilities: ALL_CAPS } });

    // containerd (go-cni): capitalised portMappings / bandwidth / dns, HostIP "", zero bandwidth.
    {
      const { ns, path } = await node.newPodNs('ctrd');
      const att = node.attachment('ctr-ctrd', path, 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=ctrd;K8S_POD_INFRA_CONTAINER_ID=ctr-ctrd;IgnoreUnknown=1', {
        ips: ['10.200.50.50/16', 'fd00:200::5050/64'],
        mac: '02:11:22:33:44:55',
        portMappings: [{ HostPort: 8080, ContainerPort: 80, Protocol: 'tcp', HostIP: '' }, { HostPort: 5353, ContainerPort: 53, Protocol: 'UDP', HostIP: '172.31.0.1' }],
        bandwidth: { IngressRate: 0, IngressBurst: 0, EgressRate: 0, EgressBurst: 0 },
        dns: { Servers: ['10.96.0.10', 'fd00:96::a'], Searches: ['default.svc.cluster.local', 'svc.cluster.local'], Options: ['ndots:5'] },
      });
      const res = await node.runtime.add(list, att);
      assert.deepEqual(addressesOf(res), { v4: ['10.200.50.50'], v6: ['fd00:200::5050'] }, 'the static addresses are honoured');
      assert.deepEqual((res.ips as JsonObject[]).map((i) => i.address), ['10.200.50.50/32', 'fd00:200::5050/128']);
      const pod = await linkIn(node, ns, 'eth0');
      assert.equal(pod?.mac, '02:11:22:33:44:55', 'the pod interface has the requested MAC (ip link)');
      assert.equal((res.interfaces as JsonObject[])[1]?.mac, '02:11:22:33:44:55');
      assert.deepEqual(pod?.addresses, ['10.200.50.50/32', 'fd00:200::5050/128']);
      assert.deepEqual(res.dns, { nameservers: ['10.96.0.10', 'fd00:96::a'], search: ['default.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] });
      assert.ok(await pings(node, ns, '172.31.0.1'));
      assert.ok(await pings(node, node.nodeNs, '10.200.50.50'));
      assert.ok(await pings(node, node.nodeNs, 'fd00:200::5050'));
      await node.runtime.check(list, att, res);
      await node.runtime.del(list, att, res);
    }

    // podman: lower-case keys, ips without prefix, hostIP omitted, aliases as a map per network.
    {
      const { ns, path } = await node.newPodNs('podman');
      const att = node.attachment('ctr-podman', path, 'IgnoreUnknown=1;K8S_POD_NAME=podman', {
        ips: ['10.200.60.60'],
        mac: '02:aa:bb:cc:dd:ee',
        portMappings: [{ hostPort: 8081, containerPort: 8080, protocol: 'tcp' }, { hostPort: 9090, containerPort: 9090, protocol: 'sctp', hostIP: '::1' }],
        aliases: { podnet: ['web', 'web.example'], othernet: ['x'] },
        dns: { servers: ['1.1.1.1'], searches: ['example.com'] },
      });
      const res = await node.runtime.add(list, att);
      // Only the IPv4 address was requested statically; IPv6 comes from the pool.
      const { v4, v6 } = addressesOf(res);
      assert.deepEqual(v4, ['10.200.60.60']);
      assert.equal(v6.length, 1);
      assert.equal((await linkIn(node, ns, 'eth0'))?.mac, '02:aa:bb:cc:dd:ee');
      assert.deepEqual(res.dns, { nameservers: ['1.1.1.1'], search: ['example.com'] });
      assert.ok(await pings(node, ns, 'fd00:31::1'));
      await node.runtime.del(list, att, res);
    }

    // CNI_ARGS IP= and MAC= (the older way), the config's dns, the config's mtu.
    {
      const { ns, path } = await node.newPodNs('args');
      const conf = podnetConf(node, '1.1.0', { mtu: 1400, dns: { nameservers: ['10.0.0.53'], domain: 'cluster.local', search: ['a.b'], options: ['rotate'] } });
      const res = assertJsonSuccess(await cniCall(node, attachEnv('ADD', 'ctr-args', path, { CNI_ARGS: 'IP=10.200.70.70;IP=fd00:200::7070;MAC=02:01:02:03:04:05' }), conf));
      assert.deepEqual(addressesOf(res), { v4: ['10.200.70.70'], v6: ['fd00:200::7070'] });
      const pod = await linkIn(node, ns, 'eth0');
      assert.equal(pod?.mac, '02:01:02:03:04:05');
      assert.equal(pod?.mtu, 1400);
      assert.equal((res.interfaces as JsonObject[])[1]?.mtu, 1400);
      const hostMtu = await linkIn(node, node.nodeNs, String((res.interfaces as JsonObject[])[0]?.name));
      assert.equal(hostMtu?.mtu, 1400, 'the host veth has the same MTU');
      assert.deepEqual(res.dns, { nameservers: ['10.0.0.53'], domain: 'cluster.local', search: ['a.b'], options: ['rotate'] });
      // runtimeConfig.dns wins over the config's dns.
      const { path: p2 } = await node.newPodNs('args2');
      const res2 = assertJsonSuccess(await cniCall(node, attachEnv('ADD', 'ctr-args2', p2), { ...conf, runtimeConfig: { dns: { servers: ['10.96.0.10'] } } }));
      assert.deepEqual(res2.dns, { nameservers: ['10.96.0.10'] });
      assert.ok(await pings(node, ns, '172.31.0.1'));
      assertEmptySuccess(await cniCall(node, attachEnv('DEL', 'ctr-args', path), conf));
      assertEmptySuccess(await cniCall(node, attachEnv('DEL', 'ctr-args2', p2), conf));
    }
    assertEmptyNode(await snapshot(node));
  });
});
