/**
 * bench/cni: podnet-cni (C shim -> agent) against the reference plugins (bridge + host-local,
 * Debian's containernetworking-plugins 1.1.1), side by side in one run, printing ratios.
 *
 *   node dist/bench/cni/run.js [--runs N] [--burst N] [--rounds N] [--rss-pods N] [--node-runs N]
 *                              [--warmup N] [--no-probe] [--json FILE] [--cpu-prof DIR]
 *
 * One node namespace with an uplink and a real `podnet agent` (src/lab/node-fixture.ts); the
 * reference bridge `cni0` lives in the same node namespace, host-local on its own subnet, ipMasq
 * off. Pod namespaces are created before anything is timed and reused (each phase DELs what it
 * ADDed). This process moves its main thread into the node namespace, so the plugin binaries it
 * spawns start there, as a runtime on that node would start them. Every latency is the wall time
 * of exec -> exit of the plugin binary, measured here; the two systems are interleaved call by
 * call (sequential phases) or round by round (bursts) so that they share the machine's noise.
 *
 * The agent runs at --log-level debug (one "cni" line with ms per call) with bench/cni/agent-probe
 * preloaded (IPAM, lock, fdatasync, dataplane and socket timings in its log; --no-probe to leave
 * it out). Figures are printed, never asserted. An operation that fails (non-zero exit, CNI error)
 * stops the run with the plugin's output. Everything is removed at the end, on failure and on
 * SIGINT/SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { NodeFixture } from '../../src/lab/node-fixture.js';
import { delNetns, listNetns, netnsPath } from '../../src/lab/netns.js';
import { PODNET_CNI_DIR, REFERENCE_CNI_DIR, REPO_ROOT } from '../../src/lab/paths.js';
import { hostIfnameOf } from '../../src/agent/naming.js';
import { enterNetns, forEachFlag, intArg, leaveNetns, quantile, runBench, otherFlag } from '../common.js';

// ---------------------------------------------------------------------------------------------
// options

interface Options {
  runs: number;
  burst: number;
  rounds: number;
  rssPods: number;
  nodeRuns: number;
  warmup: number;
  probe: boolean;
  json: string | undefined;
  cpuProf: string | undefined;
}

const USAGE =
  'usage: node dist/bench/cni/run.js [--runs N=40] [--burst N=50] [--rounds N=2] [--rss-pods N=100] [--node-runs N=8] [--warmup N=3] [--no-probe] [--json FILE] [--cpu-prof DIR]\n';

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { runs: 40, burst: 50, rounds: 2, rssPods: 100, nodeRuns: 8, warmup: 3, probe: true, json: undefined, cpuProf: undefined };
  forEachFlag(argv, (flag, val, raw) => {
    switch (flag) {
      case '--runs': o.runs = intArg(flag, val(), 5); break;
      case '--burst': o.burst = intArg(flag, val(), 2); break;
      case '--rounds': o.rounds = intArg(flag, val(), 1); break;
      case '--rss-pods': o.rssPods = intArg(flag, val(), 0); break;
      case '--node-runs': o.nodeRuns = intArg(flag, val(), 0); break;
      case '--warmup': o.warmup = intArg(flag, val(), 1); break;
      case '--no-probe': o.probe = false; break;
      case '--json': o.json = val(); break;
      case '--cpu-prof': o.cpuProf = val(); break;
      default:
        otherFlag(flag, raw, USAGE);
    }
  });
  return o;
}

// ---------------------------------------------------------------------------------------------
// statistics and output

const p50 = (xs: readonly number[]): number => quantile(xs, 0.5);
const p90 = (xs: readonly number[]): number => quantile(xs, 0.9);
const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const max = (xs: readonly number[]): number => (xs.length ? Math.max(...xs) : NaN);

const fmt = (n: number | undefined, unit = 'ms'): string => {
  if (n === undefined || Number.isNaN(n)) return '-';
  const v = Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
  return unit ? `${v} ${unit}` : v;
};
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) || b <= 0 ? '-' : `${(a / b).toFixed(2)}x`;

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i] as number) : c.padStart(w[i] as number))).join('  ').trimEnd();
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

const log = (s: string): void => void process.stderr.write(`[bench] ${s}\n`);

// ---------------------------------------------------------------------------------------------
// process calls (what a runtime does: exec the binary with env + stdin, wait for its exit)

interface Call {
  readonly ms: number;
  /** When spawn() returned, relative to the start of the call (the runtime's own fork/exec cost). */
  readonly spawnedMs: number;
  readonly startedAt: bigint;
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

const children = new Set<ChildProcess>();
let stopping = false;

function call(binary: string, args: readonly string[], env: NodeJS.ProcessEnv, stdin: string, timeoutMs = 60_000): Promise<Call> {
  if (stopping) return Promise.reject(new Error('interrupted'));
  return new Promise((resolvePromise, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(binary, [...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const spawnedMs = Number(process.hrtime.bigint() - t0) / 1e6;
    children.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      children.delete(child);
      reject(new Error(`${binary}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      clearTimeout(timer);
      children.delete(child);
      resolvePromise({ ms, spawnedMs, startedAt: t0, code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(stdin);
  });
}

function mustOk(c: Call, what: string): Call {
  if (c.code !== 0) {
    throw new Error(`${what} failed (exit ${c.code ?? c.signal}):\n  stdout: ${c.stdout.trim() || '(empty)'}\n  stderr: ${c.stderr.trim() || '(empty)'}`);
  }
  return c;
}

/** This process's environment without CNI_* and NODE_OPTIONS (runtimes pass the rest on, NODE_EXTRA_CA_CERTS included). */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CNI_') && k !== 'NODE_OPTIONS') env[k] = v;
  return env;
}

function withoutCa(): NodeJS.ProcessEnv {
  const env = baseEnv();
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

type SysKey = 'podnet' | 'reference';

interface PluginSystem {
  readonly key: SysKey;
  readonly binary: string;
  /** The plugin's stdin, as libcni builds it (name and cniVersion injected, capabilities dropped). */
  readonly stdin: string;
}

function cniEnv(command: string, containerId?: string, netns?: string): NodeJS.ProcessEnv {
  return {
    ...baseEnv(),
    CNI_COMMAND: command,
    CNI_PATH: `${PODNET_CNI_DIR}:${REFERENCE_CNI_DIR}`,
    ...(containerId !== undefined
      ? { CNI_CONTAINERID: containerId, CNI_NETNS: netns ?? '', CNI_IFNAME: 'eth0', CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=${containerId}` }
      : {}),
  };
}

interface CniCall {
  readonly sys: PluginSystem;
  readonly command: 'ADD' | 'DEL' | 'VERSION';
  readonly containerId?: string;
  readonly netns?: string;
  /** Run this instead of sys.binary (the Node plugin). */
  readonly exec?: { readonly binary: string; readonly args: readonly string[]; readonly ca: boolean };
}

async function cni(c: CniCall): Promise<Call> {
  let env = cniEnv(c.command, c.containerId, c.netns);
  if (c.exec && !c.exec.ca) delete env.NODE_EXTRA_CA_CERTS;
  if (c.exec?.ca) env = { ...env, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt' };
  const r = mustOk(await call(c.exec?.binary ?? c.sys.binary, c.exec?.args ?? [], env, c.sys.stdin), `${c.sys.key} ${c.command}${c.containerId ? ` ${c.containerId}` : ''}`);
  if (c.command === 'ADD') {
    const res = JSON.parse(r.stdout) as { ips?: { address: string }[] };
    if (!res.ips || res.ips.length === 0) throw new Error(`${c.sys.key} ADD ${c.containerId}: result has no ips: ${r.stdout.trim()}`);
  }
  return r;
}
const cniMs = async (c: CniCall): Promise<number> => (await cni(c)).ms;

// ---------------------------------------------------------------------------------------------
// the agent's own view: its log (debug "cni" lines with ms; the probe's lines) and /proc

type Rec = Record<string, unknown> & { readonly msg: string };

class AgentLog {
  private offset = 0;
  constructor(private readonly file: string) {}

  /** Marks the current end: the next take() returns the lines written after it. */
  mark(): void {
    this.offset = existsSync(this.file) ? statSync(this.file).size : 0;
  }

  /** Lines since mark(); waits briefly until `cniLines` "cni" lines are there. */
  async take(cniLines: number): Promise<Rec[]> {
    for (let i = 0; ; i++) {
      const recs = this.read();
      if (recs.filter((r) => r.msg === 'cni').length >= cniLines || i >= 40) return recs;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  private read(): Rec[] {
    const fd = openSync(this.file, 'r');
    try {
      const size = statSync(this.file).size;
      const buf = Buffer.alloc(Math.max(0, size - this.offset));
      let off = 0;
      while (off < buf.length) {
        const n = readSync(fd, buf, off, buf.length - off, this.offset + off);
        if (n <= 0) break;
        off += n;
      }
      const out: Rec[] = [];
      for (const l of buf.subarray(0, off).toString('utf8').split('\n')) {
        if (!l.startsWith('{')) continue;
        try {
          const o = JSON.parse(l) as Record<string, unknown>;
          if (typeof o.msg === 'string') out.push(o as Rec);
        } catch {
          /* a line still being written */
        }
      }
      return out;
    } finally {
      closeSync(fd);
    }
  }
}

const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

/** The agent's "cni" ms for these containers, in their order; every one must be there. */
function agentCniMs(recs: readonly Rec[], command: string, containers: readonly string[]): number[] {
  const by = new Map<string, number>();
  for (const r of recs) if (r.msg === 'cni' && r.command === command && typeof r.container === 'string') by.set(r.container, num(r.ms));
  return containers.map((c) => {
    const v = by.get(c);
    if (v === undefined) throw new Error(`agent log: no ${command} line for ${c} (is the agent at --log-level debug?)`);
    return v;
  });
}

/** Probe lines of one op, optionally only for these keys; field f of each. */
function probe(recs: readonly Rec[], op: string, f: string, keys?: readonly string[]): number[] {
  const want = keys && new Set(keys);
  return recs.filter((r) => r.msg === 'probe' && r.op === op && (!want || want.has(String(r.key)))).map((r) => num(r[f]));
}

/** First start to last end of an op's lines (fields t and `dur`), ms. */
function span(recs: readonly Rec[], op: string, dur: string, keys?: readonly string[]): number {
  const want = keys && new Set(keys);
  const rs = recs.filter((r) => r.msg === 'probe' && r.op === op && (!want || want.has(String(r.key))));
  if (rs.length === 0) return NaN;
  return Math.max(...rs.map((r) => num(r.t) + num(r[dur]))) - Math.min(...rs.map((r) => num(r.t)));
}

function procStatus(pid: number): { rssKiB: number; hwmKiB: number; threads: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), threads: Number(/^Threads:\s+(\d+)/m.exec(s)?.[1] ?? NaN) };
}

// ---------------------------------------------------------------------------------------------
// machine load (other engineers' tests may run meanwhile: report it)

function cpuTimes(): { busy: number; total: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: sum(f) - idle, total: sum(f) };
}
const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** Our own CPU (this process + children that were waited for), ms. */
function ownCpuMs(): number {
  const f = (readFileSync('/proc/self/stat', 'utf8').split(') ')[1] ?? '').split(' ');
  // fields after "comm)": state=0 ... utime=11 stime=12 cutime=13 cstime=14 (clock ticks, 100 Hz)
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
}

/** CPU of this process's waited-for children (and theirs: bridge waits for host-local), ms; 10 ms ticks. */
function childrenCpuMs(): number {
  const f = (readFileSync('/proc/self/stat', 'utf8').split(') ')[1] ?? '').split(' ');
  return (Number(f[13]) + Number(f[14])) * 10;
}

/** The agent's CPU over all its threads (ns precision), and its main thread's time waiting for a CPU, ms. */
function agentSched(pid: number): { cpuMs: number; mainWaitMs: number } {
  let cpu = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      cpu += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* a thread that just ended */
    }
  }
  const main = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ');
  return { cpuMs: cpu / 1e6, mainWaitMs: Number(main[1]) / 1e6 };
}

/** Per-system CPU accounting of sequential calls (deltas around each call; sums telescope). */
class CpuAccount {
  readonly by: Record<SysKey, { calls: number; childMs: number; agentCpuMs: number; agentWaitMs: number }> = {
    podnet: { calls: 0, childMs: 0, agentCpuMs: 0, agentWaitMs: 0 },
    reference: { calls: 0, childMs: 0, agentCpuMs: 0, agentWaitMs: 0 },
  };
  constructor(private readonly agentPid: number) {}

  async around<T>(key: SysKey, fn: () => Promise<T>): Promise<T> {
    const c0 = childrenCpuMs();
    const a0 = agentSched(this.agentPid);
    const r = await fn();
    const a1 = agentSched(this.agentPid);
    const b = this.by[key];
    b.calls++;
    b.childMs += childrenCpuMs() - c0;
    b.agentCpuMs += a1.cpuMs - a0.cpuMs;
    b.agentWaitMs += a1.mainWaitMs - a0.mainWaitMs;
    return r;
  }

  perCall(key: SysKey): { child: number; agentCpu: number; agentWait: number } {
    const b = this.by[key];
    const n = Math.max(1, b.calls);
    return { child: b.childMs / n, agentCpu: b.agentCpuMs / n, agentWait: b.agentWaitMs / n };
  }
}

// ---------------------------------------------------------------------------------------------
// namespaces: this process's main thread goes into the node namespace for the measurements


async function inParallel<T>(items: readonly T[], limit: number, fn: (x: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

// ---------------------------------------------------------------------------------------------
// results

interface BurstRun {
  readonly sys: SysKey;
  readonly verb: 'ADD' | 'DEL';
  readonly round: number;
  readonly wallMs: number;
  /** From the first spawn() to the last spawn() returning: the runtime launching N processes. */
  readonly launchMs: number;
  readonly calls: number[];
  /** podnet only: the agent's side of the burst. */
  readonly agent?: Record<string, number>;
}

interface Results {
  meta: Record<string, unknown>;
  startup: Record<string, number[]>;
  seq: Record<SysKey, { add: number[]; del: number[] }>;
  /** podnet's sequential calls seen from the agent (log + probe). */
  agentSeq: Record<string, number[]>;
  bursts: BurstRun[];
  rss: { idleKiB: number; warmKiB: number; podsKiB: number; afterDelKiB: number; hwmKiB: number; pods: number; threads: number };
  nodePlugin: Record<string, number[]>;
  components: Record<string, number[]>;
  /** CPU per sequential call, ms: the plugin's process tree, and (podnet) the agent. */
  cpu: Record<'add' | 'del', Record<SysKey, { child: number; agentCpu: number; agentWait: number }>>;
  nodePluginCpu: Record<string, number>;
}

// ---------------------------------------------------------------------------------------------
// clean-up (always: normal end, failure, SIGINT/SIGTERM/SIGHUP)

let fixture: NodeFixture | undefined;
let fixtureStarting: Promise<NodeFixture> | undefined;
let prefix = '';
const closers: (() => Promise<void> | void)[] = [];
let cleaned: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaned ??= (async () => {
    stopping = true;
    // Let calls in flight finish (a plugin killed half-way would leave its work to the sweep below).
    const deadline = Date.now() + 5000;
    while (children.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of children) c.kill('SIGKILL');
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch (e) {
        process.stderr.write(`[bench] cleanup: ${String(e)}\n`);
      }
    }
    leaveNetns();
    if (!fixture && fixtureStarting) fixture = await fixtureStarting.catch(() => undefined);
    if (fixture) await fixture.close().catch((e: unknown) => process.stderr.write(`[bench] cleanup: ${String(e)}\n`));
    // Namespaces whose creation was under way when close() listed them.
    if (prefix) {
      await new Promise((r) => setTimeout(r, 100));
      for (const ns of listNetns(prefix)) await delNetns(ns).catch(() => undefined);
      const left = listNetns(prefix);
      if (left.length) process.stderr.write(`[bench] could not remove namespaces: ${left.join(' ')}\n`);
    }
  })();
  return cleaned;
}

// ---------------------------------------------------------------------------------------------
// the run

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('bench/cni needs root (namespaces, veths)');
  const shim = join(PODNET_CNI_DIR, 'podnet-cni');
  const nodePlugin = join(REPO_ROOT, 'dist', 'src', 'bin', 'podnet-cni.js');
  const probeJs = join(REPO_ROOT, 'dist', 'bench', 'cni', 'agent-probe.js');
  for (const f of [shim, nodePlugin, join(REFERENCE_CNI_DIR, 'bridge'), join(REFERENCE_CNI_DIR, 'host-local'), ...(o.probe ? [probeJs] : [])]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: build with \`npx tsc -p . && sh scripts/build-shim\` (reference plugins: containernetworking-plugins)`);
  }
  const t0 = Date.now();
  const cpu0 = cpuTimes();
  const own0 = ownCpuMs();
  const load0 = loadavg();

  prefix = `pnb-${randomBytes(3).toString('hex')}`;
  log(`namespaces ${prefix}-*; load average ${load0}; runs ${o.runs}, burst ${o.burst} x ${o.rounds} rounds, ${o.rssPods} pods for RSS`);

  // --- node + agent (NODE_OPTIONS reaches the agent only: AgentProcess copies process.env) -----
  const savedNodeOptions = process.env.NODE_OPTIONS;
  if (o.cpuProf) {
    if (!o.probe) throw new Error('--cpu-prof needs the probe (drop --no-probe)');
    mkdirSync(resolve(o.cpuProf), { recursive: true });
    process.env.PODNET_BENCH_CPU_PROF = join(resolve(o.cpuProf), `agent-${prefix}.cpuprofile`);
  }
  if (o.probe) process.env.NODE_OPTIONS = [savedNodeOptions ?? '', `--require=${probeJs}`].join(' ').trim();
  let node: NodeFixture;
  try {
    fixtureStarting = NodeFixture.start({ prefix, pools: ['v4=10.200.0.0/16,blockSize=26'], logLevel: 'debug' });
    node = await fixtureStarting;
  } finally {
    if (savedNodeOptions === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = savedNodeOptions;
    delete process.env.PODNET_BENCH_CPU_PROF;
  }
  fixture = node;
  if (o.probe && !readFileSync(`/proc/${node.agent.pid}/environ`, 'utf8').includes('agent-probe.js')) throw new Error('the agent started without the probe');
  // A graceful stop writes the CPU profile; fixture.close() would kill -9.
  if (o.cpuProf) {
    closers.push(async () => {
      await node.agent.stop();
      log(`agent CPU profile: ${o.cpuProf}/agent-${prefix}.cpuprofile`);
    });
  }
  const agentPid = node.agent.pid;
  if (agentPid === undefined) throw new Error('agent has no pid');
  const agentLog = new AgentLog(node.agent.logFile);
  /**
   * Phases: phaseStart() flushes the probe (SIGUSR2: it writes its buffered lines, then the
   * event-loop delay and GC since the previous SIGUSR2) and marks the log; phaseEnd() flushes
   * again and returns everything the agent logged in between, the "eld" line last.
   */
  const flush = async (since: 'mark' | 'now'): Promise<Rec[]> => {
    if (since === 'now') agentLog.mark();
    try {
      process.kill(agentPid, 'SIGUSR2');
    } catch (e) {
      throw new Error(`the agent (pid ${agentPid}) is gone: ${(e as Error).message}`);
    }
    for (let i = 0; i < 500; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const recs = await agentLog.take(0);
      if (recs.some((x) => x.msg === 'probe' && x.op === 'eld')) return recs;
    }
    throw new Error('the agent probe did not answer SIGUSR2 within 5 s');
  };
  const phaseStart = async (): Promise<void> => {
    if (o.probe) await flush('now');
    agentLog.mark();
  };
  const phaseEnd = async (cniLines: number): Promise<Rec[]> => (o.probe ? flush('mark') : agentLog.take(cniLines));
  const eldOf = (recs: readonly Rec[]): Rec | undefined => recs.find((x) => x.msg === 'probe' && x.op === 'eld');

  const podnet: PluginSystem = {
    key: 'podnet',
    binary: shim,
    stdin: JSON.stringify({ type: 'podnet-cni', agentSocket: node.agent.socket, name: 'podnet', cniVersion: '1.1.0' }),
  };
  const refDataDir = join(node.dir, 'host-local');
  const reference: PluginSystem = {
    key: 'reference',
    binary: join(REFERENCE_CNI_DIR, 'bridge'),
    stdin: JSON.stringify({
      type: 'bridge',
      bridge: 'cni0',
      isGateway: true,
      ipMasq: false,
      hairpinMode: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.210.0.0/16' }]], dataDir: refDataDir },
      name: 'refnet',
      cniVersion: '1.0.0',
    }),
  };
  // host-local alone, with the stdin bridge hands it.
  const hostLocal: PluginSystem = { ...reference, binary: join(REFERENCE_CNI_DIR, 'host-local') };

  // --- pod namespaces, made before anything is timed, reused by every phase ------------------
  const nPodnet = Math.max(o.runs, o.burst, o.rssPods, 2 * o.nodeRuns, o.warmup);
  const nRef = Math.max(o.runs, o.burst, o.warmup);
  const names = [...Array.from({ length: nPodnet }, (_, i) => `p${i}`), ...Array.from({ length: nRef }, (_, i) => `r${i}`)];
  const made = new Map<string, string>();
  await inParallel(names, 6, async (n) => {
    if (stopping) throw new Error('interrupted');
    made.set(n, (await node.newPodNs(n)).path);
  });
  const pods: Record<SysKey, string[]> = {
    podnet: Array.from({ length: nPodnet }, (_, i) => made.get(`p${i}`) as string),
    reference: Array.from({ length: nRef }, (_, i) => made.get(`r${i}`) as string),
  };
  const pod = (s: PluginSystem, i: number): string => pods[s.key][i] as string;
  log(`${names.length} pod namespaces ready`);

  enterNetns(netnsPath(node.nodeNs));
  const here = mustOk(await call('readlink', ['/proc/self/ns/net'], baseEnv(), ''), 'readlink').stdout.trim();
  const there = mustOk(await call('ip', ['netns', 'exec', node.nodeNs, 'readlink', '/proc/self/ns/net'], baseEnv(), ''), 'readlink in node').stdout.trim();
  if (here !== there) throw new Error(`spawned processes do not start in the node namespace (${here} vs ${there})`);

  const res: Results = {
    meta: {},
    startup: {},
    seq: { podnet: { add: [], del: [] }, reference: { add: [], del: [] } },
    agentSeq: {},
    bursts: [],
    rss: { idleKiB: NaN, warmKiB: NaN, podsKiB: NaN, afterDelKiB: NaN, hwmKiB: NaN, pods: o.rssPods, threads: NaN },
    nodePlugin: {},
    components: {},
    cpu: { add: {} as Results['cpu']['add'], del: {} as Results['cpu']['del'] },
    nodePluginCpu: {},
  };
  res.rss.idleKiB = procStatus(agentPid).rssKiB;

  const systems = [podnet, reference];
  const order = (i: number): PluginSystem[] => (i % 2 === 0 ? systems : [...systems].reverse());

  // --- warm-up: creates cni0, claims the first block, warms the agent's JIT --------------------
  for (let i = 0; i < o.warmup; i++) {
    for (const s of order(i)) await cni({ sys: s, command: 'ADD', containerId: `warm-${s.key}-${i}`, netns: pod(s, i) });
    for (const s of order(i)) await cni({ sys: s, command: 'DEL', containerId: `warm-${s.key}-${i}`, netns: pod(s, i) });
  }
  res.rss.warmKiB = procStatus(agentPid).rssKiB;
  log('warm-up done');

  // --- start-up: VERSION of each binary, and the cost of spawning anything at all --------------
  {
    const su: Record<string, number[]> = { podnetVersion: [], bridgeVersion: [], hostLocalVersion: [], spawnTrue: [], spawnReturn: [], spawnTrueCpu: [] };
    await phaseStart();
    for (let i = 0; i < o.runs; i++) {
      const steps = [
        async () => su.podnetVersion!.push(await cniMs({ sys: podnet, command: 'VERSION' })),
        async () => su.bridgeVersion!.push(await cniMs({ sys: reference, command: 'VERSION' })),
        async () => su.hostLocalVersion!.push(await cniMs({ sys: hostLocal, command: 'VERSION' })),
        async () => {
          const c0 = childrenCpuMs();
          const c = mustOk(await call('/bin/true', [], baseEnv(), ''), '/bin/true');
          su.spawnTrue!.push(c.ms);
          su.spawnReturn!.push(c.spawnedMs);
          su.spawnTrueCpu!.push(childrenCpuMs() - c0);
        },
      ];
      for (const st of i % 2 === 0 ? steps : steps.reverse()) await st();
    }
    const recs = await phaseEnd(o.runs);
    su.podnetVersionAgent = recs.filter((r) => r.msg === 'cni' && r.command === 'VERSION').map((r) => num(r.ms));
    su.podnetVersionConn = recs.filter((r) => r.msg === 'probe' && r.op === 'conn' && r.cmd === 'VERSION').map((r) => num(r.total));
    res.startup = su;
    log('start-up done');
  }

  // --- sequential ADDs, then sequential DELs, the two systems interleaved ----------------------
  {
    const id = (s: PluginSystem, i: number): string => `seq-${s.key}-${i}`;
    const ids = Array.from({ length: o.runs }, (_, i) => id(podnet, i));
    const handles = ids.map((c) => `${c}/eth0`);
    const ifnames = ids.map((c) => hostIfnameOf(c, 'eth0'));
    const a = res.agentSeq;
    await phaseStart();
    const addCpu = new CpuAccount(agentPid);
    for (let i = 0; i < o.runs; i++) {
      for (const s of order(i)) res.seq[s.key].add.push(await addCpu.around(s.key, () => cniMs({ sys: s, command: 'ADD', containerId: id(s, i), netns: pod(s, i) })));
    }
    res.cpu.add = { podnet: addCpu.perCall('podnet'), reference: addCpu.perCall('reference') };
    let recs = await phaseEnd(o.runs);
    a.add = agentCniMs(recs, 'ADD', ids);
    if (o.probe) {
      a.addConn = probe(recs, 'conn', 'total', ids);
      a.addRecv = probe(recs, 'conn', 'recv', ids);
      a.addAssign = probe(recs, 'assign', 'ms', handles);
      a.addLockWait = probe(recs, 'ipamLock', 'wait', handles.map((h) => `assign ${h}`));
      a.addLockHold = probe(recs, 'ipamLock', 'hold', handles.map((h) => `assign ${h}`));
      a.addFsync = probe(recs, 'fdatasync', 'ms');
      a.addSetup = probe(recs, 'setup', 'ms', ifnames);
      a.addEld = [num(eldOf(recs)?.max)];
    }
    await phaseStart();
    const delCpu = new CpuAccount(agentPid);
    for (let i = 0; i < o.runs; i++) {
      for (const s of order(i + 1)) res.seq[s.key].del.push(await delCpu.around(s.key, () => cniMs({ sys: s, command: 'DEL', containerId: id(s, i), netns: pod(s, i) })));
    }
    res.cpu.del = { podnet: delCpu.perCall('podnet'), reference: delCpu.perCall('reference') };
    recs = await phaseEnd(o.runs);
    a.del = agentCniMs(recs, 'DEL', ids);
    if (o.probe) {
      a.delConn = probe(recs, 'conn', 'total', ids);
      a.delRecv = probe(recs, 'conn', 'recv', ids);
      a.delTeardown = probe(recs, 'teardown', 'ms', ifnames);
      a.delRelease = probe(recs, 'release', 'ms', handles);
      a.delFsync = probe(recs, 'fdatasync', 'ms');
    }
    log('sequential ADD/DEL done');
  }

  // --- bursts: N ADDs at once, then N DELs at once, per system, order alternating per round ----
  for (let r = 0; r < o.rounds; r++) {
    for (const verb of ['ADD', 'DEL'] as const) {
      for (const s of order(r)) {
        const ids = Array.from({ length: o.burst }, (_, i) => `burst-${s.key}-${r}-${i}`);
        if (s.key === 'podnet') await phaseStart();
        const b0 = process.hrtime.bigint();
        const each = await Promise.all(ids.map((cid, i) => cni({ sys: s, command: verb, containerId: cid, netns: pod(s, i) })));
        const wallMs = Number(process.hrtime.bigint() - b0) / 1e6;
        const launchMs = Math.max(...each.map((c) => Number(c.startedAt - b0) / 1e6 + c.spawnedMs));
        let agent: Record<string, number> | undefined;
        if (s.key === 'podnet') {
          const recs = await phaseEnd(o.burst);
          const cniLines = agentCniMs(recs, verb, ids);
          agent = { cniP50: p50(cniLines), cniMax: max(cniLines) };
          if (o.probe) {
            const e = eldOf(recs);
            const handles = ids.map((c) => `${c}/eth0`);
            const ifs = ids.map((c) => hostIfnameOf(c, 'eth0'));
            const fs = probe(recs, 'fdatasync', 'ms');
            const lockKey = handles.map((h) => `${verb === 'ADD' ? 'assign' : 'release'} ${h}`);
            Object.assign(agent, {
              recvP50: p50(probe(recs, 'conn', 'recv', ids)),
              recvMax: max(probe(recs, 'conn', 'recv', ids)),
              lockHoldSum: sum(probe(recs, 'ipamLock', 'hold', lockKey)),
              lockHoldP50: p50(probe(recs, 'ipamLock', 'hold', lockKey)),
              lockWaitP50: p50(probe(recs, 'ipamLock', 'wait', lockKey)),
              lockWaitMax: max(probe(recs, 'ipamLock', 'wait', lockKey)),
              fsyncCount: fs.length,
              fsyncSum: sum(fs),
              fsyncP50: p50(fs),
              busySpan: span(recs, 'conn', 'total', ids),
              setupSum: sum(probe(recs, 'setup', 'ms', ifs)),
              setupP50: p50(probe(recs, 'setup', 'ms', ifs)),
              teardownSpan: span(recs, 'teardown', 'ms', ifs),
              teardownN: probe(recs, 'teardown', 'ms', ifs).length,
              eldMax: num(e?.max),
              eldP99: num(e?.p99),
              gcMs: num(e?.gcMs),
            });
          }
        }
        res.bursts.push({ sys: s.key, verb, round: r, wallMs, launchMs, calls: each.map((c) => c.ms), ...(agent ? { agent } : {}) });
      }
    }
  }
  log('bursts done');

  // --- the agent's RSS with N pods attached ----------------------------------------------------
  if (o.rssPods > 0) {
    const ids = Array.from({ length: o.rssPods }, (_, i) => `rss-${i}`);
    await inParallel(ids, 8, async (cid, i) => void (await cni({ sys: podnet, command: 'ADD', containerId: cid, netns: pod(podnet, i) })));
    if (o.probe) await flush('now'); // its buffered lines out of the heap before reading RSS
    await new Promise((r) => setTimeout(r, 300));
    const st = procStatus(agentPid);
    res.rss.podsKiB = st.rssKiB;
    res.rss.threads = st.threads;
    await inParallel(ids, 8, async (cid, i) => void (await cni({ sys: podnet, command: 'DEL', containerId: cid, netns: pod(podnet, i) })));
    const after = procStatus(agentPid);
    res.rss.afterDelKiB = after.rssKiB;
    res.rss.hwmKiB = after.hwmKiB;
    log('rss done');
  }

  // --- what a Node.js plugin would cost --------------------------------------------------------
  if (o.nodeRuns > 0) {
    const np: Record<string, number[]> = { nodeE0: [], versionCa: [], versionNoCa: [], addCa: [], addNoCa: [] };
    const nodeBin = process.execPath;
    const viaNode = (ca: boolean) => ({ binary: nodeBin, args: [nodePlugin], ca });
    const cpuOf: Record<string, number> = { nodeE0: 0, versionCa: 0, versionNoCa: 0 };
    const timed = async (k: string, fn: () => Promise<number>): Promise<void> => {
      const c0 = childrenCpuMs();
      np[k]!.push(await fn());
      if (k in cpuOf) cpuOf[k]! += childrenCpuMs() - c0;
    };
    // A whole ADD through the Node plugin (run directly, it calls the agent itself); DEL through the shim, untimed.
    const nodeAdd = async (k: string, ca: boolean, cid: string, netns: string): Promise<void> => {
      await timed(k, () => cniMs({ sys: podnet, command: 'ADD', containerId: cid, netns, exec: viaNode(ca) }));
      await cni({ sys: podnet, command: 'DEL', containerId: cid, netns });
    };
    for (let i = 0; i < o.nodeRuns; i++) {
      const steps = [
        () => timed('nodeE0', async () => mustOk(await call(nodeBin, ['-e', '0'], withoutCa(), ''), 'node -e 0').ms),
        () => timed('versionCa', () => cniMs({ sys: podnet, command: 'VERSION', exec: viaNode(true) })),
        () => timed('versionNoCa', () => cniMs({ sys: podnet, command: 'VERSION', exec: viaNode(false) })),
        () => nodeAdd('addCa', true, `node-ca-${i}`, pod(podnet, 2 * i)),
        () => nodeAdd('addNoCa', false, `node-noca-${i}`, pod(podnet, 2 * i + 1)),
      ];
      for (const st of i % 2 === 0 ? steps : steps.reverse()) await st();
    }
    for (const k of Object.keys(cpuOf)) res.nodePluginCpu[k] = (cpuOf[k] as number) / o.nodeRuns;
    res.nodePlugin = np;
    log('node plugin done');
  }

  // --- the reference's IPAM on its own (what bridge execs) --------------------------------------
  {
    const comp: Record<string, number[]> = { hostLocalAdd: [], hostLocalDel: [] };
    for (let i = -2; i < o.runs; i++) {
      const c = { sys: hostLocal, containerId: `hl-${i}`, netns: pod(reference, Math.max(0, i)) };
      const add = await cniMs({ ...c, command: 'ADD' });
      const del = await cniMs({ ...c, command: 'DEL' });
      if (i < 0) continue; // warm-up
      comp.hostLocalAdd!.push(add);
      comp.hostLocalDel!.push(del);
    }
    res.components = comp;
    log('host-local alone done');
  }

  const cpu1 = cpuTimes();
  const wall = (Date.now() - t0) / 1000;
  res.meta = {
    prefix,
    runs: o.runs,
    burst: o.burst,
    rounds: o.rounds,
    probe: o.probe,
    seconds: wall,
    loadavgStart: load0,
    loadavgEnd: loadavg(),
    machineBusyPercent: (100 * (cpu1.busy - cpu0.busy)) / Math.max(1, cpu1.total - cpu0.total),
    benchCpuPercentOfMachine: (100 * (ownCpuMs() - own0)) / 1000 / wall / Math.max(1, (readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm) ?? []).length),
    cpus: (readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm) ?? []).length,
    node: process.version,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
  };
  process.stdout.write(report(res));
  if (o.json) writeFileSync(o.json, JSON.stringify(res, null, 2));
}

// ---------------------------------------------------------------------------------------------
// the report

function report(r: Results): string {
  const P = r.seq.podnet;
  const R = r.seq.reference;
  const su = r.startup;
  const a = r.agentSeq;
  const m = r.meta;
  const g = (k: string): number[] => su[k] ?? [];
  const out: string[] = [];
  out.push('');
  out.push('bench/cni: podnet-cni (C shim -> agent; IPv4 pool /26 blocks; cniVersion 1.1.0) vs reference bridge + host-local 1.1.1 (cniVersion 1.0.0); ipMasq off');
  out.push(
    `node ${m.node}, kernel ${m.kernel}, ${m.cpus} CPUs; load average ${m.loadavgStart} -> ${m.loadavgEnd}; machine CPU busy ${Number(m.machineBusyPercent).toFixed(0)}% ` +
      `during the run, of which this bench and its children about ${Number(m.benchCpuPercentOfMachine).toFixed(0)}% (the agent not counted); ${Number(m.seconds).toFixed(0)} s` +
      (m.probe ? '' : '; agent probe off'),
  );
  out.push('');

  const bursts = (s: SysKey, verb: 'ADD' | 'DEL') => r.bursts.filter((b) => b.sys === s && b.verb === verb);
  const walls = (s: SysKey, verb: 'ADD' | 'DEL') => bursts(s, verb).map((b) => b.wallMs);
  const target = (val: number, ref: number, lim: number): string => (Number.isNaN(val) || Number.isNaN(ref) ? '-' : `<= ${lim}x: ${val / ref <= lim ? 'met' : 'MISSED'}`);
  const spawnTrue = p50(g('spawnTrue'));
  const rows: string[][] = [
    [`ADD p50 (${P.add.length} runs)`, fmt(p50(P.add)), fmt(p50(R.add)), ratio(p50(P.add), p50(R.add)), target(p50(P.add), p50(R.add), 2)],
    ['ADD p90', fmt(p90(P.add)), fmt(p90(R.add)), ratio(p90(P.add), p90(R.add)), ''],
    [`DEL p50 (${P.del.length} runs)`, fmt(p50(P.del)), fmt(p50(R.del)), ratio(p50(P.del), p50(R.del)), ''],
    ['DEL p90', fmt(p90(P.del)), fmt(p90(R.del)), ratio(p90(P.del), p90(R.del)), ''],
    ['ADD p50 minus spawning /bin/true (the plugin\'s own part)', fmt(p50(P.add) - spawnTrue), fmt(p50(R.add) - spawnTrue), ratio(p50(P.add) - spawnTrue, p50(R.add) - spawnTrue), ''],
    ['DEL p50 minus spawning /bin/true', fmt(p50(P.del) - spawnTrue), fmt(p50(R.del) - spawnTrue), ratio(p50(P.del) - spawnTrue, p50(R.del) - spawnTrue), ''],
  ];
  for (const verb of ['add', 'del'] as const) {
    const c = r.cpu[verb];
    if (!c.podnet || !c.reference) continue;
    const pcpu = c.podnet.child + c.podnet.agentCpu;
    rows.push([
      `CPU per ${verb.toUpperCase()} (plugin process tree${verb === 'add' ? ' + agent' : ' + agent'}; mean)`,
      fmt(pcpu),
      fmt(c.reference.child),
      ratio(pcpu, c.reference.child),
      '',
    ]);
  }
  for (const verb of ['ADD', 'DEL'] as const) {
    const pw = walls('podnet', verb);
    const rw = walls('reference', verb);
    rows.push([`${m.burst} parallel ${verb}s, wall (mean of ${pw.length} rounds)`, fmt(mean(pw)), fmt(mean(rw)), ratio(mean(pw), mean(rw)), verb === 'ADD' ? target(mean(pw), mean(rw), 1.5) : '']);
    pw.forEach((v, i) => rows.push([`  round ${i + 1}`, fmt(v), fmt(rw[i]), ratio(v, rw[i]), '']));
    const pc = bursts('podnet', verb).flatMap((b) => b.calls);
    const rc = bursts('reference', verb).flatMap((b) => b.calls);
    rows.push([`  one call in the burst, p50 / max`, `${fmt(p50(pc), '')} / ${fmt(max(pc))}`, `${fmt(p50(rc), '')} / ${fmt(max(rc))}`, ratio(p50(pc), p50(rc)), '']);
    const pl = bursts('podnet', verb).map((b) => b.launchMs);
    const rl = bursts('reference', verb).map((b) => b.launchMs);
    rows.push([`  of the wall: launching the ${m.burst} processes (spawn() calls)`, fmt(mean(pl)), fmt(mean(rl)), '', '']);
  }
  rows.push(
    ['VERSION p50 (start-up: exec -> answer -> exit)', fmt(p50(g('podnetVersion'))), fmt(p50(g('bridgeVersion'))), ratio(p50(g('podnetVersion')), p50(g('bridgeVersion'))), ''],
    ['agent RSS idle (just started)', fmt(r.rss.idleKiB / 1024, 'MiB'), 'no daemon', '', ''],
    ['agent RSS idle after warm-up', fmt(r.rss.warmKiB / 1024, 'MiB'), 'no daemon', '', ''],
    [`agent RSS with ${r.rss.pods} pods attached`, fmt(r.rss.podsKiB / 1024, 'MiB'), 'no daemon', '', ''],
    ['agent RSS after their DEL; peak (VmHWM) of the run', `${fmt(r.rss.afterDelKiB / 1024, 'MiB')}; ${fmt(r.rss.hwmKiB / 1024, 'MiB')}`, 'no daemon', '', ''],
  );
  out.push(table(['figure', 'podnet', 'reference', 'podnet/ref', 'target (issue)'], rows));

  // --- where the time goes -------------------------------------------------------------------
  const addP = p50(P.add);
  const delP = p50(P.del);
  const pc = (part: number, whole: number): string => (Number.isNaN(part) || Number.isNaN(whole) ? '' : `${((100 * part) / whole).toFixed(0)}%`);
  out.push('');
  out.push('Where a sequential call goes (p50 of each part over the same calls; p50s do not add up exactly):');
  const brk: string[][] = [
    ['podnet ADD, exec -> exit (runtime view)', fmt(addP), '100%'],
    ['  spawning any process from this runtime (/bin/true exec -> exit)', fmt(spawnTrue), pc(spawnTrue, addP)],
    ['    of which spawn() itself (fork, exec; the runtime blocked); CPU of the child (mean)', `${fmt(p50(g('spawnReturn')), '')} / ${fmt(mean(g('spawnTrueCpu')))}`, ''],
  ];
  if (a.addConn?.length) {
    brk.push(
      ['  outside the agent\'s connection: exec, shim start, connect; exit, reap (ADD - conn)', fmt(addP - p50(a.addConn)), pc(addP - p50(a.addConn), addP)],
      ['  agent: connection accepted -> answer written', fmt(p50(a.addConn)), pc(p50(a.addConn), addP)],
      ['    accept -> request read to EOF (shim sending; agent event loop)', fmt(p50(a.addRecv ?? [])), ''],
      ['    runCni ADD (the agent\'s "cni" log line)', fmt(p50(a.add ?? [])), pc(p50(a.add ?? []), addP)],
      ['      IPAM assign (lock wait included)', fmt(p50(a.addAssign ?? [])), pc(p50(a.addAssign ?? []), addP)],
      ['        IPAM write lock wait / held', `${fmt(p50(a.addLockWait ?? []), '')} / ${fmt(p50(a.addLockHold ?? []))}`, ''],
      [`        WAL fdatasync (${((a.addFsync?.length ?? 0) / P.add.length).toFixed(1)} per ADD)`, fmt(p50(a.addFsync ?? [])), pc(p50(a.addFsync ?? []), addP)],
      ['      kernel: LinuxPodDataplane.setup (veth, addresses, neighbour, routes; sync netlink)', fmt(p50(a.addSetup ?? [])), pc(p50(a.addSetup ?? []), addP)],
      ['      rest of runCni (validation, JSON, result) = runCni - IPAM - setup', fmt(p50(a.add ?? []) - p50(a.addAssign ?? []) - p50(a.addSetup ?? [])), ''],
      ['  agent event-loop delay during the sequential ADDs, max', fmt(a.addEld?.[0]), ''],
      ['  CPU per ADD (mean): shim process (fork+exec included) / agent, all threads', `${fmt(r.cpu.add.podnet?.child, '')} / ${fmt(r.cpu.add.podnet?.agentCpu)}`, ''],
      ['  agent main thread runnable but waiting for a CPU, per ADD (mean; machine load)', fmt(r.cpu.add.podnet?.agentWait), ''],
    );
  } else {
    brk.push(['  runCni ADD (agent log)', fmt(p50(a.add ?? [])), pc(p50(a.add ?? []), addP)]);
  }
  brk.push(
    ['  shim VERSION exec -> exit (start-up + one round trip to the agent)', fmt(p50(g('podnetVersion'))), ''],
    ['    of which in the agent (accept -> answer)', fmt(p50(g('podnetVersionConn'))), ''],
    ['podnet DEL, exec -> exit', fmt(delP), '100%'],
  );
  if (a.delConn?.length) {
    brk.push(
      ['  outside the agent\'s connection (DEL - conn)', fmt(delP - p50(a.delConn)), pc(delP - p50(a.delConn), delP)],
      ['  runCni DEL (agent log)', fmt(p50(a.del ?? [])), pc(p50(a.del ?? []), delP)],
      ['    kernel: LinuxPodDataplane.teardown (veth delete)', fmt(p50(a.delTeardown ?? [])), pc(p50(a.delTeardown ?? []), delP)],
      ['    IPAM release', fmt(p50(a.delRelease ?? [])), pc(p50(a.delRelease ?? []), delP)],
      [`      WAL fdatasync (${((a.delFsync?.length ?? 0) / P.del.length).toFixed(1)} per DEL)`, fmt(p50(a.delFsync ?? [])), ''],
      ['  CPU per DEL (mean): shim process / agent, all threads', `${fmt(r.cpu.del.podnet?.child, '')} / ${fmt(r.cpu.del.podnet?.agentCpu)}`, ''],
    );
  } else {
    brk.push(['  runCni DEL (agent log)', fmt(p50(a.del ?? [])), pc(p50(a.del ?? []), delP)]);
  }
  const refAdd = p50(R.add);
  const refDel = p50(R.del);
  const hlAdd = p50(r.components.hostLocalAdd ?? []);
  const hlDel = p50(r.components.hostLocalDel ?? []);
  const brV = p50(g('bridgeVersion'));
  brk.push(
    ['reference ADD (bridge, which execs host-local), exec -> exit', fmt(refAdd), '100%'],
    ['  bridge start-up (its VERSION exec -> exit)', fmt(brV), pc(brV, refAdd)],
    ['  host-local ADD on its own (its start-up + file IPAM, no fsync)', fmt(hlAdd), pc(hlAdd, refAdd)],
    ['    of which host-local start-up (its VERSION)', fmt(p50(g('hostLocalVersion'))), ''],
    ['  bridge\'s own work (Go + kernel) = ADD - bridge VERSION - host-local ADD', fmt(refAdd - brV - hlAdd), pc(refAdd - brV - hlAdd, refAdd)],
    ['  CPU per ADD (mean): bridge + host-local processes', fmt(r.cpu.add.reference?.child), ''],
    ['reference DEL, exec -> exit', fmt(refDel), '100%'],
    ['  host-local DEL on its own', fmt(hlDel), pc(hlDel, refDel)],
    ['  bridge\'s own work (veth delete mostly) = DEL - bridge VERSION - host-local DEL', fmt(refDel - brV - hlDel), pc(refDel - brV - hlDel, refDel)],
  );
  out.push(table(['part', 'p50', 'share'], brk));

  // --- bursts from the agent's side ----------------------------------------------------------
  const pb = r.bursts.filter((b) => b.sys === 'podnet' && b.agent);
  if (pb.length && pb[0]?.agent?.fsyncCount !== undefined) {
    out.push('');
    out.push(`podnet bursts seen from the agent (${m.burst} calls each). launch: the runtime spawning the ${m.burst} processes; agent busy: first accept to last answer;`);
    out.push(`lock and fdatasync sums are serial (one IPAM write lock, one WAL writer); setup runs on the agent's main thread; deletes share one netlink socket:`);
    out.push(
      table(
        ['burst', 'wall', 'launch', 'agent busy', 'runCni p50/max', 'accept->EOF p50/max', 'IPAM lock held: sum (p50)', 'lock wait p50/max', 'fdatasync: n, sum (p50)', 'kernel', 'loop delay max', 'GC'],
        pb.map((b) => {
          const x = b.agent as Record<string, number>;
          return [
            `${b.verb} round ${b.round + 1}`,
            fmt(b.wallMs),
            fmt(b.launchMs),
            fmt(x.busySpan),
            `${fmt(x.cniP50, '')} / ${fmt(x.cniMax)}`,
            `${fmt(x.recvP50, '')} / ${fmt(x.recvMax)}`,
            `${fmt(x.lockHoldSum)} (${fmt(x.lockHoldP50, '')})`,
            `${fmt(x.lockWaitP50, '')} / ${fmt(x.lockWaitMax)}`,
            `${x.fsyncCount}, ${fmt(x.fsyncSum)} (${fmt(x.fsyncP50, '')})`,
            b.verb === 'ADD' ? `setup sum ${fmt(x.setupSum)} (${fmt(x.setupP50, '')})` : `${x.teardownN} deletes in ${fmt(x.teardownSpan)}: ${fmt(x.teardownSpan / x.teardownN)} each`,
            fmt(x.eldMax),
            fmt(x.gcMs),
          ];
        }),
      ),
    );
  }

  // --- the Node plugin ---------------------------------------------------------------------------
  const np = r.nodePlugin;
  if (np.versionCa?.length) {
    out.push('');
    out.push('A Node.js plugin instead of the C shim (node dist/src/bin/podnet-cni.js; runtimes pass NODE_EXTRA_CA_CERTS on, this environment sets it):');
    out.push(
      table(
        ['figure', 'p50', 'p90', 'vs reference ADD p50', 'CPU (mean)'],
        [
          ['node -e 0 (without NODE_EXTRA_CA_CERTS)', fmt(p50(np.nodeE0 ?? [])), fmt(p90(np.nodeE0 ?? [])), ratio(p50(np.nodeE0 ?? []), refAdd), fmt(r.nodePluginCpu.nodeE0)],
          ['Node plugin VERSION, NODE_EXTRA_CA_CERTS set', fmt(p50(np.versionCa)), fmt(p90(np.versionCa)), ratio(p50(np.versionCa), refAdd), fmt(r.nodePluginCpu.versionCa)],
          ['Node plugin VERSION, without it', fmt(p50(np.versionNoCa ?? [])), fmt(p90(np.versionNoCa ?? [])), ratio(p50(np.versionNoCa ?? []), refAdd), fmt(r.nodePluginCpu.versionNoCa)],
          ['C shim VERSION (through the agent)', fmt(p50(g('podnetVersion'))), fmt(p90(g('podnetVersion'))), ratio(p50(g('podnetVersion')), refAdd), ''],
          ['Node plugin ADD via the agent, NODE_EXTRA_CA_CERTS set', fmt(p50(np.addCa ?? [])), fmt(p90(np.addCa ?? [])), ratio(p50(np.addCa ?? []), refAdd), ''],
          ['Node plugin ADD via the agent, without it', fmt(p50(np.addNoCa ?? [])), fmt(p90(np.addNoCa ?? [])), ratio(p50(np.addNoCa ?? []), refAdd), ''],
          ['C shim ADD via the agent', fmt(addP), fmt(p90(P.add)), ratio(addP, refAdd), fmt((r.cpu.add.podnet?.child ?? NaN) + (r.cpu.add.podnet?.agentCpu ?? NaN))],
          ['reference ADD (bridge + host-local)', fmt(refAdd), fmt(p90(R.add)), '1.00x', fmt(r.cpu.add.reference?.child)],
        ],
      ),
    );
  }
  out.push('');
  out.push('Figures only, nothing asserted. Wall times seen by this process (a Node runtime). Compare ratios within one run, not absolutes across runs.');
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------

runBench(main, cleanup, () => {
    const logFile = fixture?.agent.logFile;
    if (logFile && existsSync(logFile)) {
      const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => l && !l.includes('"msg":"probe"') && !l.includes('"msg":"cni"'));
      process.stderr.write(`[bench] the agent's log, last lines (removed with the namespaces):\n${lines.slice(-15).join('\n')}\n`);
    }
  });
