/**
 * bench/policy: network policy at scale, in one run, printing figures and ratios.
 *
 *   node dist/bench/policy/main.js [--quick]
 *
 * 1. Programming (the agent's PolicyProgrammer with the real nft dataplane, in a bench namespace):
 *    a cluster of 10,000 pods and 1,000 NetworkPolicies + 20 ClusterNetworkPolicies
 *    (src/policy/compile/scale-fixture.ts); a node with 100 of those pods: the full programming,
 *    then one pod added (admission: profile exists, and a pod of a new shape), the update that
 *    follows, one policy changed, one namespace relabelled; at the end (4.) a node holding all 10,000.
 * 2. The real agent (two node fixtures side by side: policy off, policy on), client and server
 *    pods: iperf3 TCP throughput and ping RTT with (a) policy off, (b) policy on with no policy,
 *    (c) the whole scale fixture loaded plus policies that select the server with large sets, the
 *    client allowed by a rule; ratios (b)/(a) and (c)/(a), rounds alternating. The agent's RSS
 *    before and after loading, the load time, and CNI ADD with admission at that scale.
 *
 * --quick: 1,000 pods, 100 policies, 1 round of 2 s. Figures are printed, never asserted.
 * Everything lives in namespaces the bench makes (pnt-*, pnf-*), removed in finally and on signals.
 */
import { readFileSync } from 'node:fs';
import { callRpc } from '../../src/agent/client.js';
import type { PolicyStatusView } from '../../src/agent/rpc-policy.js';
import { createLogger } from '../../src/common/log.js';
import { LinuxPolicyDataplane } from '../../src/dataplane/linux/policy/nft-policy.js';
import { NetnsPool } from '../../src/dataplane/linux/netns-fixture.js';
import { NodeFixture } from '../../src/lab/node-fixture.js';
import type { LocalEndpoint, PolicyState } from '../../src/policy/compile/types.js';
import { bigState } from '../../src/policy/compile/scale-fixture.js';
import type { Namespace, NetworkPolicy, Pod, Resource } from '../../src/model/k8s.js';
import { PolicyProgrammer, type ProgramReport } from '../../src/policy/program/programmer.js';
import { keyOf, refOf } from '../../src/resources/keys.js';
import { toManifest } from '../../src/resources/manifest.js';
import type { ChangeReport } from '../../src/resources/store.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachFlag, otherFlag, quantile, runBench } from '../common.js';

const USAGE = 'usage: node dist/bench/policy/main.js [--quick]\n';
let quick = false;
/** Internal: run part 1 in this process's namespace (the parent started it inside the bench namespace). */
let programmingHere = false;
forEachFlag(process.argv.slice(2), (flag, _val, raw) => {
  if (flag === '--quick') quick = true;
  else if (flag === '--programming-here') programmingHere = true;
  else otherFlag(flag, raw, USAGE);
});
const NS = quick ? 10 : 100;
const PER_NS = 100;
const ROUNDS = quick ? 1 : 3;
const SECONDS = quick ? 2 : 4;
const log = createLogger('error');
const out = (s: string): void => void process.stdout.write(s);
const say = (s: string): void => void process.stderr.write(`[bench] ${s}\n`);
const ms = (x: number): string => `${x.toFixed(1)} ms`;

const pools: NetnsPool[] = [];
const fixtures: NodeFixture[] = [];
const dirs: string[] = [];
/** Part 1's process (killed before its namespace goes). */
const children: import('node:child_process').ChildProcess[] = [];
/** Pod namespaces running an iperf3 daemon (killed before the namespaces go). */
const daemons: string[] = [];

const ifname = (i: number): string => `pn${i.toString(16).padStart(12, '0')}`;
const entries = (rs: readonly Resource[]): [string, Resource][] => rs.map((r) => [keyOf(refOf(r)), r]);
const allOf = (s: PolicyState): Resource[] => [...s.namespaces, ...s.pods, ...s.networkPolicies, ...s.clusterNetworkPolicies];

function reportLine(what: string, r: ProgramReport | undefined): string {
  if (!r) return `${what}: -\n`;
  return `  ${what.padEnd(44)} ${ms(r.ms).padStart(10)}  (compile ${ms(r.compileMs)}, nft ${ms(r.ms - r.compileMs)}, ${r.ops} ops${r.compiledAlone ? ', compiled alone' : ''})\n`;
}

// ---- 1. programming ----

/**
 * Part 1 runs in a child process inside the bench namespace, so that the programmer drives the
 * kernel the way the agent does: libnftables in-process, in its own namespace (the nft command
 * is what it uses only when told to program another namespace).
 */
async function programmingInNetns(): Promise<void> {
  const { spawn } = await import('node:child_process');
  const pool = new NetnsPool();
  pools.push(pool);
  const ns = pool.create('prog');
  const args = [`--net=${pool.path(ns)}`, '--', process.execPath, process.argv[1] as string, '--programming-here', ...(quick ? ['--quick'] : [])];
  const child = spawn('nsenter', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  children.push(child);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  if (code !== 0) throw new Error(`part 1 (programming, in namespace ${ns}) exited with ${code}`);
}

async function programming(state: PolicyState): Promise<void> {
  const reports: ProgramReport[] = [];
  const dataplane = new LinuxPolicyDataplane({});
  const p = new PolicyProgrammer({ dataplane, log, render: { logDrops: true }, verifyMs: 0, debounceMs: 1, onProgrammed: (r) => reports.push(r) });
  const eps: LocalEndpoint[] = state.pods.flatMap((pod, i) => (i % PER_NS === 0 ? [{ namespace: pod.namespace, pod: pod.name, ifname: ifname(i + 1) }] : []));
  p.setEndpoints(eps);
  const t0 = performance.now();
  p.snapshot(entries(allOf(state)), 1);
  await p.ready;
  await p.settled(600_000);
  const wall = performance.now() - t0;
  const full = reports.at(-1);
  const size = await listSize(undefined);
  out(`\n1. programming a node with ${eps.length} local pods of ${state.pods.length} pods / ${state.networkPolicies.length} NetworkPolicies / ${state.clusterNetworkPolicies.length} ClusterNetworkPolicies (libnftables in the node's namespace, as the agent)\n`);
  out(reportLine('full (first: atomic replacement)', full));
  out(`  ${''.padEnd(44)} ${ms(wall).padStart(10)}  wall, snapshot to programmed; table: ${size}\n`);

  const base = state.pods[0] as Pod;
  const twin: Pod = { ...base, name: 'new-twin', ips: ['10.245.0.1'] };
  let r = await p.admit({ namespace: twin.namespace, pod: twin.name, ifname: ifname(0xf0001), addresses: twin.ips }, twin);
  out(reportLine('one pod added: admission (profile exists)', r));
  await p.settled(600_000);
  out(reportLine('  the update that follows', reports.at(-1)));
  const odd: Pod = { ...base, name: 'new-shape', labels: { app: 'unique', tier: 'db' }, ips: ['10.245.0.2'] };
  r = await p.admit({ namespace: odd.namespace, pod: odd.name, ifname: ifname(0xf0002), addresses: odd.ips }, odd);
  out(reportLine('one pod added: admission (new profile shape)', r));
  await p.settled(600_000);
  out(reportLine('  the update that follows', reports.at(-1)));

  // Series: pods of existing profiles and pods of new shapes (each in another namespace, so each
  // brings profiles of its own), every one admitted while the node is settled, as pods start.
  const existing: number[] = [];
  const fresh: number[] = [];
  const n = quick ? 6 : 20;
  for (let i = 0; i < n; i++) {
    const nsPod = state.pods[((i * 7) % NS) * PER_NS] as Pod;
    const shape = i % 2 === 1;
    const pod: Pod = { ...nsPod, name: `series-${i}`, labels: shape ? { app: `unique-${i}`, tier: i % 4 === 1 ? 'back' : 'db' } : nsPod.labels, ips: [`10.246.0.${i + 1}`] };
    const x = await p.admit({ namespace: pod.namespace, pod: pod.name, ifname: ifname(0xf1000 + i), addresses: pod.ips }, pod);
    (x.compiledAlone ? fresh : existing).push(x.ms);
    await p.settled(600_000);
  }
  const dist = (xs: readonly number[]): string => (xs.length ? `p50 ${ms(quantile(xs, 0.5))}, max ${ms(Math.max(...xs))} (${xs.length})` : '-');
  out(`  admissions in series, profile exists:     ${dist(existing)}\n`);
  out(`  admissions in series, new profile shape:  ${dist(fresh)}   [target: a new pod's policy in force within 100 ms]\n`);

  const np = state.networkPolicies[1] as NetworkPolicy;
  const changed: NetworkPolicy = { ...np, ingress: [{ peers: np.ingress[0]?.peers ?? [], ports: [{ protocol: 'TCP', port: 81 }] }] };
  p.update([[keyOf(refOf(changed)), changed]], 2);
  await p.settled(600_000);
  out(reportLine('one policy changed', reports.at(-1)));
  const n3 = state.namespaces[3] as Namespace;
  const relabelled: Namespace = { ...n3, labels: { ...n3.labels, team: 't0', env: 'prod' } };
  p.update([[keyOf(refOf(relabelled)), relabelled]], 3);
  await p.settled(600_000);
  out(reportLine('one namespace relabelled', reports.at(-1)));
  // A pod admitted right after a policy change, before the recompile: its context is made anew.
  const np2 = state.networkPolicies[2] as NetworkPolicy;
  p.update([[keyOf(refOf(np2)), { ...np2, ingress: [{ peers: np2.ingress[0]?.peers ?? [], ports: [{ protocol: 'TCP', port: 82 }] }] }]], 4);
  const late: Pod = { ...base, name: 'after-change', labels: { app: 'unique-late', tier: 'back' }, ips: ['10.245.0.3'] };
  r = await p.admit({ namespace: late.namespace, pod: late.name, ifname: ifname(0xf0003), addresses: late.ips }, late);
  out(reportLine('admission right after a policy change', r));
  await p.settled(600_000);
  await p.stop();
}

/** Every pod local to one node (an extreme: the table holds all the cluster's interfaces). */
async function allLocal(state: PolicyState): Promise<void> {
  const pool = new NetnsPool();
  pools.push(pool);
  const ns2 = pool.create('all');
  const reports2: ProgramReport[] = [];
  const q = new PolicyProgrammer({ dataplane: new LinuxPolicyDataplane({ netns: pool.path(ns2), timeoutMs: 600_000 }), log, render: { logDrops: true }, verifyMs: 0, onProgrammed: (x) => reports2.push(x) });
  q.setEndpoints(state.pods.map((pod, i) => ({ namespace: pod.namespace, pod: pod.name, ifname: ifname(i + 1) })));
  q.snapshot(entries(allOf(state)), 1);
  await Promise.race([q.ready, new Promise((res) => setTimeout(res, 600_000))]);
  out(`\n4. the extreme: one node with all ${state.pods.length} pods local\n`);
  out(reportLine('full programming', reports2.at(-1)));
  await q.stop();
}

async function listSize(netns: string | undefined): Promise<string> {
  const { runNft } = await import('../../src/dataplane/linux/nat/nft.js');
  const r = await runNft({ ...(netns !== undefined ? { netns } : {}), timeoutMs: 120_000 }, ['list', 'table', 'inet', 'podnet-policy']);
  const chains = (r.stdout.match(/^\tchain /gm) ?? []).length;
  const sets = (r.stdout.match(/^\t(set|map) /gm) ?? []).length;
  return `${chains} chains, ${sets} sets/maps, ${(r.stdout.length / 1024).toFixed(0)} KiB as text`;
}

// ---- 2. the real agent ----

interface PodRef {
  readonly ns: string;
  readonly v4: string;
  readonly host: string;
}

async function addPod(node: NodeFixture, name: string, labels: Record<string, string>): Promise<PodRef & { ms: number }> {
  const { ns, path } = await node.newPodNs(name);
  const list = node.conflist({ plugin: { args: { cni: { labels: Object.entries(labels).map(([key, value]) => ({ key, value })) } } } });
  const t0 = performance.now();
  const res = await node.runtime.add(list, node.attachment(`ctr-${name}`, path, `K8S_POD_NAMESPACE=bench;K8S_POD_NAME=${name}`));
  const took = performance.now() - t0;
  const v4 = (res.ips as { address: string }[]).map((i) => i.address.split('/')[0] as string).find((a) => a.includes('.')) as string;
  const host = (res.interfaces as { name: string; sandbox?: string }[]).find((i) => !i.sandbox)?.name as string;
  return { ns, v4, host, ms: took };
}

async function iperf(node: NodeFixture, cli: PodRef, srv: PodRef): Promise<number> {
  const r = await node.execIn(cli.ns, 'iperf3', ['-c', srv.v4, '-t', String(SECONDS), '-J'], (SECONDS + 30) * 1000);
  const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
  const bps = j.end?.sum_received?.bits_per_second;
  if (bps === undefined) throw new Error(`iperf3: ${j.error ?? r.stderr}`);
  return bps / 1e9;
}

/**
 * Ping RTT samples (ms): many pings 1 ms apart from a client pinned to one CPU, so that the
 * sender's softirq work stays on that CPU and the figure is the datapath's, not the scheduler's.
 */
async function rtt(node: NodeFixture, cli: PodRef, srv: PodRef): Promise<number[]> {
  const r = await node.execIn(cli.ns, 'taskset', ['-c', '1', 'ping', '-c', quick ? '300' : '2000', '-i', '0.001', srv.v4], 60_000);
  const times = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  if (times.length === 0) throw new Error(`ping ${srv.v4}: ${r.stdout}${r.stderr}`);
  return times;
}

function rssMiB(node: NodeFixture): number {
  const pid = node.agent.pid;
  if (pid === undefined) return NaN;
  return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
}

interface Side {
  readonly node: NodeFixture;
  readonly cli: PodRef;
  readonly srv: PodRef;
}

async function side(label: string, policy: boolean): Promise<Side> {
  const dir = mkdtempSync(join(tmpdir(), 'pnbp-'));
  dirs.push(dir);
  const cfg = join(dir, 'agent.json');
  writeFileSync(cfg, JSON.stringify({ policy: { enabled: policy }, flows: { enabled: false } }));
  const node = await NodeFixture.start({ agentArgs: ['--config', cfg], logLevel: 'warn', pools: ['v4=10.200.0.0/16,blockSize=26'] });
  fixtures.push(node);
  const srv = await addPod(node, `srv`, { app: 'bench-srv', tier: 'back' });
  const cli = await addPod(node, `cli`, { app: 'bench-cli', tier: 'front' });
  await node.execIn(srv.ns, 'iperf3', ['-s', '-D']);
  daemons.push(srv.ns);
  say(`${label}: agent up, pods ready`);
  return { node, cli, srv };
}

async function measure(sides: readonly [string, Side][], rounds: number): Promise<Map<string, { gbps: number[]; rtt: number[] }>> {
  const res = new Map(sides.map(([k]) => [k, { gbps: [] as number[], rtt: [] as number[] }]));
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 ? [...sides].reverse() : sides;
    for (const [k, s] of order) {
      const m = res.get(k) as { gbps: number[]; rtt: number[] };
      m.gbps.push(await iperf(s.node, s.cli, s.srv));
      m.rtt.push(...(await rtt(s.node, s.cli, s.srv)));
    }
  }
  return res;
}

/** Pods of a new shape in part 3 (every other pod). */
const UNIQUE = quick ? 4 : 12;

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The scale fixture's resources plus the server's own policies (large allow sets, the client allowed). */
function scaleResources(state: PolicyState): Resource[] {
  const extra = [
    { kind: 'Namespace', name: 'bench', labels: { 'kubernetes.io/metadata.name': 'bench', team: 't0', env: 'prod' } },
    {
      kind: 'NetworkPolicy', namespace: 'bench', name: 'srv-large', podSelector: { matchLabels: { app: 'bench-srv' }, matchExpressions: [] }, policyTypes: ['Ingress'], egress: [],
      ingress: [
        { peers: [{ podSelector: { matchLabels: { app: 'bench-cli' }, matchExpressions: [] } }], ports: [] },
        { peers: [{ namespaceSelector: { matchLabels: {}, matchExpressions: [] }, podSelector: { matchLabels: { tier: 'back' }, matchExpressions: [] } }], ports: [{ protocol: 'TCP', port: 8080 }] },
        { peers: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.200.0.0/16'] } }], ports: [{ protocol: 'TCP', port: 'http' }] },
      ],
    },
  ] as Resource[];
  // One policy per "unique" pod of part 3: each such pod brings a profile of its own (a new shape).
  for (let i = 0; i < UNIQUE; i++) {
    extra.push({
      kind: 'NetworkPolicy', namespace: 'bench', name: `uniq-${i}`, podSelector: { matchLabels: { app: `unique-${i}` }, matchExpressions: [] }, policyTypes: ['Ingress'], egress: [],
      ingress: [{ peers: [{ namespaceSelector: { matchLabels: { env: 'prod' }, matchExpressions: [] }, podSelector: { matchLabels: { tier: 'back' }, matchExpressions: [] } }], ports: [{ protocol: 'TCP', port: 8000 + i }] }],
    } as Resource);
  }
  return [...allOf(state), ...extra];
}

async function load(node: NodeFixture, rs: readonly Resource[]): Promise<{ ms: number; revision: number }> {
  const t0 = performance.now();
  let revision = 0;
  const chunk = 500;
  for (let i = 0; i < rs.length; i += chunk) {
    const text = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rs.slice(i, i + chunk).map(toManifest) });
    revision = (await callRpc<ChangeReport>(node.agent.socket, 'resources.apply', { text }, 600_000)).revision;
  }
  for (let i = 0; i < 60_000; i++) {
    const s = await callRpc<PolicyStatusView>(node.agent.socket, 'policy.status');
    if (s.programmedRevision >= revision) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { ms: performance.now() - t0, revision };
}

async function agentPart(state: PolicyState): Promise<void> {
  const off = await side('policy off', false);
  const on = await side('policy on', true);
  out(`\n2. per-packet cost through the real agent (same node, client -> server; iperf3 -t ${SECONDS} 1 stream; ping every 1 ms from a client pinned to CPU 1, all rounds' samples pooled; ${ROUNDS} round(s), alternating)\n`);
  const rssIdle = rssMiB(on.node);
  const m1 = await measure([['a', off], ['b', on]], ROUNDS);
  const rs = scaleResources(state);
  say(`loading ${rs.length} resources into the policy agent`);
  const l = await load(on.node, rs);
  const rssLoaded = rssMiB(on.node);
  const map = (await on.node.execIn(on.node.nodeNs, 'nft', ['list', 'map', 'inet', 'podnet-policy', 'ingress_if'])).stdout;
  const srvVerdict = new RegExp(`"${on.srv.host}" : (jump p_[a-z0-9]+|accept)`).exec(map)?.[1] ?? '?';
  const st = await callRpc<PolicyStatusView>(on.node.agent.socket, 'policy.status');
  const elements = (await on.node.execIn(on.node.nodeNs, 'nft', ['list', 'table', 'inet', 'podnet-policy'])).stdout.split(',').length;
  const m2 = await measure([['a', off], ['c', on]], ROUNDS);
  const a = { gbps: [...(m1.get('a')?.gbps ?? []), ...(m2.get('a')?.gbps ?? [])], rtt: [...(m1.get('a')?.rtt ?? []), ...(m2.get('a')?.rtt ?? [])] };
  const b = m1.get('b') as { gbps: number[]; rtt: number[] };
  const c = m2.get('c') as { gbps: number[]; rtt: number[] };
  const us = (x: number): string => (x * 1000).toFixed(0).padStart(4);
  const row = (k: string, x: { gbps: number[]; rtt: number[] }): string =>
    `  ${k.padEnd(50)} ${mean(x.gbps).toFixed(2).padStart(7)} Gbit/s (${(mean(x.gbps) / mean(a.gbps)).toFixed(3)})   RTT p10 ${us(quantile(x.rtt, 0.1))} p50 ${us(quantile(x.rtt, 0.5))} p90 ${us(quantile(x.rtt, 0.9))} us, mean ${(mean(x.rtt) * 1000).toFixed(2)} us (ratio ${(mean(x.rtt) / mean(a.rtt)).toFixed(3)}; ping prints 1 us steps), ${x.rtt.length} pings\n`;
  out(row('(a) policy off', a));
  out(row('(b) policy on, no policies', b));
  out(row(`(c) ${state.networkPolicies.length + 1} NetworkPolicies, ${state.pods.length} pods in force`, c));
  out(`  (c) the server's interface maps to ${srvVerdict}; the table has ~${elements} elements; ${st.profiles} profiles on the node\n`);
  out(`  throughput ratio (c)/(a) ${(mean(c.gbps) / mean(a.gbps)).toFixed(3)}, mean RTT ratio (c)/(a) ${(mean(c.rtt) / mean(a.rtt)).toFixed(3)}   [target: per-packet ratio at most 1.05]\n`);

  out(`\n3. the agent at that scale\n`);
  out(`  loading ${rs.length} resources (podnet apply in chunks of 500, each object one CAS write) until programmed: ${(l.ms / 1000).toFixed(1)} s\n`);
  out(`  agent RSS: ${rssIdle.toFixed(0)} MiB idle -> ${rssLoaded.toFixed(0)} MiB with the cluster loaded (the policy-off agent: ${rssMiB(off.node).toFixed(0)} MiB)\n`);
  const adds = { existing: [] as number[], fresh: [] as number[] };
  const admits = { existing: [] as number[], fresh: [] as number[] };
  for (let i = 0; i < 2 * UNIQUE; i++) {
    const unique = i % 2 === 1;
    const p = await addPod(on.node, `p${i}`, unique ? { app: `unique-${i >> 1}` } : { app: 'bench-srv', tier: 'back' });
    const s = await callRpc<PolicyStatusView>(on.node.agent.socket, 'policy.status');
    const last = s.lastAdmission;
    const kind = last ? (last.compiledAlone ? 'fresh' : 'existing') : unique ? 'fresh' : 'existing';
    if (last && unique !== (kind === 'fresh')) say(`pod p${i}: expected ${unique ? 'a new' : 'an existing'} profile, the agent ${last.compiledAlone ? 'compiled one' : 'found one'}`);
    adds[kind].push(p.ms);
    if (last) admits[kind].push(last.ms);
    // Let the recompile that follows an admission run, as between pods started one by one.
    await new Promise((r) => setTimeout(r, 1500));
  }
  const offAdds: number[] = [];
  for (let i = 0; i < UNIQUE; i++) offAdds.push((await addPod(off.node, `p${i}`, { app: 'bench-srv' })).ms);
  const dist = (xs: readonly number[]): string => (xs.length ? `p50 ${ms(quantile(xs, 0.5))}, max ${ms(Math.max(...xs))} (${xs.length})` : '-');
  out(`  CNI ADD, profile exists: ${dist(adds.existing)}; new profile shape: ${dist(adds.fresh)}; the policy-off agent: ${dist(offAdds)}\n`);
  out(`  admission inside the agent (interface in force), profile exists: ${dist(admits.existing)}\n`);
  out(`  admission inside the agent (interface in force), new profile shape: ${dist(admits.fresh)}   [target: within 100 ms]\n`);
}

async function main(): Promise<void> {
  const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const state = bigState(NS, PER_NS);
  out(`bench/policy${quick ? ' --quick' : ''}: ${state.pods.length} pods, ${state.networkPolicies.length} NetworkPolicies, ${state.clusterNetworkPolicies.length} ClusterNetworkPolicies; load average ${load0}\n`);
  await programmingInNetns();
  await agentPart(state);
  await allLocal(state);
  out(`\nload average ${load0} -> ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`);
}

async function cleanup(): Promise<void> {
  const { execFileSync } = await import('node:child_process');
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const ns of daemons.splice(0)) {
    try {
      for (const pid of execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter((x) => /^\d+$/.test(x))) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // the namespace is already gone
    }
  }
  for (const f of fixtures.splice(0)) await f.close().catch(() => undefined);
  for (const p of pools.splice(0)) p.cleanup();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

if (programmingHere) runBench(() => programming(bigState(NS, PER_NS)), async () => undefined);
else runBench(main, cleanup);
