/**
 * Traffic for the privileged tests and the load benchmark, run as a child process inside a test
 * namespace (`ip netns exec NS node traffic.js ...`): no nc or busybox needed. Every mode is
 * bounded in count and time and prints one JSON line when done.
 *
 *   server PORT                 TCP and UDP echo-ish server on PORT (answers "ok", closes)
 *   tcp HOST PORT COUNT CONC [RATE] [CONNECT_TIMEOUT_MS]   COUNT connections, CONC at a time, RATE/s max
 *   udp HOST PORT COUNT [PORTS] datagrams from one socket to PORT..PORT+PORTS-1 (distinct flows)
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';

const HARD_LIMIT_MS = 120_000;

function done(summary: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(0);
}

function server(port: number): void {
  const tcp = net.createServer((s) => {
    s.on('error', () => undefined);
    s.end('ok');
  });
  tcp.listen(port, '::', () => process.stdout.write('listening\n'));
  const udp = dgram.createSocket({ type: 'udp6', ipv6Only: false });
  udp.on('message', (_m, r) => udp.send('ok', r.port, r.address));
  udp.bind(port, '::');
  setTimeout(() => process.exit(0), HARD_LIMIT_MS).unref();
  process.on('SIGTERM', () => process.exit(0));
}

async function tcp(host: string, port: number, count: number, conc: number, rate: number, connectTimeoutMs: number): Promise<void> {
  let started = 0;
  let ok = 0;
  let failed = 0;
  const t0 = Date.now();
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const s = net.connect({ host, port });
      const timer = setTimeout(() => s.destroy(new Error('timeout')), connectTimeoutMs);
      s.on('data', () => undefined);
      s.on('end', () => {
        clearTimeout(timer);
        ok++;
        s.end();
        resolve();
      });
      s.on('error', () => {
        clearTimeout(timer);
        failed++;
        resolve();
      });
    });
  const worker = async (): Promise<void> => {
    while (started < count && Date.now() - t0 < HARD_LIMIT_MS) {
      const due = t0 + (started / rate) * 1000;
      const wait = due - Date.now();
      started++;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await one();
    }
  };
  await Promise.all(Array.from({ length: conc }, worker));
  const secs = (Date.now() - t0) / 1000;
  done({ mode: 'tcp', ok, failed, seconds: secs, perSecond: Math.round(ok / secs) });
}

async function udp(host: string, port: number, count: number, ports: number): Promise<void> {
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  let answers = 0;
  s.on('message', () => answers++);
  s.on('error', () => undefined);
  await new Promise<void>((r) => s.bind(0, r));
  for (let i = 0; i < count; i++) {
    await new Promise<void>((r) => s.send('x', port + (i % ports), host, () => r()));
  }
  await new Promise((r) => setTimeout(r, 300));
  s.close();
  done({ mode: 'udp', sent: count, answers });
}

const [mode, ...a] = process.argv.slice(2);
const n = (i: number, def?: number): number => {
  const v = a[i] === undefined ? def : Number(a[i]);
  if (v === undefined || !Number.isFinite(v)) throw new Error(`argument ${i + 2} must be a number`);
  return v;
};
setTimeout(() => done({ mode, error: 'hard time limit' }), HARD_LIMIT_MS + 5000).unref();
if (mode === 'server') server(n(0));
else if (mode === 'tcp') void tcp(a[0] ?? '', n(1), n(2), n(3), n(4, 1e9), n(5, 2000));
else if (mode === 'udp') void udp(a[0] ?? '', n(1), n(2), n(3, 1));
else {
  process.stderr.write('usage: traffic.js server PORT | tcp HOST PORT COUNT CONC [RATE] [TIMEOUT_MS] | udp HOST PORT COUNT [PORTS]\n');
  process.exit(2);
}
