/**
 * Real etcd members (Debian's etcd-server, /usr/bin/etcd) for the etcd adapter's tests and the
 * lab: one member or an N-member cluster, each with its own name, data dir, log file, peer and
 * client URL under one temporary directory.
 *
 * A member runs either on a loopback address of the root namespace (tests; random free high ports
 * unless ports are given) or inside a lab namespace via `ip netns exec <ns> etcd ...` on that
 * namespace's address. It never listens on a real interface of the root namespace: addresses
 * that are not loopback are refused unless a namespace is given for the member.
 *
 * Processes are started with argument arrays only, with SIGKILL as their parent-death signal
 * (setpriv) and recorded in a process-wide registry that an 'exit' hook kills, so a crashing test
 * does not leave etcd behind. Every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CommonErrors, PodnetError, errorMessage } from '../common/errors.js';
import { checkNsName } from './netns.js';

export const ETCD_BIN = '/usr/bin/etcd';
const SETPRIV = '/usr/bin/setpriv';

export interface EtcdClusterOptions {
  /** One address per member (the member count): loopback addresses, or each namespace's address. */
  readonly hostIps: readonly string[];
  /** Client port of every member; omitted or 0: a random free port per member (root namespace only). */
  readonly clientPort?: number;
  /** Peer port of every member; omitted or 0: a random free port per member (root namespace only). */
  readonly peerPort?: number;
  /** Network namespace per member (same length as hostIps): run it with `ip netns exec`. */
  readonly netns?: readonly string[];
  /** Parent of the cluster's temporary directory (default: the OS temp dir). */
  readonly baseDir?: string;
  /** Member names are `${namePrefix}${i}` (default "etcd"). */
  readonly namePrefix?: string;
  /** Bound on waiting for the cluster (or a restarted member) to become healthy (default 20 s). */
  readonly startTimeoutMs?: number;
  /** etcd's own progress-notification interval for watches (default 5 s). */
  readonly progressNotifyMs?: number;
  /** Extra etcd flags for every member, appended last. */
  readonly extraArgs?: readonly string[];
}

export interface EtcdMemberInfo {
  readonly index: number;
  readonly name: string;
  readonly ip: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly netns: string | undefined;
}

/** Processes started by this module and not yet seen to exit; killed when Node exits. */
const live = new Set<ChildProcess>();
let exitHook = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of live) {
        try {
          c.kill('SIGKILL');
        } catch {
          /* already gone */
        }
      }
    });
  }
}

const isLoopback = (ip: string): boolean => net.isIPv4(ip) ? ip.startsWith('127.') : ip === '::1';
const hostPort = (ip: string, port: number): string => (net.isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`);

function checkPort(p: number | undefined, what: string): number {
  if (p === undefined || p === 0) return 0;
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw invalid(`invalid ${what} ${String(p)}`);
  return p;
}

function invalid(msg: string): PodnetError {
  return new PodnetError(CommonErrors.INVALID_ARGUMENT, msg);
}

/** Free TCP ports on ip, all held open together so that they are distinct, then released. */
async function freePorts(ip: string, count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const s = net.createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen({ host: ip, port: 0, exclusive: true }, () => resolve());
      });
      const addr = s.address();
      if (addr === null || typeof addr === 'string') throw new Error('no port');
      ports.push(addr.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class EtcdCluster {
  readonly dir: string;
  private readonly members: EtcdMemberInfo[];
  private readonly procs: (ChildProcess | undefined)[];
  private readonly token = `podnet-${randomBytes(6).toString('hex')}`;
  private readonly timeoutMs: number;
  private readonly useSetpriv = existsSync(SETPRIV);

  private constructor(
    private readonly opts: EtcdClusterOptions,
    dir: string,
    members: EtcdMemberInfo[],
  ) {
    this.dir = dir;
    this.members = members;
    this.procs = members.map(() => undefined);
    this.timeoutMs = opts.startTimeoutMs ?? 20_000;
  }

  /**
   * Starts every member and waits (bounded) until each reports healthy. On any failure every
   * process started is killed and the directory removed before the error is thrown. With random
   * ports, a start that loses a port race is retried (at most 3 attempts).
   */
  static async start(opts: EtcdClusterOptions): Promise<EtcdCluster> {
    const random = checkPort(opts.clientPort, 'client port') === 0 || checkPort(opts.peerPort, 'peer port') === 0;
    const attempts = random ? 3 : 1;
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      const c = await EtcdCluster.create(opts);
      try {
        await c.startAll();
        return c;
      } catch (e) {
        last = e;
        await c.stopAll();
        if (!/address already in use|bind:/i.test(errorMessage(e))) break;
      }
    }
    throw last;
  }

  private static async create(opts: EtcdClusterOptions): Promise<EtcdCluster> {
    const n = opts.hostIps.length;
    if (n < 1 || n > 9) throw invalid(`etcd cluster of ${n} members: want 1-9`);
    if (opts.netns && opts.netns.length !== n) throw invalid(`${opts.netns.length} namespaces for ${n} members`);
    const prefix = opts.namePrefix ?? 'etcd';
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,30}$/.test(prefix)) throw invalid(`invalid member name prefix ${JSON.stringify(prefix)}`);
    const clientPort = checkPort(opts.clientPort, 'client port');
    const peerPort = checkPort(opts.peerPort, 'peer port');
    for (let i = 0; i < n; i++) {
      const ip = opts.hostIps[i] as string;
      if (!net.isIP(ip)) throw invalid(`invalid member address ${JSON.stringify(ip)}`);
      const ns = opts.netns?.[i];
      if (ns === undefined && !isLoopback(ip)) {
        throw invalid(`member ${i}: ${ip} is not a loopback address; give a namespace to listen elsewhere`);
      }
      if (ns !== undefined) {
        checkNsName(ns);
        if (clientPort === 0 || peerPort === 0) throw invalid(`member ${i} runs in namespace ${ns}: give fixed client and peer ports`);
      }
    }
    const used = new Set<string>();
    const ports: { client: number; peer: number }[] = [];
    for (let i = 0; i < n; i++) {
      const ip = opts.hostIps[i] as string;
      const free = clientPort === 0 || peerPort === 0 ? await freePorts(ip, 2) : [0, 0];
      const p = { client: clientPort || (free[0] as number), peer: peerPort || (free[1] as number) };
      for (const k of [`${opts.netns?.[i] ?? ''}|${hostPort(ip, p.client)}`, `${opts.netns?.[i] ?? ''}|${hostPort(ip, p.peer)}`]) {
        if (used.has(k)) throw invalid(`members share the address ${k.split('|')[1] ?? ''}: give distinct addresses or random ports`);
        used.add(k);
      }
      ports.push(p);
    }
    const dir = mkdtempSync(join(opts.baseDir ?? tmpdir(), 'podnet-etcd-'));
    const members = opts.hostIps.map((ip, i): EtcdMemberInfo => {
      const name = `${prefix}${i}`;
      const p = ports[i] as { client: number; peer: number };
      return {
        index: i,
        name,
        ip,
        clientUrl: `http://${hostPort(ip, p.client)}`,
        peerUrl: `http://${hostPort(ip, p.peer)}`,
        dataDir: join(dir, `${name}.etcd`),
        logFile: join(dir, `${name}.log`),
        netns: opts.netns?.[i],
      };
    });
    return new EtcdCluster(opts, dir, members);
  }

  /** Client URLs of all members (http://ip:port), in member order. */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  get size(): number {
    return this.members.length;
  }

  member(i: number): EtcdMemberInfo {
    const m = this.members[i];
    if (!m) throw invalid(`no etcd member ${i}`);
    return m;
  }

  isRunning(i: number): boolean {
    this.member(i);
    return this.procs[i] !== undefined;
  }

  pid(i: number): number | undefined {
    this.member(i);
    return this.procs[i]?.pid;
  }

  /** SIGKILLs member i (a crash; its data dir stays) and waits until it has exited. */
  async stopMember(i: number): Promise<void> {
    this.member(i);
    const child = this.procs[i];
    this.procs[i] = undefined;
    if (child) await killAndWait(child);
  }

  /** Restarts a stopped member on its data dir and waits (bounded) until it is healthy. */
  async startMember(i: number): Promise<void> {
    this.member(i);
    if (this.procs[i]) throw new PodnetError(CommonErrors.INTERNAL, `etcd member ${i} is already running`);
    this.spawnMember(i);
    try {
      await this.waitHealthy([i]);
    } catch (e) {
      await this.stopMember(i);
      throw e;
    }
  }

  /** SIGSTOP/SIGCONT member i: a hung member whose connections stay open. */
  pauseMember(i: number, paused: boolean): void {
    const child = this.procs[i];
    if (!child) throw new PodnetError(CommonErrors.INTERNAL, `etcd member ${i} is not running`);
    child.kill(paused ? 'SIGSTOP' : 'SIGCONT');
  }

  /** Kills every member (SIGKILL) and removes the cluster's directory. Never throws. */
  async stopAll(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.stopMember(i).catch(() => undefined)));
    try {
      rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      /* best effort */
    }
  }

  /** The last lines of member i's log (for error messages). */
  logTail(i: number, lines = 15): string {
    try {
      return readFileSync(this.member(i).logFile, 'utf8').split('\n').slice(-lines - 1).join('\n');
    } catch {
      return '(no log)';
    }
  }

  private async startAll(): Promise<void> {
    for (let i = 0; i < this.members.length; i++) this.spawnMember(i);
    await this.waitHealthy(this.members.map((m) => m.index));
  }

  private args(m: EtcdMemberInfo): string[] {
    const cluster = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(',');
    const notify = Math.max(1, Math.round((this.opts.progressNotifyMs ?? 5000) / 1000));
    return [
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl,
      '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl,
      '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', cluster,
      '--initial-cluster-token', this.token,
      '--initial-cluster-state', 'new',
      '--logger', 'zap',
      '--log-outputs', 'stderr',
      '--log-level', 'info',
      // Small footprint: a 256 MiB backend quota, snapshots every 10k entries, hourly compaction.
      '--quota-backend-bytes', String(256 * 1024 * 1024),
      '--snapshot-count', '10000',
      '--auto-compaction-mode', 'periodic',
      '--auto-compaction-retention', '1h',
      '--experimental-watch-progress-notify-interval', `${notify}s`,
      ...(this.opts.extraArgs ?? []),
    ];
  }

  private spawnMember(i: number): void {
    const m = this.member(i);
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCD_')) env[k] = v;
    // etcd 3.4 refuses to start on anything but amd64 (and ppc64le) unless told to.
    if (process.arch !== 'x64') env.ETCD_UNSUPPORTED_ARCH = process.arch === 'arm64' ? 'arm64' : process.arch;
    const etcd = [ETCD_BIN, ...this.args(m)];
    const cmd = m.netns === undefined ? etcd : ['ip', 'netns', 'exec', m.netns, ...etcd];
    const argv = this.useSetpriv ? [SETPRIV, '--pdeathsig', 'KILL', ...cmd] : cmd;
    const log = openSync(m.logFile, 'a');
    let child: ChildProcess;
    try {
      // setpriv and `ip netns exec` both exec: the child's pid is etcd's own.
      child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', log, log], env });
    } finally {
      closeSync(log);
    }
    track(child);
    child.once('error', () => undefined);
    child.once('exit', () => {
      if (this.procs[i] === child) this.procs[i] = undefined;
    });
    this.procs[i] = child;
  }

  /** Waits until every listed member answers /health with true (bounded by startTimeoutMs). */
  private async waitHealthy(indexes: readonly number[]): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    const pending = new Set(indexes);
    while (pending.size > 0) {
      for (const i of [...pending]) {
        if (!this.procs[i]) {
          throw new PodnetError(CommonErrors.INTERNAL, `etcd member ${i} exited during start:\n${this.logTail(i)}`);
        }
        if (await this.healthy(i, Math.max(100, Math.min(1000, deadline - Date.now())))) pending.delete(i);
      }
      if (pending.size === 0) return;
      if (Date.now() >= deadline) {
        const i = [...pending][0] as number;
        throw new PodnetError(
          CommonErrors.TIMEOUT,
          `etcd member(s) ${[...pending].join(',')} not healthy within ${this.timeoutMs} ms:\n${this.logTail(i)}`,
        );
      }
      await sleep(100);
    }
  }

  private async healthy(i: number, timeoutMs: number): Promise<boolean> {
    const m = this.member(i);
    const url = `${m.clientUrl}/health`;
    if (m.netns === undefined) return httpHealthy(url, timeoutMs);
    // The member's address is only reachable inside its namespace: ask from there.
    const script =
      "const r=require('http').get(process.argv[1],{timeout:+process.argv[2]},s=>{let b='';" +
      "s.on('data',d=>b+=d);s.on('end',()=>process.exit(/\"health\":\\s*\"true\"/.test(b)?0:1))});" +
      "r.on('error',()=>process.exit(1));r.on('timeout',()=>r.destroy())";
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    return new Promise((resolve) => {
      const c = spawn('ip', ['netns', 'exec', m.netns as string, process.execPath, '-e', script, url, String(timeoutMs)], {
        stdio: 'ignore',
        env,
      });
      const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs + 2000);
      c.once('error', () => resolve(false));
      c.once('exit', (code) => {
        clearTimeout(t);
        resolve(code === 0);
      });
    });
  }
}

function httpHealthy(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 && /"health":\s*"true"/.test(body)));
      res.on('error', () => resolve(false));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

async function killAndWait(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(true), timeoutMs);
  });
  const late = await Promise.race([done.then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) throw new PodnetError(CommonErrors.TIMEOUT, `etcd pid ${String(child.pid)} did not exit within ${timeoutMs} ms of SIGKILL`);
}
