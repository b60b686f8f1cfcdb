/**
 * podnet-ipam as another plugin's IPAM with real runtimes: the reference `bridge` (podman 4.3)
 * and `macvlan` (containerd 1.6, `ctr run --cni`) with `"ipam": {"type": "podnet-ipam",
 * "agentSocket": ..., "pools": [...]}`, the pools created by the agent with a gateway
 * (`--pool NAME=CIDR,blockSize=28,gateway=IP`). The IPAM call comes from the bridge/macvlan
 * plugin, not from the runtime: podnet-ipam gets the calling plugin's whole config on stdin and
 * the runtime's CNI_* environment.
 *
 * Blocks of a pool with a gateway get no blackhole route from the agent (it would be more
 * specific than the bridge's connected /24 and cut the bridge off from its own node); the host
 * netns must reach the containers through the pool gateway.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REFERENCE_CNI_DIR } from '../src/lab/paths.js';
import { netnsExec, netnsExecOk, runOk, withContainerd, withPodmanEnv } from './harness/index.js';
import { describeCalls, withPluginDir } from './harness/cni-wrap.js';
import { ourLinksInRootNetns, pinged, podnetPlugins, withConfDir, withPodnetNode, type ConfList, type PodnetNode } from './harness/podnet-node.js';

const BR_POOL = 'br=10.88.0.0/24,blockSize=28,gateway=10.88.0.1';
const MV_POOL = 'mv=10.89.0.0/24,blockSize=28,gateway=10.89.0.1';

function poolUse(v: Awaited<ReturnType<PodnetNode['ipamShow']>>, name: string): { used: number; blocks: string[] } {
  const p = v.pools.find((x) => x.name === name);
  assert.ok(p, `pool ${name}`);
  return { used: p.used, blocks: p.blocks.map((b) => `${b.cidr}@${b.node}`) };
}

async function assertReleased(node: PodnetNode, what: string): Promise<void> {
  assert.deepEqual(await node.endpoints(), [], `${what}: endpoints left`);
  const v = await node.ipamShow();
  for (const p of v.pools) assert.equal(p.used, 0, `${what}: pool ${p.name} still has addresses in use`);
}

test('podman + bridge with podnet-ipam: pool prefix and gateway, containers reach each other, rm releases', { timeout: 300_000 }, async (t) => {
  await withPodnetNode({ prefix: 'pnrti', pools: [BR_POOL] }, async (node) => {
    for (const f of node.startFailures) t.diagnostic(`agent start failed once and was retried: ${f}`);
    const rootLinksBefore = await ourLinksInRootNetns();
    const list: ConfList = {
      cniVersion: '1.0.0',
      name: 'pnbr',
      plugins: [{ type: 'bridge', bridge: 'pnbr0', isGateway: true, ipMasq: false, ipam: { type: 'podnet-ipam', agentSocket: node.socket, pools: ['br'] } }],
    };
    await withConfDir([list], (confDir) =>
      withPluginDir(podnetPlugins(), { record: true }, (plugins) =>
        withPodmanEnv({ cniConfDir: confDir, cniPluginDirs: [plugins.dir, REFERENCE_CNI_DIR], hostNetns: node.host }, async (podman) => {
          const a = await podman.run({ name: 'ba', network: 'pnbr', cmd: ['sleep', '300'] });
          const b = await podman.run({ name: 'bb', network: 'pnbr', cmd: ['sleep', '300'] });
          t.diagnostic(`podman run (bridge + podnet-ipam): ${a.runMs.toFixed(0)}, ${b.runMs.toFixed(0)} ms`);
          const info = async (name: string) => {
            const n = ((await podman.inspect(name))['NetworkSettings'] as { Networks: Record<string, { IPAddress: string; IPPrefixLen: number; Gateway: string }> }).Networks['pnbr']!;
            return n;
          };
          const na = await info('ba');
          const nb = await info('bb');
          for (const n of [na, nb]) {
            assert.match(n.IPAddress, /^10\.88\.0\.\d+$/);
            assert.equal(n.IPPrefixLen, 24, 'the pool prefix, not /32');
            assert.equal(n.Gateway, '10.88.0.1', "the pool's gateway");
            assert.notEqual(n.IPAddress, '10.88.0.1', 'the gateway is never handed out');
          }
          assert.notEqual(na.IPAddress, nb.IPAddress);
          assert.match((await podman.exec(a, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'])).stdout, new RegExp(`inet ${na.IPAddress.replace(/\./g, '\\.')}/24 `));
          assert.match((await podman.exec(a, ['ip', 'route'])).stdout, /^default via 10\.88\.0\.1 dev eth0/m);
          // The bridge took the gateway address (isGateway).
          assert.match((await netnsExecOk(node.host, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'pnbr0'])).stdout, /inet 10\.88\.0\.1\/24 /);

          // The agent's books: two ipam-mode endpoints, pool use 2 in a block of this node.
          const eps = await node.endpoints();
          assert.deepEqual(
            eps.map((e) => ({ c: e.containerId, plugin: e.plugin, network: e.network, pod: e.pod, addrs: e.addresses, host: e.hostIfname })).sort((x, y) => x.c.localeCompare(y.c)),
            [
              { c: a.id, plugin: 'ipam', network: 'pnbr', pod: 'ba', addrs: [na.IPAddress], host: undefined },
              { c: b.id, plugin: 'ipam', network: 'pnbr', pod: 'bb', addrs: [nb.IPAddress], host: undefined },
            ].sort((x, y) => x.c.localeCompare(y.c)),
          );
          assert.deepEqual(poolUse(await node.ipamShow(), 'br'), { used: 2, blocks: ['10.88.0.0/28@node-1'] });
          assert.deepEqual(await node.podLinks(), [], 'podnet-ipam creates no podnet links');

          assert.ok(pinged(await podman.exec(a, ['ping', '-c1', '-W2', nb.IPAddress])), 'a -> b');
          assert.ok(pinged(await podman.exec(b, ['ping', '-c1', '-W2', na.IPAddress])), 'b -> a');

          // What the bridge plugin hands podnet-ipam.
          const calls = await plugins.calls();
          t.diagnostic(`podnet-ipam calls: ${describeCalls(calls).join(', ')}`);
          const add = calls.find((c) => c.env.CNI_CONTAINERID === a.id && c.env.CNI_COMMAND === 'ADD');
          assert.ok(add);
          assert.equal(add.plugin, 'podnet-ipam');
          assert.equal(add.env.CNI_ARGS, 'IgnoreUnknown=1;K8S_POD_NAME=ba');
          assert.deepEqual(Object.keys(add.config ?? {}).sort(), ['bridge', 'cniVersion', 'ipMasq', 'ipam', 'isGateway', 'name', 'type']);
          assert.deepEqual(JSON.parse(add.stdout), {
            cniVersion: '1.0.0',
            ips: [{ address: `${na.IPAddress}/24`, gateway: '10.88.0.1' }],
            routes: [{ dst: '0.0.0.0/0', gw: '10.88.0.1' }],
          });

          // Beyond the bridge: the gateway (the host netns) and the host itself.
          await t.test('host netns <-> bridge containers through the pool gateway', async () => {
            const routes = (await netnsExecOk(node.host, ['ip', '-4', 'route', 'show', 'table', 'main'])).stdout;
            const bh = routes.split('\n').filter((l) => l.startsWith('blackhole 10.88.'));
            t.diagnostic(`host routes for the pool: ${routes.split('\n').filter((l) => l.includes('10.88.')).join(' | ')}`);
            const got = await netnsExec(node.host, ['ip', 'route', 'get', na.IPAddress]);
            const route = `${got.stdout}${got.stderr}`.trim();
            assert.deepEqual(bh, [], `blackhole over the bridge subnet; ip route get ${na.IPAddress}: ${route}`);
            assert.ok(pinged(await podman.exec(a, ['ping', '-c1', '-W2', '10.88.0.1'])), 'container -> its gateway');
            assert.ok(pinged(await netnsExec(node.host, ['ping', '-c1', '-W2', na.IPAddress])), 'host -> container');
          });

          await podman.rm(a);
          assert.deepEqual((await node.endpoints()).map((e) => e.containerId), [b.id]);
          assert.equal(poolUse(await node.ipamShow(), 'br').used, 1);
          const del = (await plugins.calls()).find((c) => c.env.CNI_CONTAINERID === a.id && c.env.CNI_COMMAND === 'DEL');
          assert.equal(del?.exitCode, 0);
          await podman.rm(b);
          await assertReleased(node, 'after podman rm');
        }),
      ),
    );
    await assertReleased(node, 'after the podman environment closed');
    assert.deepEqual(await ourLinksInRootNetns(), rootLinksBefore);
  });
});

test('containerd + macvlan with podnet-ipam: pool prefix and gateway, containers reach each other, DEL (empty CNI_NETNS) releases', { timeout: 300_000 }, async (t) => {
  await withPodnetNode({ prefix: 'pnrtv', pools: [MV_POOL] }, async (node) => {
    for (const f of node.startFailures) t.diagnostic(`agent start failed once and was retried: ${f}`);
    // The macvlan master: one end of a veth pair in the host netns (the kernel here has no dummy).
    await runOk(['ip', '-n', node.host, 'link', 'add', 'pnmv0', 'type', 'veth', 'peer', 'name', 'pnmv1']);
    for (const dev of ['pnmv0', 'pnmv1']) await runOk(['ip', '-n', node.host, 'link', 'set', dev, 'up']);
    const masterIndex = /^(\d+):/.exec((await runOk(['ip', '-n', node.host, '-o', 'link', 'show', 'dev', 'pnmv0'])).stdout)?.[1];
    assert.ok(masterIndex);
    const list: ConfList = {
      cniVersion: '1.0.0',
      name: 'pnmv',
      plugins: [{ type: 'macvlan', master: 'pnmv0', mode: 'bridge', ipam: { type: 'podnet-ipam', agentSocket: node.socket, pools: ['mv'] } }],
    };
    await withConfDir([list], (confDir) =>
      withPluginDir(podnetPlugins(), { record: true }, (plugins) =>
        withContainerd({ cniConfDir: confDir, cniPluginDirs: [plugins.dir, REFERENCE_CNI_DIR], hostNetns: node.host }, async (ctr) => {
          const c1 = await ctr.run({ name: 'm1', cmd: ['sleep', '300'] });
          const c2 = await ctr.run({ name: 'm2', cmd: ['sleep', '300'] });
          t.diagnostic(`ctr run (macvlan + podnet-ipam): ${c1.runMs.toFixed(0)}, ${c2.runMs.toFixed(0)} ms`);
          const ip1 = await ctr.ip(c1);
          const ip2 = await ctr.ip(c2);
          for (const [c, ip] of [
            [c1, ip1],
            [c2, ip2],
          ] as const) {
            assert.match(ip, /^10\.89\.0\.\d+$/);
            assert.notEqual(ip, '10.89.0.1');
            // A macvlan's iflink is its lower device: the master in the host netns.
            assert.equal((await ctr.exec(c, ['cat', '/sys/class/net/eth0/iflink'])).stdout.trim(), masterIndex, 'eth0 is a macvlan on pnmv0');
            assert.match((await ctr.exec(c, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'])).stdout, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/24 `));
            assert.match((await ctr.exec(c, ['ip', 'route'])).stdout, /^default via 10\.89\.0\.1 dev eth0/m);
          }
          assert.notEqual(ip1, ip2);
          assert.ok(pinged(await ctr.exec(c1, ['ping', '-c1', '-W2', ip2])), 'm1 -> m2');
          assert.ok(pinged(await ctr.exec(c2, ['ping', '-c1', '-W2', ip1])), 'm2 -> m1');
          const eps = await node.endpoints();
          assert.deepEqual(eps.map((e) => `${e.containerId} ${e.plugin} ${e.network} ${e.addresses.join(',')}`).sort(), [
            `${ctr.namespace}-m1 ipam pnmv ${ip1}`,
            `${ctr.namespace}-m2 ipam pnmv ${ip2}`,
          ]);
          assert.deepEqual(poolUse(await node.ipamShow(), 'mv'), { used: 2, blocks: ['10.89.0.0/28@node-1'] });

          assert.equal((await ctr.rm(c1)).code, 137);
          const del = (await plugins.calls()).filter((c) => c.env.CNI_COMMAND === 'DEL');
          assert.equal(del.length, 1);
          assert.equal(del[0]!.plugin, 'podnet-ipam');
          assert.equal(del[0]!.env.CNI_NETNS, '', 'ctr DEL has no netns; macvlan still calls its IPAM DEL');
          assert.equal(del[0]!.exitCode, 0);
          assert.deepEqual((await node.endpoints()).map((e) => e.addresses[0]), [ip2]);
          assert.equal(poolUse(await node.ipamShow(), 'mv').used, 1);
          assert.equal((await ctr.rm(c2)).code, 137);
          await assertReleased(node, 'after ctr rm');
        }),
      ),
    );
    await assertReleased(node, 'after the containerd environment closed');
  });
});
