/**
 * bench/flows: what flow recording costs, side by side in ONE run: two identical nodes, one agent
 * with `flows.enabled: true`, one with `false` (policy enabled the same way on both), measured
 * alternately (the order flips every round), printing figures and ratios.
 *
 *   node dist/bench/flows/main.js [--quick] [--rounds N=3] [--tput-rounds N=6] [--seconds N=5] [--rate-seconds N=5]
 *                                 [--flood-seconds N=10] [--flood-rounds N=4] [--idle-seconds N=20] [--conc N=16]
 *                                 [--capacity N] [--json FILE]
 *
 * Each node (src/lab/node-fixture.ts: node namespace, uplink, a real `podnet agent --config`) has
 * two pods attached through podnet-cni, `srv` (app=server) and `cli` (app=client), and one
 * NetworkPolicy isolating srv that allows cli on 5201 and 8080 (so every connection is decided by
 * a rule, and flow records name it). Per round and node:
 *   1. throughput: iperf3 TCP, 1 stream, --seconds, cli -> srv (--tput-rounds rounds: the
 *      noisiest figure and the cheapest);
 *   2. connection rate: bench/flows/load.js in cli, --conc workers each looping connect, "ping",
 *      read "pong", closed by the server, for --rate-seconds; with flows on, coverage: the delta of
 *      podnet_flows_total{event="new",protocol="TCP"} (and, after conntrack removed the entries,
 *      {event="end"}) against the connections made, and podnet_flow_records_lost;
 *   3. flood: the same client for --flood-seconds while the agent's VmRSS is sampled every 100 ms
 *      (before, peak, after), its CPU (utime+stime of /proc/<pid>/stat, per thread too), the
 *      ring's kept count, overwritten and lost records, the V8 heap;
 *   4. idle: after the last flood, both agents' RSS and heap over --idle-seconds of no traffic
 *      (V8 collects the garbage of the floods: what stays is what the agent keeps).
 * Conntrack's TCP closing timeouts are 1 s in both node namespaces (so a connection's end event
 * comes during the run, as in a steady state, instead of 120 s later in another phase). After each
 * connection run the bench waits 1.3 s, lets the agent record what conntrack's GC removed, then
 * reaps the rest with a conntrack dump (all at once: a burst of DESTROY events, as a late GC pass
 * makes) and lets the agent drain; kernel drops on the agent's netfilter sockets are read exactly
 * from /proc/<agent>/net/netlink, before and after the reap.
 *
 * Figures are printed, never asserted; a failed operation stops the run loudly. Everything lives
 * in namespaces `pfb-<hex>-{on,off}-*` and a temp dir, removed at the end, on failure and on
 * SIGINT/SIGTERM/SIGHUP. Nothing touches the root namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callRpc } from '../../src/agent/client.js';
import type { PolicyStatusView } from '../../src/agent/rpc-policy.js';
import type { ChangeReport } from '../../src/resources/store.js';
import type { FlowRecord } from '../../src/flows/types.js';
import { DEFAULT_FLOWS } from '../../src/agent/config.js';
import { NodeFixture } from '../../src/lab/node-fixture.js';
import { delNetns, execIn, listNetns, netnsPath } from '../../src/lab/netns.js';
import { readSysctl, writeSysctl } from '../../src/dataplane/linux/netns.js';
import { reapExpired } from '../../src/dataplane/linux/netfilter/topology-fixture.js';
import { forEachFlag, intArg, runBench, otherFlag } from '../common.js';
import type { ClientSummary } from './load.js';

// ---------------------------------------------------------------------------------------------
// options

interface Options {
  quick: boolean;
  rounds: number;
  tputRounds: number;
  seconds: number;
  rateSeconds: number;
  floodSeconds: number;
  floodRounds: number;
  idleSeconds: number;
  conc: number;
  capacity: number | undefined;
  json: string | undefined;
}

const USAGE =
  'usage: node dist/bench/flows/main.js [--quick] [--rounds N=3] [--tput-rounds N=6] [--seconds N=5] [--rate-seconds N=5] [--flood-seconds N=10] [--flood-rounds N=4] [--idle-seconds N=20] [--conc N=16] [--capacity N] [--json FILE]\n' +
  '  --quick: 1 round, 2 s iperf3, 2 s rate, 1 flood of 4 s, no warm-up, no idle phase (under a minute)\n';

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { quick: false, rounds: 3, tputRounds: 6, seconds: 5, rateSeconds: 5, floodSeconds: 10, floodRounds: 4, idleSeconds: 20, conc: 16, capacity: undefined, json: undefined };
  const set = new Set<string>();
  forEachFlag(argv, (flag, val, raw) => {
    set.add(flag);
    switch (flag) {
      case '--quick': o.quick = true; break;
      case '--rounds': o.rounds = intArg(flag, val(), 1, 20); break;
      case '--tput-rounds': o.tputRounds = intArg(flag, val(), 1, 40); break;
      case '--seconds': o.seconds = intArg(flag, val(), 1, 120); break;
      case '--rate-seconds': o.rateSeconds = intArg(flag, val(), 1, 120); break;
      case '--flood-seconds': o.floodSeconds = intArg(flag, val(), 1, 300); break;
      case '--flood-rounds': o.floodRounds = intArg(flag, val(), 1, 20); break;
      case '--idle-seconds': o.idleSeconds = intArg(flag, val(), 0, 300); break;
      case '--conc': o.conc = intArg(flag, val(), 1, 512); break;
      case '--capacity': o.capacity = intArg(flag, val(), 16, 1_000_000); break;
      case '--json': o.json = val(); break;
      default:
        otherFlag(flag, raw, USAGE);
    }
  });
  if (o.quick) {
    // Explicit flags win over --quick's values.
    if (!set.has('--rounds')) o.rounds = 1;
    if (!set.has('--tput-rounds')) o.tputRounds = 1;
    if (!set.has('--seconds')) o.seconds = 2;
    if (!set.has('--rate-seconds')) o.rateSeconds = 2;
    if (!set.has('--flood-seconds')) o.floodSeconds = 4;
    if (!set.has('--flood-rounds')) o.floodRounds = 1;
    if (!set.has('--idle-seconds')) o.idleSeconds = 0;
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// helpers

const log = (s: string): void => void process.stderr.write(`[bench] ${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const LOAD_JS = join(__dirname, 'load.js');
const IPERF_PORT = 5201;
const LOAD_PORT = 8080;
/** Conntrack closing timeouts in both node namespaces (seconds). */
const CT_CLOSE_TIMEOUT = '1';

function childEnv(): NodeJS.ProcessEnv {
  const e = { ...process.env };
  delete e.NODE_EXTRA_CA_CERTS; // ~60 ms more per Node start (FACTS.md)
  return e;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i] as number) : c.padStart(w[i] as number))).join('  ').trimEnd();
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

const f = (x: number | undefined, digits = 1): string => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits));
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || !(b > 0) || Number.isNaN(a) ? '-' : (a / b).toFixed(3));
const mib = (kib: number | undefined): string => (kib === undefined || Number.isNaN(kib) ? '-' : (kib / 1024).toFixed(1));

// ---------------------------------------------------------------------------------------------
// /proc

const CLK_TCK = 100; // USER_HZ on Linux

/** utime+stime of a process (all its threads), ms. */
function procCpuMs(pid: number): number {
  const rest = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = rest.slice(rest.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** utime+stime per thread name ("main" for the main thread), ms. */
function threadCpuMs(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = tid === String(pid) ? 'main' : s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
      const fields = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out[name] = (out[name] ?? 0) + ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
    } catch {
      // the thread ended
    }
  }
  return out;
}

function procStatus(pid: number): { rssKiB: number; hwmKiB: number; threads: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), threads: Number(/^Threads:\s+(\d+)/m.exec(s)?.[1] ?? NaN) };
}

interface MachineCpu {
  readonly busy: number;
  readonly softirq: number;
  readonly steal: number;
  readonly total: number;
}

/** The machine's CPU time in jiffies (first line of /proc/stat). */
function machineCpu(): MachineCpu {
  const v = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, softirq: v[6] ?? 0, steal: v[7] ?? 0, total };
}

/** Percent of the whole machine (all CPUs) between two readings. */
function machinePct(a: MachineCpu, b: MachineCpu): { busy: number; softirq: number; steal: number } {
  const t = Math.max(1, b.total - a.total);
  return { busy: (100 * (b.busy - a.busy)) / t, softirq: (100 * (b.softirq - a.softirq)) / t, steal: (100 * (b.steal - a.steal)) / t };
}

/**
 * Messages the kernel dropped on the process's NETLINK_NETFILTER sockets (the Drops column of
 * /proc/<pid>/net/netlink, which shows the namespace the process lives in): exact, where the
 * reader's own count of conntrack losses is a lower bound (one per ENOBUFS).
 */
function netlinkDrops(pid: number): number {
  let n = 0;
  for (const line of readFileSync(`/proc/${pid}/net/netlink`, 'utf8').split('\n').slice(1)) {
    const c = line.trim().split(/\s+/);
    if (c[1] === '12') n += Number(c[8] ?? 0);
  }
  return n;
}

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** Samples a process's VmRSS every intervalMs until stop(). */
class RssSampler {
  private readonly timer: NodeJS.Timeout;
  peakKiB = 0;
  samples = 0;
  constructor(private readonly pid: number, intervalMs = 100) {
    this.take();
    this.timer = setInterval(() => this.take(), intervalMs);
  }
  private take(): void {
    try {
      const r = procStatus(this.pid).rssKiB;
      if (r > this.peakKiB) this.peakKiB = r;
      this.samples++;
    } catch {
      // the agent is gone: the phase fails on its own
    }
  }
  stop(): { peakKiB: number; samples: number } {
    clearInterval(this.timer);
    this.take();
    return { peakKiB: this.peakKiB, samples: this.samples };
  }
}

// ---------------------------------------------------------------------------------------------
// metrics (Prometheus text from the agent's `metrics` RPC)

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

class Metrics {
  constructor(private readonly samples: readonly Sample[]) {}
  sum(name: string, labels: Readonly<Record<string, string>> = {}): number {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// the two nodes

interface Pod {
  readonly name: string;
  readonly ns: string;
  readonly v4: string;
}

interface Side {
  readonly key: 'on' | 'off';
  readonly flows: boolean;
  readonly node: NodeFixture;
  readonly pid: number;
  readonly srv: Pod;
  readonly cli: Pod;
  /** The load.js server's pid (its CPU is read around each connection run). */
  serverPid?: number;
}

const POLICY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-from-client, namespace: bench}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: ${IPERF_PORT}}, {port: ${LOAD_PORT}}]}]
`;

async function metricsOf(s: Side): Promise<Metrics> {
  const r = await callRpc<{ text: string }>(s.node.agent.socket, 'metrics', {}, 10_000);
  return new Metrics(parseProm(r.text));
}

async function addPod(node: NodeFixture, name: string, app: string): Promise<Pod> {
  const { ns, path } = await node.newPodNs(name);
  const list = node.conflist({ plugin: { args: { cni: { labels: [{ key: 'app', value: app }] } } } });
  const res = await node.runtime.add(list, node.attachment(`ctr-${name}`, path, `K8S_POD_NAMESPACE=bench;K8S_POD_NAME=${name}`));
  const ips = (res.ips ?? []) as readonly { readonly address: string }[];
  const v4 = ips.map((i) => i.address.split('/')[0] as string).find((a) => a.includes('.'));
  if (!v4) throw new Error(`pod ${name}: no IPv4 address in ${JSON.stringify(res)}`);
  return { name, ns, v4 };
}

async function applyPolicy(node: NodeFixture): Promise<void> {
  const r = await callRpc<ChangeReport>(node.agent.socket, 'resources.apply', { text: POLICY }, 30_000);
  const deadline = Date.now() + 30_000;
  for (let i = 0; i < 3000 && Date.now() < deadline; i++) {
    const st = await callRpc<PolicyStatusView>(node.agent.socket, 'policy.status');
    if (!st.enabled) throw new Error(`${node.nodeNs}: policy is not enabled in the agent`);
    if (st.programmedRevision >= r.revision) return;
    await sleep(20);
  }
  throw new Error(`${node.nodeNs}: policy revision ${r.revision} not programmed within 30 s`);
}

// ---------------------------------------------------------------------------------------------
// child processes (servers in pods, clients); all killed in cleanup

const children = new Set<ChildProcess>();

function spawnIn(ns: string, cmd: string, args: readonly string[]): ChildProcess {
  const c = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() });
  children.add(c);
  c.once('exit', () => children.delete(c));
  c.once('error', () => children.delete(c));
  return c;
}

async function killChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const done = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGKILL');
  await Promise.race([done, sleep(3000)]);
}

/** Runs to completion (bounded by timeoutMs); stdout, stderr and the exit code. */
function runIn(ns: string, cmd: string, args: readonly string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawnIn(ns, cmd, args);
    let stdout = '';
    let stderr = '';
    c.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.once('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

async function waitListening(ns: string, port: number, c: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (c.exitCode !== null) throw new Error(`${what} in ${ns} exited with ${c.exitCode}`);
    const r = await execIn(ns, 'ss', ['-Hltn', `sport = :${port}`]);
    if (r.stdout.trim()) return;
    await sleep(50);
  }
  throw new Error(`${what} in ${ns} does not listen on ${port}`);
}

async function startServers(s: Side, limitS: number): Promise<void> {
  const ip = spawnIn(s.srv.ns, 'iperf3', ['-s', '-p', String(IPERF_PORT)]);
  await waitListening(s.srv.ns, IPERF_PORT, ip, 'iperf3 -s');
  const ld = spawnIn(s.srv.ns, process.execPath, [LOAD_JS, 'server', String(LOAD_PORT), String(limitS)]);
  await waitListening(s.srv.ns, LOAD_PORT, ld, 'load.js server');
  s.serverPid = ld.pid; // `ip netns exec` execs: the child is the server itself
}

interface IperfResult {
  readonly bps: number;
  readonly retransmits: number;
  readonly cpuSender: number;
  readonly cpuReceiver: number;
}

async function iperf(s: Side, seconds: number): Promise<IperfResult> {
  const args = ['-c', s.srv.v4, '-p', String(IPERF_PORT), '-t', String(seconds), '-J'];
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await runIn(s.cli.ns, 'iperf3', args, (seconds + 30) * 1000);
    // "the server is busy" right after the previous test while the server resets: retry.
    if (r.code !== 0 && /busy/i.test(r.stdout)) {
      await sleep(300);
      continue;
    }
    if (r.code !== 0) throw new Error(`iperf3 ${args.join(' ')} in ${s.cli.ns} exited ${r.code}: ${(r.stdout || r.stderr).slice(0, 1500)}`);
    const j = JSON.parse(r.stdout) as {
      error?: string;
      end: { sum_received?: { bits_per_second: number }; sum_sent?: { retransmits?: number }; cpu_utilization_percent?: { host_total: number; remote_total: number } };
    };
    if (j.error) throw new Error(`iperf3 in ${s.cli.ns}: ${j.error}`);
    const bps = j.end.sum_received?.bits_per_second;
    if (bps === undefined) throw new Error('iperf3: no end.sum_received');
    return { bps, retransmits: j.end.sum_sent?.retransmits ?? NaN, cpuSender: j.end.cpu_utilization_percent?.host_total ?? NaN, cpuReceiver: j.end.cpu_utilization_percent?.remote_total ?? NaN };
  }
  throw new Error(`iperf3 in ${s.cli.ns}: server busy three times`);
}

async function connections(s: Side, seconds: number, conc: number): Promise<ClientSummary> {
  const r = await runIn(s.cli.ns, process.execPath, [LOAD_JS, 'client', s.srv.v4, String(LOAD_PORT), String(seconds), String(conc)], (seconds + 60) * 1000);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !line.startsWith('{')) throw new Error(`load.js client in ${s.cli.ns} exited ${r.code}: ${(r.stderr || r.stdout).slice(0, 1500)}`);
  const sum = JSON.parse(line) as ClientSummary;
  if (sum.ok === 0) throw new Error(`load.js client in ${s.cli.ns}: no connection succeeded ${line}`);
  return sum;
}

// ---------------------------------------------------------------------------------------------
// settling: conntrack entries of the last phase removed, and their events recorded

const flowsTotal = (m: Metrics): number => m.sum('podnet_flows_total');

/** Until the agent's flow count stops moving (3 polls 200 ms apart), at most maxMs. */
async function drained(s: Side, maxMs = 15_000): Promise<Metrics> {
  let m = await metricsOf(s);
  if (!s.flows) return m;
  let last = flowsTotal(m);
  let still = 0;
  const deadline = Date.now() + maxMs;
  for (let i = 0; i < 1000 && Date.now() < deadline && still < 3; i++) {
    await sleep(200);
    m = await metricsOf(s);
    const n = flowsTotal(m);
    still = n === last ? still + 1 : 0;
    last = n;
  }
  if (still < 3) log(`${s.key}: the flow count still moved after ${maxMs} ms`);
  return m;
}

interface Settled {
  /** Before the reap: the agent's counters, conntrack entries left for the reap, netlink drops. */
  readonly preReap: Metrics;
  readonly ctAtReap: number;
  readonly dropsAtReap: number;
  /** After the reap and the drain. */
  readonly metrics: Metrics;
  readonly ctLeft: number;
  readonly drops: number;
}

const ctCount = (s: Side): number => Number(readSysctl(netnsPath(s.node.nodeNs), 'net/netfilter/nf_conntrack_count') ?? NaN);

/**
 * Waits out conntrack's 1 s closing timeouts and lets the agent drain what conntrack's GC removed,
 * then reaps what is left (a dump removes expired entries at once: a burst of DESTROY events) and
 * lets the agent drain again.
 */
async function settle(s: Side): Promise<Settled> {
  await sleep(1300);
  const preReap = await drained(s);
  const ctAtReap = ctCount(s);
  const dropsAtReap = netlinkDrops(s.pid);
  reapExpired(netnsPath(s.node.nodeNs));
  const metrics = await drained(s);
  return { preReap, ctAtReap, dropsAtReap, metrics, ctLeft: ctCount(s), drops: netlinkDrops(s.pid) };
}

// ---------------------------------------------------------------------------------------------
// results

interface Window {
  readonly wallMs: number;
  readonly agentCpuMs: number;
  readonly threadsCpuMs: Readonly<Record<string, number>>;
  /** The whole machine during the window, % of all CPUs (other tenants included). */
  readonly machine: { readonly busy: number; readonly softirq: number; readonly steal: number };
}

interface ThroughputRun extends IperfResult, Window {
  readonly side: 'on' | 'off';
  readonly round: number;
}

interface ConnRun extends Window {
  readonly phase: 'rate' | 'flood';
  readonly side: 'on' | 'off';
  readonly round: number;
  readonly client: ClientSummary;
  /** CPU of the client and of the server over the run, ms. */
  readonly clientCpuMs: number;
  readonly serverCpuMs: number;
  /** Deltas of the agent's counters over the run and its drain (0 with flows off). */
  readonly recordsNew: number;
  readonly recordsEnd: number;
  /** "end" records made before the reap (conntrack's GC removed those entries). */
  readonly recordsEndBeforeReap: number;
  readonly lostKernel: number;
  readonly lostRing: number;
  /** Exact kernel drops on the agent's netfilter sockets (/proc/<pid>/net/netlink), whole run; of which during the reap. */
  readonly netlinkDrops: number;
  readonly netlinkDropsInReap: number;
  /** Conntrack entries left for the reap; after it. */
  readonly ctAtReap: number;
  readonly ctLeft: number;
  readonly drainMs: number;
  readonly drainCpuMs: number;
  readonly rssBeforeKiB: number;
  readonly rssPeakKiB: number;
  readonly rssAfterKiB: number;
  readonly hwmKiB: number;
  readonly rssSamples: number;
  readonly heapUsedBefore: number;
  readonly heapUsedAfter: number;
  readonly heapTotalAfter: number;
  readonly ringKept: number;
  readonly ringOverwrittenTotal: number;
  readonly recordsTotal: number;
  readonly threads: number;
}

interface IdleMemory {
  readonly side: 'on' | 'off';
  readonly seconds: number;
  readonly rssEndKiB: number;
  readonly rssPeakKiB: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly cpuMs: number;
}

interface Results {
  meta: Record<string, string | number | boolean>;
  idle: IdleMemory[];
  throughput: ThroughputRun[];
  rate: ConnRun[];
  flood: ConnRun[];
  checks: string[];
}

function cpuDelta(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) out[k] = (b[k] ?? 0) - (a[k] ?? 0);
  return out;
}

async function windowed<T>(s: Side, fn: () => Promise<T>): Promise<{ value: T } & Window> {
  const m0 = machineCpu();
  const c0 = procCpuMs(s.pid);
  const t0 = threadCpuMs(s.pid);
  const w0 = performance.now();
  const value = await fn();
  const wallMs = performance.now() - w0;
  return { value, wallMs, agentCpuMs: procCpuMs(s.pid) - c0, threadsCpuMs: cpuDelta(t0, threadCpuMs(s.pid)), machine: machinePct(m0, machineCpu()) };
}

// ---------------------------------------------------------------------------------------------
// clean-up (always: normal end, failure, SIGINT/SIGTERM/SIGHUP)

let prefix = '';
let workDir: string | undefined;
const fixtures: Promise<NodeFixture | undefined>[] = [];
let cleaned: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaned ??= (async () => {
    for (const c of [...children]) await killChild(c);
    for (const p of fixtures) {
      const node = await p.catch(() => undefined);
      if (node) await node.close().catch((e: unknown) => process.stderr.write(`[bench] cleanup: ${String(e)}\n`));
    }
    if (prefix) {
      await sleep(100);
      for (const ns of listNetns(prefix)) await delNetns(ns).catch(() => undefined);
      const left = listNetns(prefix);
      if (left.length) process.stderr.write(`[bench] could not remove namespaces: ${left.join(' ')}\n`);
    }
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  })();
  return cleaned;
}

// ---------------------------------------------------------------------------------------------
// the run

async function makeSide(key: 'on' | 'off', capacity: number | undefined): Promise<Side> {
  const flows = key === 'on';
  const cfg = join(workDir as string, `agent-${key}.json`);
  writeFileSync(cfg, JSON.stringify({ policy: { enabled: true, logDrops: true }, flows: { enabled: flows, ...(capacity ? { capacity } : {}) } }));
  const starting = NodeFixture.start({ prefix: `${prefix}-${key}`, pools: ['v4=10.200.0.0/16,blockSize=26'], logLevel: 'info', agentArgs: ['--config', cfg] });
  fixtures.push(starting.catch(() => undefined));
  const node = await starting;
  const pid = node.agent.pid;
  if (pid === undefined) throw new Error(`${key}: the agent has no pid`);
  const srv = await addPod(node, 'srv', 'server');
  const cli = await addPod(node, 'cli', 'client');
  await applyPolicy(node);
  // Both nodes alike: conntrack closing timeouts (node), room for the server's TIME_WAIT sockets
  // and the client's ephemeral ports (pods). All in namespaces this bench made.
  const nodePath = netnsPath(node.nodeNs);
  for (const k of ['tcp_timeout_time_wait', 'tcp_timeout_close', 'tcp_timeout_fin_wait', 'tcp_timeout_close_wait', 'tcp_timeout_last_ack']) {
    if (!writeSysctl(nodePath, `net/netfilter/nf_conntrack_${k}`, CT_CLOSE_TIMEOUT)) throw new Error(`${node.nodeNs}: no nf_conntrack_${k}`);
  }
  writeSysctl(netnsPath(srv.ns), 'net/ipv4/tcp_max_tw_buckets', '1000000');
  writeSysctl(netnsPath(cli.ns), 'net/ipv4/ip_local_port_range', '10000 65000');
  return { key, flows, node, pid, srv, cli };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('bench/flows needs root (namespaces, veths)');
  if (!existsSync(LOAD_JS)) throw new Error(`${LOAD_JS} is missing: build with \`npm run build\``);
  const t0 = Date.now();
  const cpu0 = machineCpu();
  const load0 = loadavg();
  prefix = `pfb-${randomBytes(3).toString('hex')}`;
  workDir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const capacity = o.capacity ?? DEFAULT_FLOWS.capacity;
  log(
    `namespaces ${prefix}-{on,off}-*; load average ${load0}; ${o.tputRounds} round(s) of iperf3 ${o.seconds} s, ${o.rounds} of rate ${o.rateSeconds} s, ` +
      `${o.floodRounds} flood(s) of ${o.floodSeconds} s; ${o.conc} concurrent; ring capacity ${capacity}`,
  );

  const on = await makeSide('on', o.capacity);
  const off = await makeSide('off', o.capacity);
  const sides = [on, off] as const;
  const res: Results = { meta: {}, idle: [], throughput: [], rate: [], flood: [], checks: [] };
  const check = (ok: boolean, what: string): void => {
    res.checks.push(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
    if (!ok) throw new Error(`check failed: ${what}`);
  };

  // The configuration took: recording and accounting on one node only, policy on both.
  for (const s of sides) {
    const obs = await callRpc<{ enabled: boolean }>(s.node.agent.socket, 'flows.observe', { filter: {}, limit: 1 });
    check(obs.enabled === s.flows, `${s.key}: flows.observe says enabled=${obs.enabled}`);
    const acct = readSysctl(netnsPath(s.node.nodeNs), 'net/netfilter/nf_conntrack_acct');
    check(acct === (s.flows ? '1' : '0'), `${s.key}: nf_conntrack_acct=${acct} in the node namespace`);
    const st = await callRpc<PolicyStatusView>(s.node.agent.socket, 'policy.status');
    check(st.enabled && st.programmedRevision > 0, `${s.key}: policy enabled, programmed revision ${st.programmedRevision}`);
  }

  // Servers live for the whole run (bounded by the run's own worst case).
  const limitS = 300 + o.idleSeconds + 2 * (o.tputRounds * (o.seconds + 10) + o.rounds * (o.rateSeconds + 40) + o.floodRounds * (o.floodSeconds + 40));
  for (const s of sides) await startServers(s, limitS);

  // Warm-up (not counted): the JIT of the agent, client and server; the first records.
  if (!o.quick) log('warm-up');
  for (const s of sides) {
    if (!o.quick) await iperf(s, 1);
    const c = await connections(s, o.quick ? 1 : 2, o.conc);
    await settle(s);
    if (s.flows) {
      const recs = await callRpc<{ records: readonly FlowRecord[] }>(s.node.agent.socket, 'flows.observe', { filter: { pod: 'bench/srv', event: 'new', port: LOAD_PORT }, limit: 5 });
      const r = recs.records.find((x) => x.src.pod === 'cli' && x.dst.pod === 'srv' && x.dst.port === LOAD_PORT);
      check(r !== undefined && r.policies.some((p) => p.name === 'server-from-client'), `on: a warm-up connection is recorded with its rule (${r ? r.reason : 'no record'}; ${c.ok} connections)`);
    }
  }

  const order = (round: number): readonly Side[] => (round % 2 === 0 ? [on, off] : [off, on]);

  // 1. throughput
  for (let round = 0; round < o.tputRounds; round++) {
    for (const s of order(round)) {
      const w = await windowed(s, () => iperf(s, o.seconds));
      res.throughput.push({ side: s.key, round, ...w.value, wallMs: w.wallMs, agentCpuMs: w.agentCpuMs, threadsCpuMs: w.threadsCpuMs, machine: w.machine });
      log(`throughput round ${round + 1} ${s.key}: ${(w.value.bps / 1e9).toFixed(2)} Gbit/s`);
    }
  }
  for (const s of sides) await settle(s);

  // 2. connection rate (+ coverage), and 3. flood (+ memory): the same measurement, longer.
  const connectionRun = async (s: Side, phase: 'rate' | 'flood', round: number, seconds: number): Promise<ConnRun> => {
    const before = await drained(s);
    const drops0 = netlinkDrops(s.pid);
    const st0 = procStatus(s.pid);
    const sampler = new RssSampler(s.pid, 100);
    const srv0 = s.serverPid ? procCpuMs(s.serverPid) : NaN;
    const w = await windowed(s, () => connections(s, seconds, o.conc));
    const serverCpuMs = s.serverPid ? procCpuMs(s.serverPid) - srv0 : NaN;
    // Drain: conntrack's closing timeouts, the agent recording every end, the reap.
    const c1 = procCpuMs(s.pid);
    const d0 = performance.now();
    const afterNew = await drained(s);
    const st = await settle(s);
    const drainMs = performance.now() - d0;
    const drainCpuMs = procCpuMs(s.pid) - c1;
    const peak = sampler.stop();
    const st1 = procStatus(s.pid);
    const a = st.metrics;
    const d = (m: Metrics, name: string, labels: Readonly<Record<string, string>> = {}): number => m.sum(name, labels) - before.sum(name, labels);
    return {
      phase,
      side: s.key,
      round,
      client: w.value,
      wallMs: w.wallMs,
      agentCpuMs: w.agentCpuMs,
      threadsCpuMs: w.threadsCpuMs,
      machine: w.machine,
      clientCpuMs: w.value.cpuMs,
      serverCpuMs,
      recordsNew: d(afterNew, 'podnet_flows_total', { event: 'new', protocol: 'TCP' }),
      recordsEnd: d(a, 'podnet_flows_total', { event: 'end', protocol: 'TCP' }),
      recordsEndBeforeReap: d(st.preReap, 'podnet_flows_total', { event: 'end', protocol: 'TCP' }),
      lostKernel: d(a, 'podnet_flow_records_lost', { where: 'kernel' }),
      lostRing: d(a, 'podnet_flow_records_lost', { where: 'ring' }),
      netlinkDrops: st.drops - drops0,
      netlinkDropsInReap: st.drops - st.dropsAtReap,
      ctAtReap: st.ctAtReap,
      ctLeft: st.ctLeft,
      drainMs,
      drainCpuMs,
      rssBeforeKiB: st0.rssKiB,
      rssPeakKiB: peak.peakKiB,
      rssAfterKiB: st1.rssKiB,
      hwmKiB: st1.hwmKiB,
      rssSamples: peak.samples,
      heapUsedBefore: before.sum('podnet_agent_nodejs_heap_size_used_bytes'),
      heapUsedAfter: a.sum('podnet_agent_nodejs_heap_size_used_bytes'),
      heapTotalAfter: a.sum('podnet_agent_nodejs_heap_size_total_bytes'),
      ringKept: a.sum('podnet_flow_records_buffered'),
      ringOverwrittenTotal: a.sum('podnet_flow_records_lost', { where: 'ring' }),
      recordsTotal: flowsTotal(a),
      threads: st1.threads,
    };
  };

  for (let round = 0; round < o.rounds; round++) {
    for (const s of order(round)) {
      const r = await connectionRun(s, 'rate', round, o.rateSeconds);
      res.rate.push(r);
      log(`rate round ${round + 1} ${s.key}: ${Math.round(r.client.perSecond)} conn/s${s.flows ? `, records new ${r.recordsNew}/${r.client.attempts}, end ${r.recordsEnd}` : ''}`);
    }
  }
  for (let round = 0; round < o.floodRounds; round++) {
    for (const s of order(round)) {
      const r = await connectionRun(s, 'flood', round, o.floodSeconds);
      res.flood.push(r);
      log(`flood round ${round + 1} ${s.key}: ${Math.round(r.client.perSecond)} conn/s, agent CPU ${((r.agentCpuMs / r.wallMs) * 100).toFixed(0)}%, RSS ${mib(r.rssBeforeKiB)} -> peak ${mib(r.rssPeakKiB)} -> ${mib(r.rssAfterKiB)} MiB`);
    }
  }

  // 4. idle: what the agents keep once the floods' garbage can be collected.
  if (o.idleSeconds > 0) {
    log(`idle ${o.idleSeconds} s`);
    const samplers = sides.map((s) => ({ s, sampler: new RssSampler(s.pid, 100), cpu0: procCpuMs(s.pid) }));
    await sleep(o.idleSeconds * 1000);
    for (const { s, sampler, cpu0: c0 } of samplers) {
      const pk = sampler.stop();
      const cpuMs = procCpuMs(s.pid) - c0;
      const mt = await metricsOf(s);
      res.idle.push({ side: s.key, seconds: o.idleSeconds, rssEndKiB: procStatus(s.pid).rssKiB, rssPeakKiB: pk.peakKiB, heapUsed: mt.sum('podnet_agent_nodejs_heap_size_used_bytes'), heapTotal: mt.sum('podnet_agent_nodejs_heap_size_total_bytes'), cpuMs });
    }
  }

  const cpu1 = machineCpu();
  res.meta = {
    prefix,
    rounds: o.rounds,
    tputRounds: o.tputRounds,
    seconds: o.seconds,
    rateSeconds: o.rateSeconds,
    floodSeconds: o.floodSeconds,
    floodRounds: o.floodRounds,
    idleSeconds: o.idleSeconds,
    conc: o.conc,
    capacity,
    quick: o.quick,
    wallSeconds: (Date.now() - t0) / 1000,
    loadavgStart: load0,
    loadavgEnd: loadavg(),
    machineBusyPercent: machinePct(cpu0, cpu1).busy,
    cpus: (readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm) ?? []).length,
    node: process.version,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
  };
  // The agents' own warnings about the readers are evidence too.
  for (const s of sides) {
    const warn = readFileSync(s.node.agent.logFile, 'utf8').split('\n').filter((l) => /flow|reader|conntrack|nflog/i.test(l) && /warn|error/i.test(l));
    res.meta[`agentWarnings_${s.key}`] = warn.length;
    for (const l of warn.slice(0, 5)) res.checks.push(`agent ${s.key} log: ${l.slice(0, 300)}`);
  }
  process.stdout.write(report(res));
  if (o.json) writeFileSync(o.json, JSON.stringify(res, null, 2));
}

// ---------------------------------------------------------------------------------------------
// the report

/** Per round, on/off of g; their median (robust to one round hit by a neighbour's burst). */
function roundRatios<T extends { side: 'on' | 'off'; round: number }>(xs: readonly T[], g: (x: T) => number): number[] {
  const out: number[] = [];
  for (const a of xs.filter((x) => x.side === 'on')) {
    const b = xs.find((x) => x.side === 'off' && x.round === a.round);
    if (b && g(b) > 0) out.push(g(a) / g(b));
  }
  return out;
}
const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const sumOf = <T>(xs: readonly T[], g: (x: T) => number): number => xs.reduce((n, x) => n + g(x), 0);
const pctOf = (a: number, b: number): string => (b > 0 ? `${f((100 * a) / b, 2)}%` : '-');
const cpuPct = (x: Window): number => (100 * x.agentCpuMs) / x.wallMs;

function report(r: Results): string {
  const m = r.meta;
  const out: string[] = [''];
  out.push('bench/flows: flow recording on vs off (two identical nodes, policy on both; 1 NetworkPolicy allowing cli -> srv)');
  out.push(
    `node ${m.node}, kernel ${m.kernel}, ${m.cpus} CPUs; load average ${m.loadavgStart} -> ${m.loadavgEnd}; machine CPU busy ${f(Number(m.machineBusyPercent), 0)}% ` +
      `(other tenants included); ${f(Number(m.wallSeconds), 0)} s; on/off order flipped every round; ring capacity ${m.capacity}`,
  );
  out.push('');
  const by = <T extends { side: 'on' | 'off' }>(xs: readonly T[], side: 'on' | 'off'): T[] => xs.filter((x) => x.side === side);
  const target = (rat: number, lim: number): string => (Number.isNaN(rat) ? '-' : rat >= lim ? `>= ${lim}: met` : `>= ${lim}: MISSED`);
  const tOn = mean(by(r.throughput, 'on').map((x) => x.bps));
  const tOff = mean(by(r.throughput, 'off').map((x) => x.bps));
  const rateOn = by(r.rate, 'on');
  const rateOff = by(r.rate, 'off');
  const floodOn = by(r.flood, 'on');
  const floodOff = by(r.flood, 'off');
  const rOn = mean(rateOn.map((x) => x.client.perSecond));
  const rOff = mean(rateOff.map((x) => x.client.perSecond));
  const fOn = mean(floodOn.map((x) => x.client.perSecond));
  const fOff = mean(floodOff.map((x) => x.client.perSecond));
  const tMed = median(roundRatios(r.throughput, (x) => x.bps));
  const made = (xs: readonly ConnRun[]): number => sumOf(xs, (x) => x.client.attempts);
  const perConnUs = (xs: readonly ConnRun[]): number => mean(xs.map((x) => ((x.agentCpuMs + x.drainCpuMs) * 1000) / x.client.attempts));
  const lat = (xs: readonly ConnRun[]): string => `${f(mean(xs.map((x) => x.client.p50Ms)), 2)} / ${f(mean(xs.map((x) => x.client.p99Ms)), 1)}`;
  const lost = (xs: readonly ConnRun[]): string => `${sumOf(xs, (x) => x.netlinkDrops)} (${sumOf(xs, (x) => x.netlinkDropsInReap)} in the reap); ${sumOf(xs, (x) => x.lostKernel)}`;
  const machine = (xs: readonly Window[]): string => `${f(mean(xs.map((x) => x.machine.busy)), 0)}% / ${f(mean(xs.map((x) => x.machine.softirq)), 0)}%`;
  const rows: string[][] = [
    [`TCP throughput, 1 stream, ${m.tputRounds} x ${m.seconds} s (Gbit/s, mean)`, f(tOn / 1e9, 2), f(tOff / 1e9, 2), ratio(tOn, tOff), target(tOn / tOff, 0.95)],
    ['  median of the per-round on/off ratios', '', '', f(tMed, 3), target(tMed, 0.95)],
    [`short connections/s, ${m.rounds} x ${m.rateSeconds} s, ${m.conc} concurrent (mean)`, f(rOn, 0), f(rOff, 0), ratio(rOn, rOff), ''],
    ['  median of the per-round on/off ratios', '', '', f(median(roundRatios(r.rate, (x) => x.client.perSecond)), 3), ''],
    ['  connection p50 / p99 (ms)', lat(rateOn), lat(rateOff), '', ''],
    ['  coverage: "new" records / connections made', pctOf(sumOf(rateOn, (x) => x.recordsNew), made(rateOn)), 'off', '', ''],
    ['  coverage: "end" records / connections made', pctOf(sumOf(rateOn, (x) => x.recordsEnd), made(rateOn)), 'off', '', ''],
    ['  kernel drops, exact (in the reap); agent\'s lost count', lost(rateOn), 'off', '', ''],
    ['  machine busy / softirq (% of all CPUs)', machine(rateOn), machine(rateOff), '', ''],
    [`flood: ${m.floodRounds} x ${m.floodSeconds} s, connections/s (mean)`, f(fOn, 0), f(fOff, 0), ratio(fOn, fOff), ''],
    ['  median of the per-round on/off ratios', '', '', f(median(roundRatios(r.flood, (x) => x.client.perSecond)), 3), ''],
    ['  agent CPU during the flood (% of a core)', f(mean(floodOn.map(cpuPct))), f(mean(floodOff.map(cpuPct))), '', ''],
    ['  agent CPU per connection (us, flood + drain)', f(perConnUs(floodOn)), f(perConnUs(floodOff)), '', ''],
    ['  agent RSS before -> peak -> after, first flood (MiB)', rssLine(floodOn[0]), rssLine(floodOff[0]), '', ''],
    ['  agent RSS before -> peak -> after, last flood (MiB)', rssLine(floodOn.at(-1)), rssLine(floodOff.at(-1)), '', ''],
    ['  agent RSS, highest sample of the run (MiB)', mib(Math.max(...[...rateOn, ...floodOn].map((x) => x.rssPeakKiB))), mib(Math.max(...[...rateOff, ...floodOff].map((x) => x.rssPeakKiB))), '', ''],
    ['  ring kept / capacity after the last flood', `${floodOn.at(-1)?.ringKept ?? '-'} / ${m.capacity}`, 'off', '', ''],
    ['  coverage in the floods: new; end', `${pctOf(sumOf(floodOn, (x) => x.recordsNew), made(floodOn))}; ${pctOf(sumOf(floodOn, (x) => x.recordsEnd), made(floodOn))}`, 'off', '', ''],
    ['  kernel drops, exact (in the reap); agent\'s lost count', lost(floodOn), 'off', '', ''],
    ['  machine busy / softirq (% of all CPUs)', machine(floodOn), machine(floodOff), '', ''],
  ];
  const idle = (k: 'on' | 'off'): string => {
    const x = r.idle.find((i) => i.side === k);
    return x ? `${mib(x.rssEndKiB)}; ${f(x.heapUsed / 2 ** 20)} (${f(x.heapTotal / 2 ** 20)})` : '-';
  };
  if (r.idle.length) rows.push([`idle ${m.idleSeconds} s after the floods: RSS; heap used (total) (MiB)`, idle('on'), idle('off'), '', '']);
  // V8 collects lazily: the lowest heap after a drain with the ring full is the best estimate of what the ring keeps.
  const fullOn = [...rateOn, ...floodOn].filter((x) => x.ringKept >= Number(m.capacity));
  const lowHeap = (xs: readonly ConnRun[]): number => Math.min(...xs.map((x) => x.heapUsedAfter), ...r.idle.filter((i) => i.side === xs[0]?.side).map((i) => i.heapUsed));
  if (fullOn.length) {
    rows.push(['heap used, lowest after a drain with the ring full (MiB)', f(lowHeap(fullOn) / 2 ** 20), f(lowHeap([...rateOff, ...floodOff]) / 2 ** 20), '', '']);
    rows.push(['  -> heap per kept record, on minus off (bytes, estimate)', f((lowHeap(fullOn) - lowHeap([...rateOff, ...floodOff])) / Number(m.capacity), 0), '', '', '']);
  }
  out.push(table(['summary', 'flows on', 'flows off', 'on/off', 'target'], rows));
  out.push('');

  out.push(`throughput per round (iperf3 -t ${m.seconds}, 1 stream)`);
  const tRows = r.throughput.map((x) => [`round ${x.round + 1} ${x.side}`, f(x.bps / 1e9, 2), String(x.retransmits), `${f(x.cpuSender, 0)}/${f(x.cpuReceiver, 0)}`, f(x.agentCpuMs, 0), f(x.machine.busy, 0)]);
  out.push(table(['', 'Gbit/s', 'retr', 'iperf3 cpu snd/rcv %', 'agent CPU ms', 'machine busy %'], tRows));
  for (let round = 0; round < Number(m.tputRounds); round++) {
    const a = r.throughput.find((x) => x.round === round && x.side === 'on');
    const b = r.throughput.find((x) => x.round === round && x.side === 'off');
    out.push(`  round ${round + 1} on/off ${ratio(a?.bps, b?.bps)}`);
  }
  out.push('');

  const connHead = ['', 'conn/s', 'made', 'failed', 'p50/p99 ms', 'new recs', 'end recs', 'ends by GC', 'ct at reap', 'drops (reap)', 'lost', 'agent %', 'cli/srv %', 'machine %'];
  const connRows = (xs: readonly ConnRun[]): string[][] =>
    xs.map((x) => {
      const on = x.side === 'on';
      return [
        `round ${x.round + 1} ${x.side}`,
        f(x.client.perSecond, 0),
        String(x.client.attempts),
        String(x.client.failed),
        `${f(x.client.p50Ms, 2)}/${f(x.client.p99Ms, 1)}`,
        on ? String(x.recordsNew) : '-',
        on ? String(x.recordsEnd) : '-',
        on ? String(x.recordsEndBeforeReap) : '-',
        String(x.ctAtReap),
        on ? `${x.netlinkDrops} (${x.netlinkDropsInReap})` : '-',
        on ? String(x.lostKernel) : '-',
        f(cpuPct(x), 1),
        `${f((100 * x.clientCpuMs) / x.wallMs, 0)}/${f((100 * x.serverCpuMs) / x.wallMs, 0)}`,
        `${f(x.machine.busy, 0)}`,
      ];
    });
  const ratios = (xs: readonly ConnRun[], rounds: number): void => {
    for (let round = 0; round < rounds; round++) {
      const a = xs.find((x) => x.round === round && x.side === 'on');
      const b = xs.find((x) => x.round === round && x.side === 'off');
      out.push(`  round ${round + 1} on/off ${ratio(a?.client.perSecond, b?.client.perSecond)}`);
    }
  };
  const legend =
    '  "made": connections attempted; "ends by GC": end records before the bench reaped conntrack (a dump); "ct at reap": entries the reap removed; ' +
    '"drops (reap)": messages the kernel dropped on the agent\'s netfilter sockets, exact, (of which during the reap); "lost": the agent\'s podnet_flow_records_lost{where="kernel"} delta; ' +
    '"agent %", "cli/srv %": CPU in % of a core; "machine %": of all CPUs, other tenants included';
  out.push(`connection rate per round (${m.rateSeconds} s, ${m.conc} concurrent)`);
  out.push(table(connHead, connRows(r.rate)));
  ratios(r.rate, Number(m.rounds));
  out.push('');
  out.push(`floods (${m.floodSeconds} s each, ${m.conc} concurrent)`);
  out.push(table(connHead, connRows(r.flood)));
  ratios(r.flood, Number(m.floodRounds));
  out.push(legend);
  out.push('');

  // Memory of the flows-on agent across every connection phase, in order: bounded if the peaks
  // level off while the records made keep growing.
  out.push('agent memory through every connection phase, in order (RSS sampled every 100 ms from the start of the phase to the end of its drain)');
  const memRows = [...r.rate, ...r.flood].map((x) => [
    `${x.phase} ${x.round + 1} ${x.side}`,
    x.side === 'on' ? String(x.recordsTotal) : '-',
    mib(x.rssBeforeKiB),
    mib(x.rssPeakKiB),
    mib(x.rssAfterKiB),
    mib(x.hwmKiB),
    `${f(x.heapUsedBefore / 2 ** 20)} -> ${f(x.heapUsedAfter / 2 ** 20)} (${f(x.heapTotalAfter / 2 ** 20)})`,
    x.side === 'on' ? `${x.ringKept}` : '-',
    x.side === 'on' ? String(x.ringOverwrittenTotal) : '-',
    f(x.agentCpuMs, 0),
    f(x.drainCpuMs, 0),
    f(x.drainMs / 1000, 1),
    String(x.threads),
  ]);
  out.push(table(['', 'records made (total)', 'RSS before', 'peak', 'after', 'VmHWM', 'heap used MiB (total)', 'ring kept', 'overwritten (total)', 'cpu ms run', 'cpu ms drain', 'drain s', 'threads'], memRows));
  const threads: Record<string, number> = {};
  let wall = 0;
  for (const x of floodOn) {
    wall += x.wallMs;
    for (const [k, v] of Object.entries(x.threadsCpuMs)) threads[k] = (threads[k] ?? 0) + v;
  }
  const parts = Object.entries(threads)
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k === 'node' ? 'other threads (flow readers, V8 GC/compiler, libuv; all named "node")' : k === 'main' ? 'main thread' : k} ${f((100 * v) / wall)}%`);
  out.push(`  flows-on agent's CPU by thread during the floods (% of a core): ${parts.join(', ') || '-'}`);
  out.push('');
  out.push('checks:');
  for (const c of r.checks) out.push(`  ${c}`);
  out.push('');
  return out.join('\n');
}

function rssLine(x: ConnRun | undefined): string {
  return x ? `${mib(x.rssBeforeKiB)} -> ${mib(x.rssPeakKiB)} -> ${mib(x.rssAfterKiB)}` : '-';
}

if (require.main === module) runBench(main, cleanup);
