/**
 * Short TCP connections for bench/flows, run as a child process inside a pod's namespace
 * (`ip netns exec POD node dist/bench/flows/load.js ...`). Bounded in time (and count) in every
 * mode; the client prints one JSON line when done.
 *
 *   server PORT LIMIT_S
 *       answers each connection's first chunk with "pong\n" and closes (the server closes first,
 *       as an HTTP/1.0 server does: TIME_WAIT stays on its side); prints "listening" once it
 *       listens; exits after LIMIT_S seconds or on SIGTERM.
 *   client HOST PORT SECONDS CONC [CONNECT_TIMEOUT_MS=2000]
 *       CONC workers, each in a loop for SECONDS: connect, write "ping\n", read until the server
 *       closes, close; prints {"ok","failed","attempts","seconds","perSecond","p50Ms","p99Ms","errors"}.
 */
import * as net from 'node:net';

/** No client or server outlives this, whatever it was asked. */
const HARD_LIMIT_S = 1800;
/** Connections per client run, at most (far above what 2 cores make in a bench run). */
const MAX_CONNECTIONS = 5_000_000;
/** Latency samples kept (the first ones; enough for percentiles). */
const MAX_SAMPLES = 1_000_000;

export interface ClientSummary {
  readonly ok: number;
  readonly failed: number;
  readonly attempts: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** Connect -> response -> closed by the server, per connection. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Failures by error code. */
  readonly errors: Readonly<Record<string, number>>;
  /** The client's own CPU (user+system) over the run, ms. */
  readonly cpuMs: number;
}

function server(port: number, limitS: number): void {
  const srv = net.createServer({ noDelay: true }, (s) => {
    s.on('error', () => undefined);
    s.once('data', () => s.end('pong\n'));
  });
  srv.on('error', (e) => {
    process.stderr.write(`server: ${e.message}\n`);
    process.exit(1);
  });
  srv.listen({ port, host: '0.0.0.0', backlog: 4096 }, () => process.stdout.write('listening\n'));
  setTimeout(() => process.exit(0), Math.min(limitS, HARD_LIMIT_S) * 1000).unref();
  process.on('SIGTERM', () => process.exit(0));
}

function pct(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * q))] as number;
}

async function client(host: string, port: number, seconds: number, conc: number, connectTimeoutMs: number): Promise<void> {
  let ok = 0;
  let failed = 0;
  let attempts = 0;
  const errors: Record<string, number> = {};
  const lat = new Float64Array(MAX_SAMPLES);
  let nLat = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + Math.min(seconds, HARD_LIMIT_S) * 1000;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      attempts++;
      const start = performance.now();
      let got = 0;
      let err: string | undefined;
      const s = net.connect({ host, port, noDelay: true });
      const timer = setTimeout(() => s.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })), connectTimeoutMs);
      s.on('connect', () => s.write('ping\n'));
      s.on('data', (d: Buffer) => (got += d.length));
      s.on('error', (e: NodeJS.ErrnoException) => (err = e.code ?? e.message));
      s.on('close', () => {
        clearTimeout(timer);
        if (err === undefined && got > 0) {
          ok++;
          if (nLat < MAX_SAMPLES) lat[nLat++] = performance.now() - start;
        } else {
          failed++;
          const k = err ?? 'NO_ANSWER';
          errors[k] = (errors[k] ?? 0) + 1;
        }
        resolve();
      });
    });
  const worker = async (): Promise<void> => {
    while (attempts < MAX_CONNECTIONS && performance.now() < end) await one();
  };
  await Promise.all(Array.from({ length: conc }, worker));
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const sorted = lat.subarray(0, nLat).sort();
  const summary: ClientSummary = { ok, failed, attempts, seconds: secs, perSecond: ok / secs, p50Ms: pct(sorted, 0.5), p99Ms: pct(sorted, 0.99), errors, cpuMs: (cpu.user + cpu.system) / 1000 };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(0);
}

function num(v: string | undefined, what: string, def?: number): number {
  const n = v === undefined ? def : Number(v);
  if (n === undefined || !Number.isFinite(n) || n <= 0) {
    process.stderr.write(`load.js: ${what} must be a positive number, got ${String(v)}\n`);
    process.exit(2);
  }
  return n;
}

if (require.main === module) {
  const [mode, ...a] = process.argv.slice(2);
  setTimeout(() => process.exit(3), (HARD_LIMIT_S + 10) * 1000).unref();
  if (mode === 'server') server(num(a[0], 'PORT'), num(a[1], 'LIMIT_S'));
  else if (mode === 'client') void client(a[0] ?? '', num(a[1], 'PORT'), num(a[2], 'SECONDS'), num(a[3], 'CONC'), num(a[4], 'CONNECT_TIMEOUT_MS', 2000));
  else {
    process.stderr.write('usage: load.js server PORT LIMIT_S | client HOST PORT SECONDS CONC [CONNECT_TIMEOUT_MS]\n');
    process.exit(2);
  }
}
