/**
 * Two agents on one datastore with fake dataplanes (no root): registration, tunnel addresses,
 * routes to each other's blocks through the cluster reconciler, node removal and block reclaim.
 */
import { FakePolicyDataplane } from '../dataplane/fake/policy-dataplane.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callCni, callRpc } from './client.js';
import { runAgent, type Agent } from './agent.js';
import { DEFAULT_CONFIG, DEFAULT_FLOWS, type AgentConfig } from './config.js';
import { createLogger } from '../common/log.js';
import { MemoryDatastore } from '../datastore/memory.js';
import { FakeClusterDataplane } from '../dataplane/fake/cluster-dataplane.js';
import { FakePodDataplane } from '../dataplane/fake/pod-dataplane.js';
import { reclaimDeadNodesBlocks } from './reclaim.js';
import type { NodeView } from './views.js';
import { aliveKey } from '../model/node.js';

const waitFor = async (what: string, fn: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
};

test('two vxlan agents route to each other and forget a removed node', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pn-mn-'));
  const store = new MemoryDatastore();
  const agents: Agent[] = [];
  const dps: FakeClusterDataplane[] = [];
  try {
    for (const i of [1, 2]) {
      const config: AgentConfig = {
        ...DEFAULT_CONFIG,
        nodeName: `n${i}`,
        socket: join(dir, `n${i}.sock`),
        pools: [
          { name: 'v4', cidr: '10.9.0.0/16', blockSize: 26 },
          { name: 'v6', cidr: 'fd00:9::/64', blockSize: 122 },
        ],
        backend: 'vxlan',
        // Fakes for the kernel: no flow readers (they would read the host's namespace) and no HTTP port.
        flows: { ...DEFAULT_FLOWS, enabled: false, capacity: 16 },
        httpListen: '',
      };
      const cdp = new FakeClusterDataplane();
      dps.push(cdp);
      agents.push(
        await runAgent(config, {
          version: 'test',
          datastore: store,
          dataplane: new FakePodDataplane(),
          clusterDataplane: cdp,
          policyDataplane: new FakePolicyDataplane(),
          underlay: { dev: 'eth0', index: 2, mtu: 1500, v4: `172.30.1.1${i}/24`, v6: `fd00:30:1::1${i}/64` },
          log: createLogger('error'),
        }),
      );
    }
    const nodes = await callRpc<NodeView[]>(join(dir, 'n2.sock'), 'nodes');
    assert.deepEqual(nodes.map((n) => [n.name, n.alive]).sort(), [['n1', true], ['n2', true]]);
    assert.ok(nodes.every((n) => n.tunnelV4 && n.tunnelV6), 'vxlan nodes hold tunnel addresses');

    // A pod on n1 lives in n1's block; n2 must route that block via n1's tunnel address.
    const conf = JSON.stringify({ cniVersion: '1.1.0', name: 'podnet', type: 'podnet-cni', agentSocket: join(dir, 'n1.sock') });
    const add = await callCni(join(dir, 'n1.sock'), { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/x' }, conf);
    assert.equal(add.exitCode, 0, add.stdout);
    const podIp = (JSON.parse(add.stdout) as { ips: { address: string }[] }).ips[0]?.address.split('/')[0] ?? '';
    const n1 = nodes.find((n) => n.name === 'n1') as NodeView;
    const viaN1 = () => dps[1]?.observed().routes.filter((r) => r.kind === 'via' && r.via === n1.tunnelV4) ?? [];
    await waitFor('n2 routes to n1', () => viaN1().some((r) => r.dst.startsWith(podIp.split('.').slice(0, 3).join('.'))));
    const dev = dps[1]?.observed().devices.find((d) => d.name === 'podnet.vxlan');
    assert.ok(dev?.fdb.some((f) => f.dst === '172.30.1.11'), 'n2 has an FDB entry for n1');
    const st = await callRpc<{ podMtu: number; cluster: { problems: string[] } }>(join(dir, 'n2.sock'), 'status');
    assert.equal(st.podMtu, 1450);
    assert.deepEqual(st.cluster.problems, []);

    // n1 stops; removal is refused while its lease lives, then forced; n2 forgets it.
    await agents[0]?.close();
    await assert.rejects(callRpc(join(dir, 'n2.sock'), 'node.remove', { name: 'n1' }), /alive/);
    const removed = await callRpc<{ blocksDeleted: string[]; addressesReleased: number }>(join(dir, 'n2.sock'), 'node.remove', { name: 'n1', force: true });
    assert.ok(removed.blocksDeleted.length >= 2 && removed.addressesReleased >= 2);
    await waitFor('n2 drops routes to n1', () => viaN1().length === 0 && !(dps[1]?.observed().devices.find((d) => d.name === 'podnet.vxlan')?.fdb.some((f) => f.dst === '172.30.1.11') ?? false));

    // Reclaim: an empty block of a node without liveness goes back; a block with addresses stays.
    await store.delete(aliveKey('n2'));
    const before = (await store.list('/podnet/ipam/v1/blocks/')).entries.length;
    const reclaimed = await reclaimDeadNodesBlocks(store);
    assert.equal(reclaimed.length, 0, 'n2 blocks hold its tunnel addresses: kept');
    assert.equal((await store.list('/podnet/ipam/v1/blocks/')).entries.length, before);
  } finally {
    for (const a of agents) await a.close().catch(() => undefined);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
