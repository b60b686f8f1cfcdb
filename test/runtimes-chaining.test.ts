/**
 * podnet-cni chained with the reference `portmap` and `bandwidth` plugins
 * (podnet-cni -> portmap -> bandwidth, one conflist), driven by real podman and by podnet's
 * libcni-like runtime:
 *
 *  - podman 4.3 `run -p HOST:CTR`: podman sends portMappings (lower-case keys) to every plugin
 *    that declares the capability. podman 4.3 has no way to ask for bandwidth (no flag, no
 *    annotation for the CNI backend), so the bandwidth plugin gets no runtimeConfig and passes
 *    the result through.
 *  - containerd: `ctr run --cni` can express neither port mappings nor bandwidth (only the CRI
 *    plugin, i.e. kubelet, fills go-cni's capabilities). Its spelling, go-cni marshalling Go
 *    structs without JSON tags (PortMapping{HostPort, ContainerPort, Protocol, HostIP},
 *    BandWidth{IngressRate, IngressBurst, EgressRate, EgressBurst}, DNS{Servers, Searches,
 *    Options}), is sent here through src/lab/cni-runtime.ts, with every plugin executed in the
 *    node's host netns (nsenter wrappers, test/harness/cni-wrap.ts).
 *
 * podnet-cni declares portMappings and bandwidth too, so its verb layer sees both spellings
 * (it validates them and leaves the work to the chained plugins).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniRuntime, type Attachment, type NetConfList } from '../src/lab/cni-runtime.js';
import { PODNET_CNI_DIR, REFERENCE_CNI_DIR } from '../src/lab/paths.js';
import { hostIfnameOf } from '../src/agent/naming.js';
import { createNetns, deleteNetns, LongProcess, netnsExecOk, waitFor, WaitAbort, withPodmanEnv } from './harness/index.js';
import { describeCalls, withPluginDir } from './harness/cni-wrap.js';
import { HOST_V4, HOST_V6, httpGet, ourLinksInRootNetns, podnetPlugins, withConfDir, withPodnetNode, type PodnetNode } from './harness/podnet-node.js';

const POOLS = ['v4=10.213.0.0/16,blockSize=26', 'v6=fd00:213::/56,blockSize=122'];

function chainList(socket: string): NetConfList {
  return {
    cniVersion: '1.0.0',
    name: 'pnchain',
    plugins: [
      { type: 'podnet-cni', agentSocket: socket, capabilities: { ips: true, mac: true, dns: true, portMappings: true, bandwidth: true } },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
    ],
  };
}

async function iptablesNat(node: PodnetNode, family: 4 | 6): Promise<string> {
  return (await netnsExecOk(node.host, [family === 4 ? 'iptables-save' : 'ip6tables-save', '-t', 'nat'])).stdout;
}

async function qdiscs(node: PodnetNode, dev: string): Promise<string> {
  return (await netnsExecOk(node.host, ['tc', 'qdisc', 'show', 'dev', dev])).stdout;
}

async function assertReleased(node: PodnetNode, what: string): Promise<void> {
  assert.deepEqual(await node.endpoints(), [], `${what}: endpoints left`);
  assert.deepEqual(await node.podLinks(), [], `${what}: pod links left`);
  assert.deepEqual(await node.podnetRoutes(), [], `${what}: routes left`);
  for (const f of [4, 6] as const) assert.doesNotMatch(await iptablesNat(node, f), /CNI-DN-/, `${what}: portmap DNAT chain left (IPv${f})`);
  const links = (await netnsExecOk(node.host, ['ip', '-o', 'link', 'show'])).stdout;
  assert.doesNotMatch(links, /: bwp[0-9a-f]+[:@]/, `${what}: bandwidth ifb left`);
}

/** Waits for an HTTP answer containing `body` (the server needs a moment to listen). */
async function waitHttp(ns: string, host: string, port: number, body: string): Promise<void> {
  await waitFor(`HTTP ${host}:${port} from ${ns}`, async () => ((await httpGet(ns, host, port, 2)).includes(body) ? true : undefined), {
    timeoutMs: 20_000,
    intervalMs: 200,
  });
}

test('podman -p with podnet-cni + portmap + bandwidth: host port reaches the container; rm removes the rules', { timeout: 300_000 }, async (t) => {
  await withPodnetNode({ prefix: 'pnrtm', pools: POOLS }, async (node) => {
    for (const f of node.startFailures) t.diagnostic(`agent start failed once and was retried: ${f}`);
    const rootLinksBefore = await ourLinksInRootNetns();
    const list = chainList(node.socket);
    const wrapped = [...podnetPlugins(), { name: 'portmap', target: join(REFERENCE_CNI_DIR, 'portmap') }, { name: 'bandwidth', target: join(REFERENCE_CNI_DIR, 'bandwidth') }];
    await withConfDir([list], (confDir) =>
      withPluginDir(wrapped, { record: true }, (plugins) =>
        withPodmanEnv({ cniConfDir: confDir, cniPluginDirs: [plugins.dir, REFERENCE_CNI_DIR], hostNetns: node.host }, async (podman) => {
          const web = await podman.run({
            name: 'web',
            network: 'pnchain',
            cmd: ['sh', '-c', 'mkdir -p /www && echo podnet-hello > /www/index.html && exec httpd -f -p 8080 -h /www'],
            options: ['-p', '18080:8080'],
          });
          const ep = (await node.endpoints()).find((e) => e.containerId === web.id);
          assert.ok(ep, 'podnet endpoint');
          const v4 = ep.addresses.find((a) => a.includes('.'))!;
          const v6 = ep.addresses.find((a) => a.includes(':'))!;
          assert.equal(await podman.ip(web), v4);
          // Straight to the container, then through the host port: from the host netns itself
          // (OUTPUT -> CNI-HOSTPORT-DNAT) and from the upstream netns (PREROUTING), both families.
          await waitHttp(node.host, v4, 8080, 'podnet-hello');
          // Each path is retried (bounded): on a loaded CI machine one nc attempt can time out.
          await waitHttp(node.host, HOST_V4, 18080, 'podnet-hello'); // host netns -> host port (IPv4)
          await waitHttp(node.upstream, HOST_V4, 18080, 'podnet-hello'); // upstream -> host port (IPv4)
          await waitHttp(node.upstream, HOST_V6, 18080, 'podnet-hello'); // upstream -> host port (IPv6)
          assert.match(await iptablesNat(node, 4), new RegExp(`DNAT --to-destination ${v4.replace(/\./g, '\\.')}:8080`));
          assert.match(await iptablesNat(node, 6), new RegExp(`DNAT --to-destination \\[${v6}\\]:8080`));
          // No bandwidth was asked for: no shaping on the host veth.
          assert.doesNotMatch(await qdiscs(node, hostIfnameOf(web.id, 'eth0')), /tbf/);

          const calls = await plugins.calls();
          t.diagnostic(`calls: ${describeCalls(calls.filter((c) => c.env.CNI_COMMAND !== 'VERSION')).join(', ')}`);
          const add = (plugin: string) => calls.find((c) => c.plugin === plugin && c.env.CNI_COMMAND === 'ADD');
          const pm = [{ hostPort: 18080, containerPort: 8080, protocol: 'tcp' }];
          assert.deepEqual(add('podnet-cni')?.config?.['runtimeConfig'], { portMappings: pm });
          assert.deepEqual(add('portmap')?.config?.['runtimeConfig'], { portMappings: pm });
          assert.equal(add('bandwidth')?.config?.['runtimeConfig'], undefined, 'podman cannot express bandwidth');
          // Chaining: portmap and bandwidth get podnet's result as prevResult.
          const prev = add('portmap')?.config?.['prevResult'] as { ips: { address: string }[]; interfaces: { name: string }[] };
          assert.deepEqual(prev.ips.map((i) => i.address).sort(), [`${v4}/32`, `${v6}/128`].sort());
          assert.equal(prev.interfaces[0]?.name, hostIfnameOf(web.id, 'eth0'));
          for (const p of ['podnet-cni', 'portmap', 'bandwidth']) assert.equal(add(p)?.exitCode, 0, p);

          await podman.rm(web);
          const dels = (await plugins.calls()).filter((c) => c.env.CNI_COMMAND === 'DEL').map((c) => `${c.plugin} ${c.exitCode}`);
          assert.deepEqual(dels, ['bandwidth 0', 'portmap 0', 'podnet-cni 0'], 'DEL runs in reverse order');
          await assertReleased(node, 'after podman rm');
          assert.equal(await httpGet(node.upstream, HOST_V4, 18080, 1), '', 'host port closed');
        }),
      ),
    );
    await assertReleased(node, 'after the podman environment closed');
    assert.deepEqual(await ourLinksInRootNetns(), rootLinksBefore);
  });
});

test('libcni-like runtime, containerd-style capitalised capability args: portmap + bandwidth shape and forward; DEL removes all', { timeout: 300_000 }, async (t) => {
  const INGRESS = 8_000_000; // bits/s into the pod (tbf on the host veth)
  const EGRESS = 16_000_000; // bits/s out of the pod (tbf on the ifb the host veth's ingress is redirected to)
  await withPodnetNode({ prefix: 'pnrtb', pools: POOLS }, async (node) => {
    for (const f of node.startFailures) t.diagnostic(`agent start failed once and was retried: ${f}`);
    const list = chainList(node.socket);
    const www = await mkdtemp(join(tmpdir(), 'podnet-rtwww-'));
    const pod = await createNetns('pnrtb-pod');
    const daemons: LongProcess[] = [];
    try {
      await writeFile(join(www, 'index.html'), 'podnet-bw-hello\n');
      await withPluginDir(
        [
          { name: 'podnet-cni', target: join(PODNET_CNI_DIR, 'podnet-cni') },
          { name: 'portmap', target: join(REFERENCE_CNI_DIR, 'portmap') },
          { name: 'bandwidth', target: join(REFERENCE_CNI_DIR, 'bandwidth') },
        ],
        { netns: node.host },
        async (plugins) => {
          const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
          const rt = new CniRuntime([plugins.dir], env);
          const att: Attachment = {
            containerId: 'k8s-pod-bw',
            netns: `/run/netns/${pod}`,
            ifname: 'eth0',
            args: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=bw;K8S_POD_INFRA_CONTAINER_ID=k8s-pod-bw;K8S_POD_UID=6e0c1a5e-0000-4000-8000-000000000001',
            capabilityArgs: {
              portMappings: [{ HostPort: 18081, ContainerPort: 8080, Protocol: 'TCP', HostIP: '' }],
              bandwidth: { IngressRate: INGRESS, IngressBurst: 262144, EgressRate: EGRESS, EgressBurst: 262144 },
              dns: { Servers: ['10.96.0.10'], Searches: ['default.svc.cluster.local'], Options: ['ndots:5'] },
            },
          };
          const res = await rt.add(list, att);
          const ips = (res.ips as { address: string }[]).map((i) => i.address.split('/')[0]!);
          const v4 = ips.find((a) => a.includes('.'))!;
          assert.deepEqual(res.dns, { nameservers: ['10.96.0.10'], search: ['default.svc.cluster.local'], options: ['ndots:5'] }, 'podnet took the go-cni DNS spelling');
          const hostIf = hostIfnameOf(att.containerId, 'eth0');
          const ifaces = (res.interfaces as { name: string }[]).map((i) => i.name);
          const ifb = ifaces.find((n) => n.startsWith('bwp'));
          assert.ok(ifb, `bandwidth added its ifb to the result: ${ifaces.join(', ')}`);
          assert.equal(ifaces[0], hostIf);
          const ep = await node.endpoints();
          assert.equal(ep.length, 1);
          assert.equal(ep[0]!.pod, 'bw');
          assert.equal(ep[0]!.namespace, 'default');

          // Shaping: tbf at INGRESS on the host veth (traffic towards the pod); the veth's
          // ingress (traffic from the pod) redirected to the ifb, which has tbf at EGRESS.
          const q = await qdiscs(node, hostIf);
          assert.match(q, /qdisc tbf \S+ root .*rate 8Mbit/);
          assert.match(q, /qdisc ingress ffff:/);
          assert.match((await netnsExecOk(node.host, ['tc', 'filter', 'show', 'dev', hostIf, 'parent', 'ffff:'])).stdout, new RegExp(`mirred \\(Egress Redirect to device ${ifb}\\)`));
          assert.match(await qdiscs(node, ifb), /qdisc tbf \S+ root .*rate 16Mbit/);

          // Throughput, measured with iperf3 (server in the pod, client in the host netns).
          const srv = new LongProcess(['nsenter', `--net=/run/netns/${pod}`, '--', 'iperf3', '-s', '-p', '5201']);
          daemons.push(srv);
          await waitFor(
            'iperf3 server to listen',
            async () => {
              if (srv.exitStatus) throw new WaitAbort(`iperf3 -s exited: ${srv.stderr()}`);
              return (await netnsExecOk(`/run/netns/${pod}`, ['ss', '-Hltn', 'sport = :5201'])).stdout.trim() ? true : undefined;
            },
            { timeoutMs: 10_000, intervalMs: 50 },
          );
          const rate = async (reverse: boolean): Promise<number> => {
            const r = await netnsExecOk(node.host, ['iperf3', '-c', v4, '-p', '5201', '-t', '3', '-J', ...(reverse ? ['-R'] : [])], { timeoutMs: 30_000 });
            return (JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second;
          };
          const toPod = await rate(false);
          const fromPod = await rate(true);
          t.diagnostic(`iperf3: host->pod ${(toPod / 1e6).toFixed(2)} Mbit/s (limit ${INGRESS / 1e6}), pod->host ${(fromPod / 1e6).toFixed(2)} Mbit/s (limit ${EGRESS / 1e6})`);
          assert.ok(toPod <= INGRESS * 1.15 && toPod >= INGRESS * 0.3, `host->pod ${toPod} bit/s`);
          assert.ok(fromPod <= EGRESS * 1.15 && fromPod >= EGRESS * 0.3, `pod->host ${fromPod} bit/s`);
          srv.kill('SIGTERM');
          await srv.wait(5_000);

          // Port mapping: upstream -> host port 18081 -> pod :8080 (busybox httpd in the pod netns).
          const web = new LongProcess(['nsenter', `--net=/run/netns/${pod}`, '--', 'busybox', 'httpd', '-f', '-p', '8080', '-h', www]);
          daemons.push(web);
          await waitHttp(node.host, v4, 8080, 'podnet-bw-hello');
          await waitHttp(node.upstream, HOST_V4, 18081, 'podnet-bw-hello'); // upstream -> host port
          await waitHttp(node.host, HOST_V4, 18081, 'podnet-bw-hello'); // host netns -> host port
          assert.match(await iptablesNat(node, 4), new RegExp(`--dport 18081 -j DNAT --to-destination ${v4.replace(/\./g, '\\.')}:8080`));

          // DEL in reverse with the cached result (as libcni does): everything goes.
          await rt.del(list, att, res);
          await assertReleased(node, 'after DEL');
          assert.doesNotMatch(await qdiscs(node, 'eth0'), /tbf/);
          // DEL again (a runtime retry) is fine.
          await rt.del(list, att, res);
        },
      );
    } finally {
      for (const d of daemons) {
        d.kill('SIGKILL');
        await d.wait(5_000);
      }
      await deleteNetns(pod);
      await rm(www, { recursive: true, force: true });
    }
    await assertReleased(node, 'at the end');
  });
});
