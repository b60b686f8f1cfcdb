/**
 * Timing probe for the benchmark, preloaded into the podnet agent with
 * `NODE_OPTIONS=--require dist/bench/cni/agent-probe.js` (bench/cni/run.ts does this). It wraps a
 * few methods of the agent's own modules (same files, same module instances) and records one JSON
 * line per operation; on SIGUSR2 it writes them to stderr, i.e. the agent's log, next to the
 * agent's own "cni" lines, followed by an "eld" line. Every line has "t", the operation's start
 * in ms on the agent's monotonic clock:
 *
 *   {"msg":"probe","op":"conn","key":"<container>","cmd":"ADD","recv":ms,"handle":ms,"total":ms}
 *       accept -> request read to EOF (recv), EOF -> answer handed to the socket (handle)
 *   {"msg":"probe","op":"assign"|"release","key":"<handle>","ms":ms}   DatastoreIpam, lock wait included
 *   {"msg":"probe","op":"ipamLock","key":"assign <handle>","wait":ms,"hold":ms}   the IPAM write lock
 *   {"msg":"probe","op":"fdatasync","ms":ms}                        the embedded store's WAL
 *   {"msg":"probe","op":"setup"|"teardown","key":"<host ifname>","ms":ms}   LinuxPodDataplane
 *   {"msg":"probe","op":"eld",...}   on SIGUSR2: event-loop delay and GC pauses since the last one
 *
 * With PODNET_BENCH_CPU_PROF=<file> it also records a V8 CPU profile (through node:inspector, as
 * --cpu-prof is refused in NODE_OPTIONS) and writes it when the agent exits gracefully.
 *
 * Overhead: a few hrtime reads and one JSON.stringify per operation (tens of µs per ADD); the
 * lines are written only on SIGUSR2, between the benchmark's phases.
 * Nothing here changes what the agent does.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import type net from 'node:net';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { AgentServer } from '../../src/agent/server.js';
import { LinuxPodDataplane } from '../../src/dataplane/linux/pod-dataplane.js';
import { nodeJournalIo } from '../../src/datastore/disk-journal.js';
import { DatastoreIpam } from '../../src/ipam/ipam.js';
import { Mutex } from '../../src/ipam/retry.js';

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
/** Lines are kept in memory and written on SIGUSR2 (and at exit), so the log writes stay out of the timed calls. */
let pending: string[] = [];
const flush = (): void => {
  if (pending.length === 0) return;
  const text = pending.join('');
  pending = [];
  process.stderr.write(text);
};
const emit = (o: Record<string, unknown>): void => {
  pending.push(`${JSON.stringify({ msg: 'probe', ...o })}\n`);
  if (pending.length >= 10_000) flush();
};
process.on('exit', flush);

type AnyFn = (...args: never[]) => unknown;

function wrapAsync(proto: object, name: string, op: string, keyOf: (args: unknown[]) => unknown): void {
  const p = proto as Record<string, AnyFn>;
  const orig = p[name];
  if (typeof orig !== 'function') throw new Error(`agent-probe: ${name} is not a method`);
  p[name] = async function (this: unknown, ...args: unknown[]) {
    const t0 = now();
    try {
      return await (orig as (...a: unknown[]) => Promise<unknown>).apply(this, args);
    } finally {
      emit({ op, key: keyOf(args), t: t0, ms: now() - t0 });
    }
  } as AnyFn;
}

wrapAsync(DatastoreIpam.prototype, 'assign', 'assign', (a) => (a[0] as { handle?: string }).handle);
wrapAsync(DatastoreIpam.prototype, 'release', 'release', (a) => a[0]);
wrapAsync(LinuxPodDataplane.prototype, 'setup', 'setup', (a) => (a[0] as { hostIfname?: string }).hostIfname);
wrapAsync(LinuxPodDataplane.prototype, 'teardown', 'teardown', (a) => a[0]);

{
  const orig = Mutex.prototype.run;
  Mutex.prototype.run = function <T>(this: Mutex, what: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
    const t0 = now();
    let t1 = 0;
    return orig.call(this, what, timeoutMs, async () => {
      t1 = now();
      try {
        return await fn();
      } finally {
        emit({ op: 'ipamLock', key: what, t: t0, wait: t1 - t0, hold: now() - t1 });
      }
    }) as Promise<T>;
  };
}

{
  const orig = nodeJournalIo.fdatasync;
  nodeJournalIo.fdatasync = async (fd: number) => {
    const t0 = now();
    try {
      await orig(fd);
    } finally {
      emit({ op: 'fdatasync', t: t0, ms: now() - t0 });
    }
  };
}

function envValue(buf: Buffer, key: string): string | undefined {
  const i = buf.indexOf(`\0${key}=`);
  const j = i >= 0 ? i + 1 : buf.indexOf(`${key}=`) === 13 ? 13 : -1; // the first entry follows "PODNET-CNI/1\n"
  if (j < 0) return undefined;
  const end = buf.indexOf(0, j);
  return buf.subarray(j + key.length + 1, end < 0 ? undefined : end).toString('utf8');
}

{
  const proto = AgentServer.prototype as unknown as { serve(sock: net.Socket): void };
  const orig = proto.serve;
  proto.serve = function (this: unknown, sock: net.Socket) {
    const tAccept = now();
    let tEof = 0;
    const chunks: Buffer[] = [];
    sock.on('data', (b: Buffer) => void chunks.push(b));
    sock.once('end', () => void (tEof = now()));
    const end = sock.end.bind(sock) as (...a: unknown[]) => net.Socket;
    (sock as unknown as { end: (...a: unknown[]) => net.Socket }).end = (...a: unknown[]) => {
      const t = now();
      const req = Buffer.concat(chunks);
      if (req.subarray(0, 13).toString() === 'PODNET-CNI/1\n') {
        emit({ op: 'conn', key: envValue(req, 'CNI_CONTAINERID'), cmd: envValue(req, 'CNI_COMMAND'), t: tAccept, recv: tEof - tAccept, handle: t - tEof, total: t - tAccept });
      }
      return end(...a);
    };
    orig.call(this, sock);
  };
}

{
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  let gcMs = 0;
  let gcCount = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration;
      gcCount++;
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('SIGUSR2', () => {
    flush();
    emit({ op: 'eld', p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6, mean: eld.mean / 1e6, gcMs, gcCount });
    eld.reset();
    gcMs = 0;
    gcCount = 0;
    flush();
  });
}

{
  const file = process.env.PODNET_BENCH_CPU_PROF;
  if (file) {
    const session = new Session();
    session.connect();
    session.post('Profiler.enable');
    session.post('Profiler.setSamplingInterval', { interval: 200 });
    session.post('Profiler.start');
    // The in-thread inspector answers synchronously, so this works inside 'exit'.
    process.on('exit', () => {
      session.post('Profiler.stop', (err, r) => {
        if (!err) writeFileSync(file, JSON.stringify(r.profile));
      });
    });
  }
}
