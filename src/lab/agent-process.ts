/**
 * A real `podnet agent` process running inside a namespace (a lab node or a test's "host").
 * Started with `ip netns exec`, so its netlink sockets, sysctls and /proc/sys/net are the node's.
 *
 * Its pid is written to `<dir>/agent.pid`. With `detached` the agent gets its own session and is
 * not waited for, so it outlives the starting process (`podnet lab up`); a later process takes it
 * over with `AgentProcess.adopt()` (the pid counts only while its command line still names the
 * agent's socket, since pids are reused).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canConnect } from '../agent/client.js';
import { CommonErrors, PodnetError } from '../common/errors.js';
import { checkNsName } from './netns.js';
import { PODNET_JS } from './paths.js';
import { stopPids, verifiedPid, writePidFile } from './procs.js';

export interface AgentProcessOptions {
  readonly ns: string;
  readonly nodeName: string;
  /** Directory for state, socket and log. */
  readonly dir: string;
  /** --pool flags, e.g. "v4=10.244.0.0/16". */
  readonly pools?: readonly string[];
  readonly mtu?: number;
  readonly extraArgs?: readonly string[];
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Own session, not waited for: the agent outlives this process. */
  readonly detached?: boolean;
}

export class AgentProcess {
  private child: ChildProcess | undefined;
  /** A running agent this process did not start (adopt()). */
  private adopted: number | undefined;
  readonly socket: string;
  readonly stateDir: string;
  readonly logFile: string;
  readonly pidFile: string;

  constructor(private readonly opts: AgentProcessOptions) {
    checkNsName(opts.ns);
    this.socket = join(opts.dir, 'agent.sock');
    this.stateDir = join(opts.dir, 'state');
    this.logFile = join(opts.dir, 'agent.log');
    this.pidFile = join(opts.dir, 'agent.pid');
  }

  /** Takes over an agent started by another process; a pid that is no longer this agent is ignored. */
  static adopt(opts: AgentProcessOptions, pid: number | undefined): AgentProcess {
    const a = new AgentProcess(opts);
    a.adopted = verifiedPid(pid, a.socket);
    return a;
  }

  get pid(): number | undefined {
    if (this.child) return this.child.pid;
    this.adopted = verifiedPid(this.adopted, this.socket);
    return this.adopted;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  async start(timeoutMs = 15_000): Promise<void> {
    if (this.running) throw new PodnetError(CommonErrors.INTERNAL, `agent ${this.opts.nodeName} already running`);
    mkdirSync(this.opts.dir, { recursive: true });
    const args = [
      'netns', 'exec', this.opts.ns, process.execPath, PODNET_JS, 'agent',
      '--node-name', this.opts.nodeName,
      '--state-dir', this.stateDir,
      '--socket', this.socket,
      '--log-level', this.opts.logLevel ?? 'info',
      ...(this.opts.mtu ? ['--mtu', String(this.opts.mtu)] : []),
      ...(this.opts.pools ?? []).flatMap((p) => ['--pool', p]),
      ...(this.opts.extraArgs ?? []),
    ];
    const log = openSync(this.logFile, 'a');
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const detached = this.opts.detached === true;
    let child: ChildProcess;
    try {
      child = spawn('ip', args, { stdio: ['ignore', log, log], env, detached });
    } finally {
      closeSync(log);
    }
    if (detached) child.unref();
    child.once('error', () => undefined);
    this.child = child;
    if (child.pid !== undefined) writePidFile(this.pidFile, child.pid);
    let exited: number | null | undefined;
    child.once('exit', (code) => {
      exited = code;
      if (this.child === child) this.child = undefined;
    });
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; Date.now() < deadline && i < 1000; i++) {
      if (exited !== undefined) {
        throw new PodnetError(CommonErrors.INTERNAL, `agent ${this.opts.nodeName} exited with ${exited} during start; see ${this.logFile}${this.logTail()}`);
      }
      if (await canConnect(this.socket)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    await this.kill();
    throw new PodnetError(CommonErrors.TIMEOUT, `agent ${this.opts.nodeName} did not open ${this.socket} within ${timeoutMs} ms; see ${this.logFile}${this.logTail()}`);
  }

  /** The end of the agent's log, for error messages (the log file may be cleaned up with the lab). */
  private logTail(lines = 8): string {
    try {
      const tail = readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines);
      return tail.length ? `; its log ends:\n  ${tail.join('\n  ')}` : '';
    } catch {
      return '';
    }
  }

  /** Graceful stop (SIGTERM), then SIGKILL after the grace period. */
  async stop(graceMs = 5000): Promise<void> {
    await this.signal('SIGTERM', graceMs);
  }

  /** kill -9: what a crash looks like. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL', 5000);
  }

  private async signal(sig: NodeJS.Signals, graceMs: number): Promise<void> {
    if (!this.child && this.adopted !== undefined) {
      const pid = this.pid;
      this.adopted = undefined;
      if (pid !== undefined) await stopPids([pid], sig === 'SIGKILL' ? 0 : graceMs);
      return;
    }
    const child = this.child;
    if (!child || child.exitCode !== null) {
      this.child = undefined;
      return;
    }
    // `ip netns exec` execs the command, so the child's pid is the agent's own.
    const done = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(sig);
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await done;
    clearTimeout(t);
    this.child = undefined;
  }
}
