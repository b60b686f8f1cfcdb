/**
 * bench/controlplane: how fast a new node's route reaches every real agent in a cluster of 500+
 * nodes, and what the agents cost with that many nodes.
 *
 *   node dist/bench/controlplane/run.js [--nodes N=500] [--seq N=50] [--concurrency N=16] [--json FILE]
 *
 * A lab (src/lab/lab.ts) with 3 real agents, backend vxlan, one etcd member. The simulated nodes
 * are written straight into the lab's etcd by bench/controlplane/writer.ts, which this process
 * starts INSIDE the etcd namespace (`ip netns exec pl-<lab>-etcd node …/writer.js`): the lab's
 * etcd listens only on its namespace address (172.30.1.250), and running the writer there keeps
 * the lab unchanged (no extra listener, nothing reachable from the root namespace) and uses the
 * agents' own etcd client (EtcdDatastore). Per simulated node: the node record (vxlan MAC, tunnel
 * address, an underlay address in 172.31.0.0/16), a liveness key on a lease the writer keeps
 * alive, and one /26 block of the lab's v4 pool owned by it (with the tunnel address allocated).
 *
 * Routes are observed with `ip -n <node ns> monitor route` per real node (event-driven, no
 * polling): a block's route counts as programmed on a node when its line arrives. Phases:
 *   bulk        --nodes registrations by --concurrency writers; time from the first write to the
 *               last route on each agent;
 *   sequential  --seq more registrations one at a time (each waits until all 3 agents have the
 *               route): latency from the registration (record + liveness + block acknowledged by
 *               etcd) to the route on each agent, and the max over the 3 agents; p50 / p99 / max.
 * The agents' own view (their "cluster dataplane applied" log lines, latencyMs from the change
 * arriving to the kernel programmed) is shown next to it. Then the agents' RSS and idle CPU with
 * all those nodes, and a final check with `ip route show` that every block has its route.
 *
 * Figures are printed, never asserted (the target, < 1 s, is printed next to them). A route that
 * does not arrive within 30 s fails the run. Everything is removed in finally and on SIGINT/SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Lab } from '../../src/lab/lab.js';
import { execIn } from '../../src/lab/netns.js';
import { simBlock } from './sim.js';
import { forEachFlag, intArg, quantile, runBench, otherFlag } from '../common.js';

interface Options {
  nodes: number;
  seq: number;
  concurrency: number;
  json: string | undefined;
}
const USAGE = 'usage: node dist/bench/controlplane/run.js [--nodes N=500] [--seq N=50] [--concurrency N=16] [--json FILE]\n';

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { nodes: 500, seq: 50, concurrency: 16, json: undefined };
  forEachFlag(argv, (flag, val, raw) => {
    switch (flag) {
      case '--nodes': o.nodes = intArg(flag, val(), 0, 900); break;
      case '--seq': o.seq = intArg(flag, val(), 1, 100); break;
      case '--concurrency': o.concurrency = intArg(flag, val(), 1, 256); break;
      case '--json': o.json = val(); break;
      default:
        otherFlag(flag, raw, USAGE);
    }
  });
  if (o.nodes + o.seq > 950) throw new Error('--nodes + --seq must stay under 950 (blocks of 10.244.16.0/20 onwards in the /16)');
  return o;
}

// ---------------------------------------------------------------------------------------------

const log = (s: string): void => void process.stderr.write(`[bench] ${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const now = (): number => performance.timeOrigin + performance.now();

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i] as number) : c.padStart(w[i] as number))).join('  ').trimEnd();
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}
const ms = (n: number): string => (Number.isNaN(n) ? '-' : n >= 100 ? n.toFixed(0) : n.toFixed(1));

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}
function hwmKiB(pid: number): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}
function cpuTicks(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

// ---------------------------------------------------------------------------------------------
// route monitors: first time each block's route appears on each real node

class RouteMonitor {
  readonly seen = new Map<string, number>();
  private readonly waiters = new Map<string, () => void>();
  readonly proc: ChildProcess;
  constructor(readonly node: string, ns: string) {
    this.proc = spawn('ip', ['-n', ns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.add(this.proc);
    this.proc.once('exit', () => procs.delete(this.proc));
    const rl = createInterface({ input: this.proc.stdout as NodeJS.ReadableStream });
    rl.on('line', (line) => {
      const t = now();
      if (line.startsWith('Deleted')) return;
      const dst = line.split(' ')[0] ?? '';
      if (!dst.startsWith('10.244.') || this.seen.has(dst)) return;
      this.seen.set(dst, t);
      const w = this.waiters.get(dst);
      if (w) {
        this.waiters.delete(dst);
        w();
      }
    });
  }
  wait(cidr: string, timeoutMs: number): Promise<number> {
    const have = this.seen.get(cidr);
    if (have !== undefined) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters.delete(cidr);
        reject(new Error(`route ${cidr} did not appear on ${this.node} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(cidr, () => {
        clearTimeout(t);
        resolve(this.seen.get(cidr) as number);
      });
    });
  }
}

// ---------------------------------------------------------------------------------------------
// the writer (inside the etcd namespace)

class Writer {
  private readonly proc: ChildProcess;
  private readonly queue: ((o: Record<string, unknown>) => void)[] = [];
  private readonly lines: Record<string, unknown>[] = [];
  private stderr = '';
  constructor(etcdNs: string, endpoint: string) {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    this.proc = spawn('ip', ['netns', 'exec', etcdNs, process.execPath, join(__dirname, 'writer.js'), endpoint], { stdio: ['pipe', 'pipe', 'pipe'], env });
    procs.add(this.proc);
    this.proc.once('exit', (c) => {
      procs.delete(this.proc);
      // Whoever waits for an answer gets an error line instead.
      for (const w of this.queue.splice(0)) w({ op: 'error', error: `writer exited ${String(c)}: ${this.stderr.trim()}` });
    });
    this.proc.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: this.proc.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      const o = JSON.parse(l) as Record<string, unknown>;
      const w = this.queue.shift();
      if (w) w(o);
      else this.lines.push(o);
    });
  }
  next(timeoutMs = 120_000): Promise<Record<string, unknown>> {
    const have = this.lines.shift();
    const p = have
      ? Promise.resolve(have)
      : new Promise<Record<string, unknown>>((resolve, reject) => {
          if (this.proc.exitCode !== null) {
            reject(new Error(`writer exited ${String(this.proc.exitCode)}: ${this.stderr.trim()}`));
            return;
          }
          const t = setTimeout(() => reject(new Error(`writer: no answer within ${timeoutMs} ms (stderr: ${this.stderr.trim()})`)), timeoutMs);
          this.queue.push((o) => {
            clearTimeout(t);
            resolve(o);
          });
        });
    return p.then((o) => {
      if (o.op === 'error') throw new Error(`writer: ${String(o.error)}`);
      return o;
    });
  }
  async send(cmd: object): Promise<Record<string, unknown>> {
    this.proc.stdin?.write(`${JSON.stringify(cmd)}\n`);
    return this.next();
  }
  async quit(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const done = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.stdin?.write('{"op":"quit"}\n');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(t);
  }
}

// ---------------------------------------------------------------------------------------------

const procs = new Set<ChildProcess>();
let lab: Lab | undefined;
let writer: Writer | undefined;
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await writer?.quit().catch(() => undefined);
    for (const p of [...procs]) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    if (lab) {
      const l = lab;
      lab = undefined;
      await l.down().catch((e: unknown) => process.stderr.write(`[bench] lab ${l.name} teardown: ${String(e)}\n`));
    }
  })();
  return cleaning;
}

/** The agents' "cluster dataplane applied" lines since byte offset `from` of each log. */
function appliedSince(file: string, from: number): { latencyMs: number; routesAdded: number }[] {
  const text = readFileSync(file).subarray(from).toString('utf8');
  const out: { latencyMs: number; routesAdded: number }[] = [];
  for (const l of text.split('\n')) {
    if (!l.includes('cluster dataplane applied')) continue;
    try {
      const o = JSON.parse(l) as { latencyMs: number; routesAdded: number };
      out.push({ latencyMs: o.latencyMs, routesAdded: o.routesAdded });
    } catch {
      /* a line being written */
    }
  }
  return out;
}
const logSize = (file: string): number => readFileSync(file).length;

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('needs root (namespaces)');
  const t0 = Date.now();
  const la0 = loadavg()[0] ?? NaN;
  const name = `cp${randomBytes(3).toString('hex')}`;
  log(`lab ${name}: 3 nodes, backend vxlan`);
  lab = await Lab.up({ name, nodes: 3, backend: 'vxlan', logLevel: 'info' });
  const L = lab;
  const nodes = L.nodes().map((n) => ({ name: n.name, ns: n.ns, pid: L.agentPid(n.name) as number, log: L.agentLog(n.name) }));
  for (const n of nodes) if (!n.pid) throw new Error(`agent of ${n.name} not running`);
  const rss0 = nodes.map((n) => rssKiB(n.pid));

  const mons = nodes.map((n) => new RouteMonitor(n.name, n.ns));
  await sleep(300); // the monitors subscribe
  writer = new Writer(L.topo.etcd(0).ns, L.etcdEndpoints[0] as string);
  await writer.next(30_000); // ready

  // --- bulk ---
  log(`bulk: registering ${o.nodes} simulated nodes (${o.concurrency} writers)`);
  const logOff0 = nodes.map((n) => logSize(n.log));
  const cpu0 = nodes.map((n) => cpuTicks(n.pid));
  const bulk = o.nodes > 0 ? await writer.send({ op: 'bulk', from: 0, count: o.nodes, concurrency: o.concurrency }) : { t0: now(), t1: now() };
  const bt0 = Number(bulk.t0);
  const bt1 = Number(bulk.t1);
  const bulkCidrs = Array.from({ length: o.nodes }, (_, i) => simBlock(i).cidr);
  const bulkLast = await Promise.all(mons.map(async (m) => Math.max(bt0, ...(await Promise.all(bulkCidrs.map((c) => m.wait(c, 60_000)))))));
  const bulkCpu = nodes.map((n, i) => (cpuTicks(n.pid) - (cpu0[i] as number)) * 10);
  const bulkApplied = nodes.map((n, i) => appliedSince(n.log, logOff0[i] as number));
  const rssBulk = nodes.map((n) => rssKiB(n.pid));
  log(`bulk: written in ${ms(bt1 - bt0)} ms; last route at ${bulkLast.map((t) => ms(t - bt0)).join(' / ')} ms`);
  await sleep(1000);

  // --- sequential ---
  log(`sequential: ${o.seq} registrations, one at a time`);
  const logOff1 = nodes.map((n) => logSize(n.log));
  const seq: { i: number; cidr: string; writeMs: number; perNode: number[]; perNodeFromStart: number[] }[] = [];
  for (let k = 0; k < o.seq; k++) {
    const i = o.nodes + k;
    const r = await writer.send({ op: 'one', i });
    const cidr = String(r.cidr);
    const seen = await Promise.all(mons.map((m) => m.wait(cidr, 30_000)));
    seq.push({ i, cidr, writeMs: Number(r.t1) - Number(r.t0), perNode: seen.map((t) => t - Number(r.t1)), perNodeFromStart: seen.map((t) => t - Number(r.t0)) });
    await sleep(20);
  }
  const seqApplied = nodes.map((n, i) => appliedSince(n.log, logOff1[i] as number));

  // --- agents with all nodes ---
  await sleep(1000);
  const idleS = 10;
  const c0 = nodes.map((n) => cpuTicks(n.pid));
  const it0 = now();
  await sleep(idleS * 1000);
  const idleCpu = nodes.map((n, i) => ((cpuTicks(n.pid) - (c0[i] as number)) * 10 * 100) / (now() - it0));
  const rssAll = nodes.map((n) => rssKiB(n.pid));
  const hwm = nodes.map((n) => hwmKiB(n.pid));

  // --- final check: every block routed on every node ---
  const want = new Set([...bulkCidrs, ...seq.map((s) => s.cidr)]);
  const missing: string[] = [];
  for (const n of nodes) {
    const r = await execIn(n.ns, 'ip', ['-4', 'route', 'show', 'proto', '148']);
    if (r.code !== 0) throw new Error(`ip route in ${n.ns}: ${r.stderr}`);
    const have = new Set(r.stdout.split('\n').map((l) => l.split(' ')[0]));
    const miss = [...want].filter((c) => !have.has(c));
    if (miss.length) missing.push(`${n.name}: ${miss.length} missing (${miss.slice(0, 3).join(', ')})`);
  }
  if (missing.length) throw new Error(`routes missing at the end: ${missing.join('; ')}`);

  // --- report ---
  const worst = seq.map((s) => Math.max(...s.perNode));
  const worstFromStart = seq.map((s) => Math.max(...s.perNodeFromStart));
  const out: string[] = [''];
  out.push(`bench/controlplane: 3 real agents (vxlan, etcd 3.4 in the lab) + ${o.nodes} simulated nodes, then ${o.seq} sequential registrations`);
  out.push(`node ${process.version}, ${cpus().length} CPUs; load average ${la0.toFixed(2)} -> ${(loadavg()[0] ?? NaN).toFixed(2)}; ${((Date.now() - t0) / 1000).toFixed(0)} s; lab ${name}`);
  out.push('');
  out.push(`Bulk: ${o.nodes} registrations (record + liveness + block; ${o.concurrency} concurrent writers) written in ${ms(bt1 - bt0)} ms (${((1000 * o.nodes) / (bt1 - bt0)).toFixed(0)}/s)`);
  out.push(
    table(
      ['agent', 'last route after first write', 'after last write acked', 'applies (log lines)', 'apply latencyMs p50 / max (agent view)', 'agent CPU during bulk'],
      nodes.map((n, i) => {
        const ap = bulkApplied[i] ?? [];
        return [
          n.name,
          `${ms((bulkLast[i] as number) - bt0)} ms`,
          `${ms((bulkLast[i] as number) - bt1)} ms`,
          String(ap.length),
          `${ms(quantile(ap.map((a) => a.latencyMs), 0.5))} / ${ms(Math.max(...ap.map((a) => a.latencyMs)))} ms`,
          `${ms(bulkCpu[i] as number)} ms`,
        ];
      }),
    ),
  );
  out.push('');
  out.push(`Sequential: ${o.seq} registrations after the ${o.nodes}, each waiting for its route on all 3 agents (latency from the registration acknowledged by etcd to the route in the kernel, seen by ip monitor):`);
  const rowOf = (label: string, xs: number[], applied?: { latencyMs: number }[]): string[] => [
    label,
    ms(quantile(xs, 0.5)),
    ms(quantile(xs, 0.9)),
    ms(quantile(xs, 0.99)),
    ms(Math.max(...xs)),
    applied ? `${ms(quantile(applied.map((a) => a.latencyMs), 0.5))} / ${ms(Math.max(...applied.map((a) => a.latencyMs)))} (${applied.length})` : '',
    quantile(xs, 0.99) < 1000 ? 'met' : 'MISSED',
  ];
  out.push(
    table(
      ['latency, ms', 'p50', 'p90', 'p99', 'max', 'agent view p50 / max (applies)', 'p99 < 1 s'],
      [
        ...nodes.map((n, j) => rowOf(`agent ${n.name}`, seq.map((s) => s.perNode[j] as number), seqApplied[j])),
        rowOf('max over the 3 agents (the cluster is done)', worst),
        rowOf('  same, from the first write (registration ~3 writes)', worstFromStart),
        ['registration itself (3 etcd writes, writer in the etcd ns)', ms(quantile(seq.map((s) => s.writeMs), 0.5)), ms(quantile(seq.map((s) => s.writeMs), 0.9)), ms(quantile(seq.map((s) => s.writeMs), 0.99)), ms(Math.max(...seq.map((s) => s.writeMs))), '', ''],
      ],
    ),
  );
  out.push('');
  out.push(`Agents (${o.nodes + o.seq + 3} nodes in the cluster):`);
  out.push(
    table(
      ['agent', 'RSS at start (3 nodes)', `RSS after bulk (${o.nodes + 3})`, `RSS with ${o.nodes + o.seq + 3}`, 'VmHWM', `idle CPU (${idleS} s)`],
      nodes.map((n, i) => [
        n.name,
        `${((rss0[i] as number) / 1024).toFixed(1)} MiB`,
        `${((rssBulk[i] as number) / 1024).toFixed(1)} MiB`,
        `${((rssAll[i] as number) / 1024).toFixed(1)} MiB`,
        `${((hwm[i] as number) / 1024).toFixed(1)} MiB`,
        `${(idleCpu[i] as number).toFixed(2)} %`,
      ]),
    ),
  );
  out.push('');
  out.push(`Final check: all ${want.size} simulated blocks routed on all 3 agents (ip route show proto 148).`);
  out.push('Figures only, nothing asserted. "agent view" = the agent\'s own latencyMs (change arrived -> kernel programmed; excludes etcd and the watch).');
  process.stdout.write(`${out.join('\n')}\n`);
  if (o.json) writeFileSync(o.json, JSON.stringify({ bulk: { t0: bt0, t1: bt1, lastRoute: bulkLast, applied: bulkApplied }, seq, seqApplied, rss0, rssBulk, rssAll, hwm, idleCpu }, null, 2));
}

runBench(main, cleanup);
