/**
 * One probe daemon per lab pod, each started inside its pod's namespace with
 * `ip netns exec <ns> node …/main.js` (argument arrays, no shell); their control sockets and logs
 * live in `<lab dir>/probes/`, so their command lines name the lab directory and lab teardown
 * kills them too. stop() ends them all (SIGTERM, then SIGKILL), bounded in time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommonErrors, PodnetError } from '../../common/errors.js';
import { checkNsName } from '../netns.js';
import { stopPids } from '../procs.js';
import { pingDaemon } from './client.js';
import { PROBE_MAIN_JS, SCTP_PROBE_BIN } from './paths.js';

export interface FleetPod {
  /** What the matrix calls it, e.g. "x/a". */
  readonly key: string;
  /** Its network namespace. */
  readonly ns: string;
  readonly v4: string | undefined;
  readonly v6: string | undefined;
}

export interface ProbeTarget extends FleetPod {
  readonly control: string;
  readonly log: string;
}

export interface FleetOptions {
  /** The lab directory (control sockets and logs go to <dir>/probes). */
  readonly dir: string;
  readonly pods: readonly FleetPod[];
  /** Served on TCP, UDP and SCTP. */
  readonly ports: readonly number[];
  readonly startTimeoutMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fileName = (key: string): string => key.replace(/[^a-z0-9-]/gi, '-');

export class ProbeFleet {
  private constructor(
    readonly targets: readonly ProbeTarget[],
    private readonly children: readonly ChildProcess[],
  ) {}

  static async start(o: FleetOptions): Promise<ProbeFleet> {
    for (const [what, p] of [['daemon', PROBE_MAIN_JS], ['SCTP tool', SCTP_PROBE_BIN]] as const) {
      if (!existsSync(p)) throw new PodnetError(CommonErrors.NOT_FOUND, `probe ${what} ${p} is missing (npm run build)`);
    }
    const dir = join(o.dir, 'probes');
    mkdirSync(dir, { recursive: true });
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const children: ChildProcess[] = [];
    const targets = o.pods.map((p): ProbeTarget => ({ ...p, control: join(dir, `${fileName(p.key)}.sock`), log: join(dir, `${fileName(p.key)}.log`) }));
    const fleet = new ProbeFleet(targets, children);
    try {
      for (const t of targets) {
        const argv = ['netns', 'exec', checkNsName(t.ns), process.execPath, PROBE_MAIN_JS, '--name', t.key, '--control', t.control, '--ports', o.ports.join(','), '--sctp-bin', SCTP_PROBE_BIN];
        const fd = openSync(t.log, 'a');
        try {
          const child = spawn('ip', argv, { stdio: ['ignore', fd, fd], env });
          child.once('error', () => undefined);
          children.push(child);
        } finally {
          closeSync(fd);
        }
      }
      await Promise.all(targets.map((t, i) => waitReady(t, children[i] as ChildProcess, o.startTimeoutMs ?? 15_000)));
      return fleet;
    } catch (e) {
      await fleet.stop();
      throw e;
    }
  }

  target(key: string): ProbeTarget {
    const t = this.targets.find((x) => x.key === key);
    if (!t) throw new PodnetError(CommonErrors.NOT_FOUND, `no probe daemon for ${key}`);
    return t;
  }

  /** Ends every daemon (its SCTP responder follows it); returns the pids that would not die. */
  async stop(graceMs = 3000): Promise<number[]> {
    const pids = this.children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => c.pid).filter((p): p is number => p !== undefined);
    return stopPids(pids, graceMs);
  }
}

async function waitReady(t: ProbeTarget, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let i = 0; Date.now() < deadline && i < 1000; i++) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (existsSync(t.control)) {
      try {
        await pingDaemon(t.control, 1000);
        return;
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
    }
    await sleep(50);
  }
  let tail = '';
  try {
    tail = readFileSync(t.log, 'utf8').trimEnd().split('\n').slice(-6).join('\n  ');
  } catch {
    /* no log */
  }
  const state = child.exitCode !== null || child.signalCode !== null ? `exited (${child.exitCode ?? child.signalCode})` : `not ready within ${timeoutMs} ms${last ? ` (${last})` : ''}`;
  throw new PodnetError(CommonErrors.TIMEOUT, `probe daemon of ${t.key} in ${t.ns} ${state}; ${t.log}:\n  ${tail}`);
}
