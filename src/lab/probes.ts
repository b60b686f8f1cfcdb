/**
 * Reachability probes run inside lab namespaces: ping (bounded retries) and a TCP "who am I"
 * exchange with the external namespace, whose listener answers with the source address it saw
 * (how egress NAT is proved without tcpdump). Small Node scripts are passed as `node -e` argument
 * arrays; nothing goes through a shell.
 */
import { spawn } from 'node:child_process';
import { execIn } from './netns.js';

export interface PingResult {
  readonly ok: boolean;
  /** Attempts made (1 = answered at once). */
  readonly attempts: number;
  readonly rttMs: number | undefined;
  readonly error: string | undefined;
}

/** Pings dst from namespace ns: one echo per attempt, 1 s wait, at most `attempts` attempts. */
export async function ping(ns: string, dst: string, attempts = 3): Promise<PingResult> {
  let last = '';
  for (let i = 1; i <= attempts; i++) {
    const r = await execIn(ns, 'ping', ['-n', '-q', '-c', '1', '-W', '1', dst], { timeoutMs: 5000 }).catch((e: unknown) => ({ code: -1, stdout: '', stderr: String(e) }));
    if (r.code === 0) {
      const m = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
      return { ok: true, attempts: i, rttMs: m ? Number(m[1]) : undefined, error: undefined };
    }
    last = (r.stderr.trim() || r.stdout.trim().split('\n').slice(-2).join(' ')).slice(0, 200);
  }
  return { ok: false, attempts, rttMs: undefined, error: last };
}

/** Runs fn over items with at most `limit` in flight; results in item order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

const LISTENER =
  "const net=require('net');const [host,ms]=[process.argv[1],+process.argv[2]];" +
  "const t=setTimeout(()=>process.exit(2),ms);" +
  "const s=net.createServer(c=>{const a=c.remoteAddress||'';c.end(a+'\\n');process.stdout.write('PEER '+a+'\\n');" +
  "s.close();clearTimeout(t);setTimeout(()=>process.exit(0),50)});" +
  "s.listen(0,host,()=>process.stdout.write('LISTEN '+s.address().port+'\\n'));s.on('error',e=>{process.stderr.write(String(e));process.exit(3)})";

const CLIENT =
  "const net=require('net');let b='';const c=net.connect({host:process.argv[1],port:+process.argv[2],timeout:+process.argv[3]});" +
  "c.on('data',d=>b+=d);c.on('end',()=>{process.stdout.write(b);process.exit(0)});" +
  "c.on('timeout',()=>{process.stderr.write('timeout');process.exit(1)});c.on('error',e=>{process.stderr.write(String(e.message));process.exit(1)})";

export interface WhoAmIResult {
  readonly ok: boolean;
  /** The source address the listener saw. */
  readonly seen: string | undefined;
  readonly error: string | undefined;
}

const nodeEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
};

/**
 * Opens a one-shot TCP listener on `host` inside `serverNs`, connects to it from `clientNs`, and
 * returns the peer address the listener saw. Bounded by timeoutMs.
 */
export async function whoAmI(clientNs: string, serverNs: string, host: string, timeoutMs = 8000): Promise<WhoAmIResult> {
  const server = spawn('ip', ['netns', 'exec', serverNs, process.execPath, '-e', LISTENER, host, String(timeoutMs)], { stdio: ['ignore', 'pipe', 'pipe'], env: nodeEnv() });
  let out = '';
  let err = '';
  server.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  server.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((r) => {
    server.once('exit', (code) => r(code));
    server.once('error', () => r(-1));
  });
  const killTimer = setTimeout(() => server.kill('SIGKILL'), timeoutMs + 2000);
  try {
    const port = await waitFor(() => /LISTEN (\d+)/.exec(out)?.[1], exited, timeoutMs);
    if (!port) return { ok: false, seen: undefined, error: `listener in ${serverNs} did not start: ${err.trim() || 'no output'}` };
    const r = await execIn(clientNs, process.execPath, ['-e', CLIENT, host, port, String(Math.min(5000, timeoutMs))], { timeoutMs: timeoutMs + 1000, env: nodeEnv() });
    const answered = r.stdout.trim();
    await Promise.race([exited, new Promise((res) => setTimeout(res, 1000))]);
    const seen = /PEER (\S+)/.exec(out)?.[1] ?? (answered || undefined);
    if (r.code !== 0) return { ok: false, seen, error: `connect from ${clientNs} to ${host}: ${r.stderr.trim() || `exit ${r.code}`}` };
    return { ok: seen !== undefined, seen, error: seen ? undefined : 'no peer address reported' };
  } finally {
    clearTimeout(killTimer);
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  }
}

async function waitFor(get: () => string | undefined, exited: Promise<unknown>, timeoutMs: number): Promise<string | undefined> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; Date.now() < deadline && i < 2000; i++) {
    const v = get();
    if (v !== undefined) return v;
    if (gone) return undefined;
    await new Promise((r) => setTimeout(r, 10));
  }
  return undefined;
}
