/**
 * podnet with real container runtimes: podman 4.3 (CNI backend) and containerd 1.6
 * (`ctr run --cni`), each contained by test/harness in a "host" network namespace where a real
 * `podnet agent` runs (test/harness/podnet-node.ts). The runtime calls the C shim (through a
 * recording wrapper, test/harness/cni-wrap.ts, that keeps the CNI_* environment and stdin of
 * every call); the shim reaches the agent over the socket in /tmp and hands it the pod netns as
 * an fd, which the agent opens as /proc/<SO_PEERCRED pid>/fd/<n>, across the box's mount and PID
 * namespaces.
 *
 * What the runtimes send (asserted below, see also docs/RUNTIMES.md):
 *  - podman: VERSION before every ADD/DEL (CNI_NETNS=CNI_IFNAME=CNI_PATH="dummy",
 *    stdin {"cniVersion":"1.0.0"}); ADD/DEL with CNI_ARGS "IgnoreUnknown=1;K8S_POD_NAME=<name>"
 *    plus ";MAC=<mac>" for --mac-address and ";IP=<ip>" for a single static IP; two static IPs
 *    (--ip and --ip6) travel as runtimeConfig.ips instead. The plugin object reaches the plugin
 *    as written plus name, cniVersion, runtimeConfig (only when non-empty) and, on DEL,
 *    prevResult from libcni's cache. libcni 1.1.2 rejects a 1.1.0 result, so podnet networks
 *    for podman must say cniVersion 1.0.0 (or lower).
 *  - ctr: CNI_ARGS "", CNI_CONTAINERID "<namespace>-<id>", CNI_NETNS "/proc/<pid>/ns/net" on
 *    ADD and "" on DEL (sent once, after the task is gone), prevResult on DEL.
 *
 * Needs root, podman, containerd, runc, catatonit, busybox-static (scripts/setup) and a build
 * (npx tsc -p . && sh scripts/build-shim).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PODNET_CNI_DIR, REFERENCE_CNI_DIR } from '../src/lab/paths.js';
import { hostIfnameOf } from '../src/agent/naming.js';
import { HarnessError, netnsExec, withContainerd, withPodmanEnv, type PodmanEnv } from './harness/index.js';
import { describeCalls, withPluginDir, type CniCall } from './harness/cni-wrap.js';
import {
  HOST_V4,
  HOST_V6,
  median,
  ourLinksInRootNetns,
  pinged,
  podnetPlugins,
  withConfDir,
  withPodnetNode,
  type ConfList,
  type PodnetNode,
} from './harness/podnet-node.js';

const POOLS = ['v4=10.211.0.0/16,blockSize=26', 'v6=fd00:211::/56,blockSize=122'];
const V4_RE = /^10\.211\.\d+\.\d+$/;
const V6_RE = /^fd00:211::[0-9a-f:]+$/;

function podnetList(name: string, socket: string, cniVersion = '1.0.0'): ConfList {
  return { cniVersion, name, plugins: [{ type: 'podnet-cni', agentSocket: socket, capabilities: { ips: true, mac: true, dns: true } }] };
}

interface PodmanAddrs {
  readonly v4: string;
  readonly v6: string;
  readonly mac: string;
}

async function podmanAddrs(podman: PodmanEnv, name: string, network: string): Promise<PodmanAddrs> {
  const ns = (await podman.inspect(name))['NetworkSettings'] as {
    Networks: Record<string, { IPAddress: string; IPPrefixLen: number; Gateway: string; GlobalIPv6Address: string; IPv6Gateway: string; MacAddress: string }>;
  };
  const n = ns.Networks[network];
  assert.ok(n, `${name} is on ${network}`);
  // podnet's routed design, as podman reports it from the CNI result.
  assert.equal(n.IPPrefixLen, 32);
  assert.equal(n.Gateway, '169.254.1.1');
  assert.equal(n.IPv6Gateway, 'fe80::ecee:eeff:feee:eeee');
  return { v4: n.IPAddress, v6: n.GlobalIPv6Address, mac: n.MacAddress };
}

/** Asserts the state after every attachment is gone: no endpoints, no pod links, no routes. */
async function assertReleased(node: PodnetNode, what: string): Promise<void> {
  assert.deepEqual(await node.endpoints(), [], `${what}: endpoints left`);
  assert.deepEqual(await node.podLinks(), [], `${what}: pod links left`);
  assert.deepEqual(await node.podnetRoutes(), [], `${what}: podnet routes left`);
  const used = (await node.ipamShow()).pools.reduce((n, p) => n + p.used, 0);
  assert.equal(used, 0, `${what}: addresses still in use`);
}

/** Keys of an object, sorted. */
const keys = (o: Record<string, unknown> | undefined): string[] => Object.keys(o ?? {}).sort();

function callsFor(calls: readonly CniCall[], containerId: string, command: string): CniCall[] {
  return calls.filter((c) => c.env.CNI_CONTAINERID === containerId && c.env.CNI_COMMAND === command);
}

test('podman + podnet-cni: podnet addresses, pod<->pod and pod<->host over IPv4 and IPv6, static IP and MAC, rm releases', { timeout: 300_000 }, async (t) => {
  await withPodnetNode({ prefix: 'pnrtp', pools: POOLS }, async (node) => {
    for (const f of node.startFailures) t.diagnostic(`agent start failed once and was retried: ${f}`);
    const rootLinksBefore = await ourLinksInRootNetns();
    const lists = [
      podnetList('podnet', node.socket),
      podnetList('podnet11', node.socket, '1.1.0'),
      // A socket no agent listens on.
      podnetList('podnetdown', join(node.dir, 'absent', 'agent.sock')),
    ];
    await withConfDir(lists, (confDir) =>
      withPluginDir(podnetPlugins(), { record: true }, (plugins) =>
        withPodmanEnv({ cniConfDir: confDir, cniPluginDirs: [plugins.dir, REFERENCE_CNI_DIR], hostNetns: node.host }, async (podman) => {
          // a: addresses from the pools; b: a single static IPv4 (podman: CNI_ARGS IP=) and a
          // MAC (CNI_ARGS MAC=); c: static IPv4 + IPv6 (podman: runtimeConfig.ips).
          const a = await podman.run({ name: 'pa', network: 'podnet', cmd: ['sleep', '300'] });
          const b = await podman.run({ name: 'pb', network: 'podnet', cmd: ['sleep', '300'], options: ['--ip', '10.211.7.7', '--mac-address', '02:00:00:00:07:07'] });
          const c = await podman.run({ name: 'pc', network: 'podnet', cmd: ['sleep', '300'], options: ['--ip', '10.211.8.8', '--ip6', 'fd00:211::8:8'] });
          t.diagnostic(`podman run with podnet: ${[a, b, c].map((x) => x.runMs.toFixed(0)).join(', ')} ms`);
          const addrs = {
            pa: await podmanAddrs(podman, 'pa', 'podnet'),
            pb: await podmanAddrs(podman, 'pb', 'podnet'),
            pc: await podmanAddrs(podman, 'pc', 'podnet'),
          };
          for (const [n, x] of Object.entries(addrs)) {
            assert.match(x.v4, V4_RE, n);
            assert.match(x.v6, V6_RE, n);
          }
          assert.equal(addrs.pb.v4, '10.211.7.7');
          assert.equal(addrs.pb.mac, '02:00:00:00:07:07');
          assert.equal(addrs.pc.v4, '10.211.8.8');
          assert.equal(addrs.pc.v6, 'fd00:211::8:8');
          assert.equal(new Set(Object.values(addrs).flatMap((x) => [x.v4, x.v6])).size, 6, 'addresses are distinct');

          // The agent's view (`podnet endpoints -o json`) is the runtime's view.
          const eps = await node.endpoints();
          assert.equal(eps.length, 3);
          for (const ctr of [a, b, c]) {
            const ep = eps.find((e) => e.containerId === ctr.id);
            assert.ok(ep, `endpoint of ${ctr.name}`);
            const x = addrs[ctr.name as keyof typeof addrs];
            assert.deepEqual([...ep.addresses].sort(), [x.v4, x.v6].sort());
            assert.equal(ep.pod, ctr.name, 'K8S_POD_NAME from podman names the pod');
            assert.equal(ep.namespace, 'default', 'podman passes no K8S_POD_NAMESPACE: the pod is default/<name> for policy');
            assert.equal(ep.network, 'podnet');
            assert.equal(ep.plugin, 'cni');
            assert.equal(ep.ifname, 'eth0');
            assert.equal(ep.hostIfname, hostIfnameOf(ctr.id, 'eth0'));
            assert.equal(ep.linkPresent, true);
            // Inside the container: exactly those addresses on eth0, default routes via the gateways.
            const inside = (await podman.exec(ctr, ['ip', 'addr', 'show', 'dev', 'eth0'])).stdout;
            assert.match(inside, new RegExp(`inet ${x.v4.replace(/\./g, '\\.')}/32 `));
            assert.match(inside, new RegExp(`inet6 ${x.v6}/128 `));
            assert.match(inside, new RegExp(`link/ether ${x.mac} `));
            assert.match((await podman.exec(ctr, ['ip', 'route'])).stdout, /^default via 169\.254\.1\.1 dev eth0/m);
            assert.match((await podman.exec(ctr, ['ip', '-6', 'route'])).stdout, /^default via fe80::ecee:eeff:feee:eeee dev eth0/m);
          }
          assert.deepEqual(await node.podLinks(), eps.map((e) => e.hostIfname!).sort());
          assert.equal((await node.podnetRoutes()).length, 6, 'one host route per pod address (proto 147)');

          // Connectivity: pod <-> pod both families, pod -> host netns, host netns -> pod.
          for (const [from, to] of [
            [a, addrs.pb.v4],
            [a, addrs.pb.v6],
            [b, addrs.pc.v4],
            [c, addrs.pa.v6],
            [a, HOST_V4],
            [c, HOST_V6],
          ] as const) {
            assert.ok(pinged(await podman.exec(from, ['ping', '-c1', '-W2', to])), `${from.name} -> ${to}`);
          }
          for (const to of [addrs.pa.v4, addrs.pb.v6, addrs.pc.v4]) {
            assert.ok(pinged(await netnsExec(node.host, ['ping', '-c1', '-W2', to])), `host -> ${to}`);
          }
          // Failure is observable: an unassigned pool address does not answer.
          assert.equal((await podman.tryExec(a, ['ping', '-c1', '-W1', '10.211.9.9'])).code, 1);

          // What podman handed the plugin.
          const calls = await plugins.calls();
          t.diagnostic(`podnet-cni calls so far: ${describeCalls(calls).join(', ')}`);
          const versions = calls.filter((x) => x.env.CNI_COMMAND === 'VERSION');
          assert.ok(versions.length >= 3, 'podman probes VERSION');
          for (const v of versions) {
            assert.deepEqual(v.env, { CNI_COMMAND: 'VERSION', CNI_CONTAINERID: '', CNI_NETNS: 'dummy', CNI_IFNAME: 'dummy', CNI_ARGS: '', CNI_PATH: 'dummy' });
            assert.deepEqual(v.config, { cniVersion: '1.0.0' });
            assert.equal(v.exitCode, 0);
          }
          const addOf = (ctr: { id: string }): CniCall => {
            const adds = callsFor(calls, ctr.id, 'ADD');
            assert.equal(adds.length, 1);
            return adds[0]!;
          };
          for (const [ctr, args, rc] of [
            [a, 'IgnoreUnknown=1;K8S_POD_NAME=pa', undefined],
            [b, 'IgnoreUnknown=1;K8S_POD_NAME=pb;MAC=02:00:00:00:07:07;IP=10.211.7.7', undefined],
            [c, 'IgnoreUnknown=1;K8S_POD_NAME=pc', { ips: ['10.211.8.8', 'fd00:211::8:8'] }],
          ] as const) {
            const add = addOf(ctr);
            assert.equal(add.exitCode, 0);
            assert.equal(add.env.CNI_ARGS, args);
            assert.equal(add.env.CNI_IFNAME, 'eth0');
            assert.match(add.env.CNI_NETNS ?? '', /^\/run\/netns\/netns-[0-9a-f-]{36}$/);
            assert.equal(add.env.CNI_PATH, `${plugins.dir}:${REFERENCE_CNI_DIR}`);
            assert.deepEqual(keys(add.config), ['agentSocket', 'capabilities', 'cniVersion', 'name', ...(rc ? ['runtimeConfig'] : []), 'type']);
            assert.deepEqual(add.config?.['runtimeConfig'], rc);
            assert.deepEqual(add.config?.['capabilities'], { ips: true, mac: true, dns: true });
            // podman passes its whole environment on; the runtime's netns path is private to its
            // mount namespace, which is why the shim sends the agent an fd, not the path.
            assert.ok(add.envNames.includes('PATH') && add.envNames.includes('CONTAINERS_CONF'));
            assert.equal(existsSync(add.env.CNI_NETNS!), false, 'podman netns paths are invisible outside its mount namespace');
          }

          // DEL on rm releases address, link and routes of that container only.
          await podman.rm(b);
          const del = callsFor(await plugins.calls(), b.id, 'DEL');
          assert.equal(del.length, 1);
          assert.equal(del[0]!.exitCode, 0);
          assert.equal(del[0]!.env.CNI_ARGS, 'IgnoreUnknown=1;K8S_POD_NAME=pb;MAC=02:00:00:00:07:07;IP=10.211.7.7');
          assert.match(del[0]!.env.CNI_NETNS ?? '', /^\/run\/netns\/netns-/, 'podman DEL still names the netns');
          assert.deepEqual(keys(del[0]!.config), ['agentSocket', 'capabilities', 'cniVersion', 'name', 'prevResult', 'type']);
          const after = await node.endpoints();
          assert.deepEqual(after.map((e) => e.containerId).sort(), [a.id, c.id].sort());
          assert.equal((await node.podLinks()).length, 2);
          assert.equal((await node.podnetRoutes()).length, 4);
          // The released static address can be taken again at once.
          const b2 = await podman.run({ name: 'pb2', network: 'podnet', cmd: ['sleep', '300'], options: ['--ip', '10.211.7.7'] });
          assert.equal((await podmanAddrs(podman, 'pb2', 'podnet')).v4, '10.211.7.7');
          for (const x of [a, c, b2]) await podman.rm(x);
          await assertReleased(node, 'after podman rm');

          // cniVersion 1.1.0: podnet answers the ADD, but podman's libcni (1.1.2) cannot parse a
          // 1.1.0 result; podman then runs DEL, which releases what the ADD took.
          await plugins.clear();
          await assert.rejects(podman.run({ name: 'p11', network: 'podnet11', cmd: ['sleep', '300'] }), (e: unknown) => {
            assert.ok(e instanceof HarnessError);
            assert.match(e.message, /unsupported CNI result version "1\.1\.0"/);
            return true;
          });
          const c11 = (await plugins.calls()).filter((x) => x.env.CNI_COMMAND !== 'VERSION');
          assert.deepEqual(
            c11.map((x) => `${x.env.CNI_COMMAND} ${x.exitCode}`),
            ['ADD 0', 'DEL 0'],
            describeCalls(c11).join(', '),
          );
          assert.equal((c11[0]!.config ?? {})['cniVersion'], '1.1.0');
          await assertReleased(node, 'after the rejected 1.1.0 ADD');

          // Agent not reachable: the shim execs the Node fallback by its absolute path (inside
          // the box), which fails ADD with CNI error 11 naming the socket.
          await plugins.clear();
          const down = await podman.run({ name: 'pdown', network: 'podnetdown', cmd: ['sleep', '300'] }).then(
            () => assert.fail('ADD succeeded without an agent'),
            (e: unknown) => e,
          );
          assert.ok(down instanceof HarnessError);
          assert.match(down.message, /podnet agent is not reachable/);
          const failedAdd = (await plugins.calls()).find((x) => x.env.CNI_COMMAND === 'ADD');
          assert.ok(failedAdd, 'the ADD reached the plugin');
          assert.equal(failedAdd.exitCode, 1);
          const err = JSON.parse(failedAdd.stdout) as { code: number; msg: string; details: string };
          assert.equal(err.code, 11);
          assert.match(err.msg, /podnet agent is not reachable at .*\/absent\/agent\.sock/);
          assert.match(err.details, /^CNI_TRY_AGAIN_LATER/);
          // podman's own clean-up after the failed ADD runs DEL, which fails the same way (a
          // retryable error, not a silent leak); the container is removed all the same.
          assert.deepEqual(
            (await plugins.calls()).filter((x) => x.env.CNI_COMMAND !== 'VERSION').map((x) => `${x.env.CNI_COMMAND} ${x.exitCode}`),
            ['ADD 1', 'DEL 1'],
          );
          assert.equal((await podman.podman(['container', 'exists', 'pdown'])).code, 1, 'container removed');
          await assertReleased(node, 'after the agent-unreachable case');
        }),
      ),
    );
    // After the environment is gone: nothing left in the agent or the host netns, and nothing
    // ever appeared in the root network namespace.
    await assertReleased(node, 'after the podman environment closed');
    assert.deepEqual(await ourLinksInRootNetns(), rootLinksBefore);
  });
});

test('containerd ctr run --cni + podnet-cni: podnet address reachable from the host netns; DEL with empty CNI_NETNS releases', { timeout: 300_000 }, async (t) => {
  await withPodnetNode({ prefix: 'pnrtc', pools: POOLS }, async (node) => {
    for (const f of node.startFailures) t.diagnostic(`agent start failed once and was retried: ${f}`);
    await withConfDir([podnetList('podnet', node.socket)], (confDir) =>
      withPluginDir(podnetPlugins(), { record: true }, (plugins) =>
        withContainerd({ cniConfDir: confDir, cniPluginDirs: [plugins.dir, REFERENCE_CNI_DIR], hostNetns: node.host }, async (ctr) => {
          const c1 = await ctr.run({ name: 'c1', cmd: ['sleep', '300'] });
          const c2 = await ctr.run({ name: 'c2', cmd: ['sleep', '300'] });
          t.diagnostic(`ctr run --cni with podnet: ${c1.runMs.toFixed(0)}, ${c2.runMs.toFixed(0)} ms`);
          const id1 = `${ctr.namespace}-c1`;
          const id2 = `${ctr.namespace}-c2`;
          const eps = await node.endpoints();
          assert.deepEqual(eps.map((e) => e.containerId).sort(), [id1, id2].sort());
          const ep1 = eps.find((e) => e.containerId === id1)!;
          const v4 = ep1.addresses.find((x) => x.includes('.'))!;
          const v6 = ep1.addresses.find((x) => x.includes(':'))!;
          assert.match(v4, V4_RE);
          assert.match(v6, V6_RE);
          assert.equal(await ctr.ip(c1), v4);
          assert.match((await ctr.exec(c1, ['ip', '-6', 'addr', 'show', 'dev', 'eth0'])).stdout, new RegExp(`inet6 ${v6}/128 `));
          assert.equal(ep1.linkPresent, true);
          assert.equal(ep1.hostIfname, hostIfnameOf(id1, 'eth0'));
          const v4b = eps.find((e) => e.containerId === id2)!.addresses.find((x) => x.includes('.'))!;

          // From the test's host netns directly (outside the box), and back, and pod to pod.
          assert.ok(pinged(await netnsExec(node.host, ['ping', '-c1', '-W2', v4])), 'host -> c1 IPv4');
          assert.ok(pinged(await netnsExec(node.host, ['ping', '-c1', '-W2', v6])), 'host -> c1 IPv6');
          assert.ok(pinged(await ctr.exec(c1, ['ping', '-c1', '-W2', HOST_V4])), 'c1 -> host IPv4');
          assert.ok(pinged(await ctr.exec(c1, ['ping', '-c1', '-W2', HOST_V6])), 'c1 -> host IPv6');
          assert.ok(pinged(await ctr.exec(c2, ['ping', '-c1', '-W2', v4])), 'c2 -> c1');

          // The task ends -> ctr runs DEL once, with an empty CNI_NETNS (the netns is gone).
          const exit = await ctr.rm(c1);
          assert.equal(exit.code, 137, exit.stderr);
          const calls = await plugins.calls();
          t.diagnostic(`podnet-cni calls: ${describeCalls(calls).join(', ')}`);
          const add = callsFor(calls, id1, 'ADD');
          const del = callsFor(calls, id1, 'DEL');
          assert.equal(add.length, 1);
          assert.equal(del.length, 1);
          assert.deepEqual(
            { ...add[0]!.env, CNI_NETNS: add[0]!.env.CNI_NETNS?.replace(/\d+/, 'PID') },
            { CNI_COMMAND: 'ADD', CNI_CONTAINERID: id1, CNI_NETNS: '/proc/PID/ns/net', CNI_IFNAME: 'eth0', CNI_ARGS: '', CNI_PATH: '/opt/cni/bin:/usr/lib/cni' },
          );
          assert.deepEqual(del[0]!.env, { CNI_COMMAND: 'DEL', CNI_CONTAINERID: id1, CNI_NETNS: '', CNI_IFNAME: 'eth0', CNI_ARGS: '', CNI_PATH: '/opt/cni/bin:/usr/lib/cni' });
          assert.deepEqual(keys(add[0]!.config), ['agentSocket', 'capabilities', 'cniVersion', 'name', 'type']);
          assert.deepEqual(keys(del[0]!.config), ['agentSocket', 'capabilities', 'cniVersion', 'name', 'prevResult', 'type']);
          assert.equal(del[0]!.exitCode, 0);
          assert.equal(calls.filter((x) => x.env.CNI_COMMAND === 'VERSION').length, 0, 'ctr sends no VERSION');

          const left = await node.endpoints();
          assert.deepEqual(left.map((e) => e.containerId), [id2]);
          assert.deepEqual(await node.podLinks(), [hostIfnameOf(id2, 'eth0')]);
          assert.equal((await node.podnetRoutes()).length, 2);
          assert.ok(pinged(await netnsExec(node.host, ['ping', '-c1', '-W2', v4b])), 'c2 unaffected');
          assert.equal((await ctr.rm(c2)).code, 137);
          await assertReleased(node, 'after ctr rm');
        }),
      ),
    );
    await assertReleased(node, 'after the containerd environment closed');
  });
});

/** Mean wall time of one plugin call, in ms, from a shell loop of n calls (date +%s%N around it). */
function loopScript(plugin: string, n: number, env: string, stdin: string): string {
  const q = (x: string): string => `'${x.replace(/'/g, `'\\''`)}'`;
  return `s=$(date +%s%N); i=0; while [ $i -lt ${n} ]; do printf %s ${q(stdin)} | env ${env} ${q(plugin)} >/dev/null || exit 1; i=$((i+1)); done; e=$(date +%s%N); echo $(( (e - s) / ${n} / 1000 ))`;
}

test('timing: podman run/rm and ctr run with podnet vs the reference bridge + host-local; VERSION probe', { timeout: 500_000 }, async (t) => {
  const ROUNDS = 5;
  await withPodnetNode({ prefix: 'pnrtt', pools: POOLS }, async (node) => {
    for (const f of node.startFailures) t.diagnostic(`agent start failed once and was retried: ${f}`);
    // As in production: the agent's socket at the default /run/podnet/agent.sock (the agent's
    // dir bound there inside the environments), and no recording wrapper.
    const binds = [{ source: node.dir, target: '/run/podnet' }];
    const podnetDefault: ConfList = { cniVersion: '1.0.0', name: 'podnet', plugins: [{ type: 'podnet-cni', capabilities: { ips: true, mac: true, dns: true } }] };
    const ipamDir = join(node.dir, 'host-local');
    const bridgeList: ConfList = {
      cniVersion: '1.0.0',
      name: 'refbr',
      plugins: [{ type: 'bridge', bridge: 'pnbrref0', isGateway: true, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: '10.212.0.0/24' }]], dataDir: ipamDir } }],
    };
    const dirs = [PODNET_CNI_DIR, REFERENCE_CNI_DIR];
    const ms: Record<string, number[]> = {};
    const note = (k: string, v: number): void => {
      (ms[k] ??= []).push(v);
    };
    // One network per environment (podman probes VERSION for every network it loads), both
    // environments open at once so that the runs alternate under the same machine load.
    await withConfDir([podnetDefault], (pnConf) =>
      withConfDir([bridgeList], (brConf) =>
        withPodmanEnv({ cniConfDir: pnConf, cniPluginDirs: dirs, hostNetns: node.host, binds }, (pn) =>
          withPodmanEnv({ cniConfDir: brConf, cniPluginDirs: dirs, hostNetns: node.host }, async (br) => {
            const envs = [
              ['podnet', pn, 'podnet'],
              ['bridge', br, 'refbr'],
            ] as const;
            for (const [, env, net] of envs) await env.rm(await env.run({ name: 'warm', network: net, cmd: ['sleep', '300'] }));
            for (let i = 0; i < ROUNDS; i++) {
              for (const [label, env, net] of envs) {
                const c = await env.run({ name: `t${i}`, network: net, cmd: ['sleep', '300'] });
                note(`podman run, ${label}`, c.runMs);
                const t0 = performance.now();
                await env.rm(c);
                note(`podman rm, ${label}`, performance.now() - t0);
              }
            }
          }),
        ),
      ),
    );
    // The VERSION probe exactly as podman sends it (before every ADD and DEL, once per plugin
    // of every network it loads; stdin has no agentSocket). Since b16df2f the shim answers it
    // itself; before, it went to the default socket and, with no agent there, to the Node
    // fallback (measured 100-325 ms per probe on this machine).
    const probeEnv = 'CNI_COMMAND=VERSION CNI_CONTAINERID= CNI_NETNS=dummy CNI_IFNAME=dummy CNI_ARGS= CNI_PATH=dummy';
    for (const [label, plugin] of [
      ['podnet-cni', join(PODNET_CNI_DIR, 'podnet-cni')],
      ['reference bridge', join(REFERENCE_CNI_DIR, 'bridge')],
    ] as const) {
      const r = await netnsExec(node.host, ['sh', '-c', loopScript(plugin, 20, probeEnv, '{"cniVersion":"1.0.0"}')]);
      assert.equal(r.code, 0, r.stderr);
      note(`VERSION probe as podman sends it, ${label} (mean of 20, incl. fork/exec)`, Number(r.stdout.trim()) / 1000);
    }

    for (const [label, list, b] of [
      ['podnet', podnetDefault, binds],
      ['bridge', bridgeList, []],
    ] as const) {
      await withConfDir([list], (confDir) =>
        withContainerd({ cniConfDir: confDir, cniPluginDirs: dirs, hostNetns: node.host, binds: b }, async (ctr) => {
          await ctr.rm(await ctr.run({ name: 'warm', cmd: ['sleep', '300'] }));
          for (let i = 0; i < 3; i++) {
            const c = await ctr.run({ name: `t${i}`, cmd: ['sleep', '300'] });
            note(`ctr run --cni, ${label}`, c.runMs);
            assert.equal((await ctr.rm(c)).code, 137);
          }
        }),
      );
    }
    for (const [k, v] of Object.entries(ms)) t.diagnostic(`${k}: median ${median(v).toFixed(v.length === 1 ? 2 : 0)} ms (${v.map((x) => x.toFixed(1)).join(', ')})`);
    // Agent-side time of each CNI call (the agent logs it at debug level).
    const agentMs: Record<string, number[]> = {};
    for (const line of (await node.agentLog()).split('\n')) {
      if (!line.includes('"msg":"cni"')) continue;
      const j = JSON.parse(line) as { command: string; ms: number };
      (agentMs[j.command] ??= []).push(j.ms);
    }
    for (const [k, v] of Object.entries(agentMs)) t.diagnostic(`agent-side ${k}: median ${median(v).toFixed(1)} ms over ${v.length} calls`);
    await assertReleased(node, 'after the timing runs');
  });
});
