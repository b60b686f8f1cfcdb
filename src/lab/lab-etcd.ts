/**
 * The lab's etcd members: real etcd processes (`ip netns exec pl-<lab>-etcd… /usr/bin/etcd`) on
 * the addresses of the plan, with data, logs and pid files under `<lab dir>/etcd/`.
 *
 * Not src/lab/etcd.ts's EtcdCluster: that one ties every member to the starting process
 * (setpriv --pdeathsig and an exit hook), which is right for a test and wrong for `podnet lab up`,
 * whose cluster must outlive the command. Here a member is started detached (own session) when
 * the lab is, and is found again through its pid file and command line (`--data-dir` under the
 * lab directory), which is also how `podnet lab down` finds it after a crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PodnetError } from '../common/errors.js';
import { ETCD_BIN } from './etcd.js';
import { LabErrors } from './errors.js';
import { isAlive, readPidFile, stopPids, verifiedPid, writePidFile } from './procs.js';
import type { EtcdPlan } from './topology.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Asked from inside the member's namespace (its address is not reachable from the root one). */
const HEALTH_SCRIPT =
  "const r=require('http').get(process.argv[1],{timeout:1000},s=>{let b='';" +
  "s.on('data',d=>b+=d);s.on('end',()=>process.exit(/\"health\":\\s*\"true\"/.test(b)?0:1))});" +
  "r.on('error',()=>process.exit(1));r.on('timeout',()=>r.destroy())";

export class LabEtcd {
  private readonly children = new Map<number, ChildProcess>();

  constructor(
    readonly members: readonly EtcdPlan[],
    readonly dir: string,
    private readonly token: string,
    private readonly detached: boolean,
  ) {}

  dataDir(i: number): string {
    return join(this.dir, `${this.plan(i).name}.etcd`);
  }
  logFile(i: number): string {
    return join(this.dir, `${this.plan(i).name}.log`);
  }
  pidFile(i: number): string {
    return join(this.dir, `${this.plan(i).name}.pid`);
  }
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  private plan(i: number): EtcdPlan {
    const m = this.members[i];
    if (!m) throw new PodnetError(LabErrors.LAB_INVALID, `no etcd member ${i} (the lab has ${this.members.length})`);
    return m;
  }

  /** The member's pid while it runs (checked against its command line). */
  pid(i: number): number | undefined {
    const own = this.children.get(i)?.pid;
    return verifiedPid(own ?? readPidFile(this.pidFile(i)), this.dataDir(i));
  }

  /** Starts every member, then waits until all are healthy. */
  async startAll(timeoutMs = 30_000): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    for (let i = 0; i < this.members.length; i++) this.spawnMember(i);
    await this.waitHealthy(this.members.map((_, i) => i), timeoutMs);
  }

  /** Restarts a stopped member on its data dir and waits until it is healthy. */
  async startMember(i: number, timeoutMs = 30_000): Promise<void> {
    if (this.pid(i) !== undefined) return;
    this.spawnMember(i);
    await this.waitHealthy([i], timeoutMs);
  }

  /** SIGKILLs member i (its data dir stays): member loss. */
  async stopMember(i: number): Promise<void> {
    const pid = this.pid(i);
    this.children.delete(i);
    if (pid !== undefined) await stopPids([pid], 0);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.stopMember(i)));
  }

  logTail(i: number, lines = 12): string {
    try {
      return readFileSync(this.logFile(i), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  private args(m: EtcdPlan): string[] {
    return [
      '--name', m.name,
      '--data-dir', this.dataDir(m.index),
      '--listen-client-urls', m.clientUrl,
      '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl,
      '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', this.members.map((x) => `${x.name}=${x.peerUrl}`).join(','),
      '--initial-cluster-token', this.token,
      '--initial-cluster-state', 'new',
      '--logger', 'zap',
      '--log-outputs', 'stderr',
      '--log-level', 'warn',
      '--quota-backend-bytes', String(256 * 1024 * 1024),
      '--snapshot-count', '10000',
      '--auto-compaction-mode', 'periodic',
      '--auto-compaction-retention', '1h',
      '--experimental-watch-progress-notify-interval', '5s',
    ];
  }

  private spawnMember(i: number): void {
    const m = this.plan(i);
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCD_')) env[k] = v;
    if (process.arch !== 'x64') env.ETCD_UNSUPPORTED_ARCH = process.arch === 'arm64' ? 'arm64' : process.arch;
    const log = openSync(this.logFile(i), 'a');
    let child: ChildProcess;
    try {
      // `ip netns exec` execs etcd: the child's pid is etcd's own.
      child = spawn('ip', ['netns', 'exec', m.ns, ETCD_BIN, ...this.args(m)], { stdio: ['ignore', log, log], env, detached: this.detached });
    } finally {
      closeSync(log);
    }
    child.once('error', () => undefined);
    if (this.detached) child.unref();
    child.once('exit', () => {
      if (this.children.get(i) === child) this.children.delete(i);
    });
    this.children.set(i, child);
    if (child.pid !== undefined) writePidFile(this.pidFile(i), child.pid);
  }

  private async waitHealthy(indexes: readonly number[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const pending = new Set(indexes);
    for (let round = 0; pending.size > 0 && round < 1000; round++) {
      for (const i of [...pending]) {
        const child = this.children.get(i);
        if (!child || child.pid === undefined || !isAlive(child.pid)) {
          throw new PodnetError(LabErrors.LAB_ETCD_FAILED, `etcd member ${i} exited during start:\n${this.logTail(i)}`);
        }
        if (await this.healthy(i)) pending.delete(i);
      }
      if (pending.size === 0) return;
      if (Date.now() >= deadline) break;
      await sleep(100);
    }
    const i = [...pending][0] ?? 0;
    throw new PodnetError(LabErrors.LAB_ETCD_FAILED, `etcd member(s) ${[...pending].join(',')} not healthy within ${timeoutMs} ms:\n${this.logTail(i)}`);
  }

  private healthy(i: number): Promise<boolean> {
    const m = this.plan(i);
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    return new Promise((resolve) => {
      const c = spawn('ip', ['netns', 'exec', m.ns, process.execPath, '-e', HEALTH_SCRIPT, `${m.clientUrl}/health`], { stdio: 'ignore', env });
      const t = setTimeout(() => c.kill('SIGKILL'), 5000);
      c.once('error', () => resolve(false));
      c.once('exit', (code) => {
        clearTimeout(t);
        resolve(code === 0);
      });
    });
  }
}
