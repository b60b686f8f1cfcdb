/**
 * The box a container runtime runs in: the test's "host" network namespace, plus a new PID
 * namespace and a private mount namespace, both created here.
 *
 *   setpriv --pdeathsig KILL -- nsenter --net=<host netns> -- \
 *       unshare --pid --fork --mount-proc --propagation private --kill-child -- catatonit -P
 *
 * catatonit is PID 1 of the new PID namespace: it reaps the daemons that runtimes double-fork
 * (conmon, containerd-shim), and SIGKILLing it makes the kernel kill every process in the box,
 * containers included (their PID namespaces are nested in ours). Every later command enters the
 * box with `nsenter --target <pid1> --mount --net --pid`.
 *
 * Inside the private mount namespace (propagation private: nothing leaks to the real one):
 *   /dev/shm    tmpfs  (podman's SHM lock segment is otherwise shared by all rootful podmans)
 *   /run        overlay, upper in the box's tmpfs (runc state /run/runc, shim sockets
 *               /run/containerd/s, podman's /run/netns bind mounts ...)
 *   /run/netns  tmpfs  (podman names namespaces /run/netns/netns-<uuid>)
 *   /var/lib    overlay (the CNI result cache /var/lib/cni, host-local's default dataDir)
 *   /opt        overlay (so that /opt/cni/bin can be made without touching the real /opt)
 * The overlay upper/work dirs live on a tmpfs mounted (inside the box only) on <dir>/priv, so
 * they vanish with the mount namespace. When the last process of the box dies the mount
 * namespace goes, and with it every mount and every network namespace pinned by a mount.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { netnsPath } from './netns.js';
import { HarnessError, LongProcess, run, runOk, sleep, waitFor, WaitAbort, type ExecOptions, type ExecResult } from './proc.js';

export interface BindMount {
  /** Host path (file or directory). */
  readonly source: string;
  /** Path inside the box; created if missing when it lies under /run, /var/lib or /opt. */
  readonly target: string;
  readonly readOnly?: boolean;
}

export interface SandboxOptions {
  /** Network namespace to run in: a name under /run/netns or an absolute path. */
  readonly hostNetns: string;
  /** Prefix of the temp dir's name. */
  readonly prefix: string;
  /** Extra bind mounts, made after the standard ones. */
  readonly binds?: readonly BindMount[];
}

/** Temp dirs of boxes are named <prefix>-XXXXXX with one of these prefixes. */
export const SANDBOX_PREFIXES = ['podnet-podman', 'podnet-ctrd'] as const;
const OWNER_FILE = 'owner.json';

interface OwnerRecord {
  readonly pid1: number;
  readonly pid1Start: string;
  readonly cgroups: readonly string[];
}

/** Paths under which a missing mount target may be created (they are overlays in the box). */
const PRIVATE_TREES = ['/run/', '/var/lib/', '/opt/'];

function procStartTime(pid: number, text: string): string {
  // Field 22 of /proc/PID/stat; the comm field (2) may contain spaces, so split after ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const v = rest[19];
  if (v === undefined) throw new HarnessError(`cannot parse /proc/${pid}/stat`);
  return v;
}

export class Sandbox {
  /** Private temp dir of this box (removed by close()). */
  readonly dir: string;
  readonly hostNetns: string;
  /** PID (in the root PID namespace) of catatonit, PID 1 of the box. 0 until started. */
  pid1 = 0;
  private pid1Start = '';
  private holder: LongProcess | undefined;
  private readonly cgroups = new Set<string>();
  private readonly daemons: LongProcess[] = [];
  private closed = false;

  private constructor(dir: string, hostNetns: string) {
    this.dir = dir;
    this.hostNetns = hostNetns;
  }

  /** Creates the temp dir and the namespaces, and makes the private mounts. */
  static async start(opts: SandboxOptions): Promise<Sandbox> {
    await sweepStaleSandboxes();
    const host = netnsPath(opts.hostNetns);
    if (!existsSync(host)) throw new HarnessError(`host network namespace ${host} does not exist`);
    const dir = await mkdtemp(join(tmpdir(), `${opts.prefix}-`));
    // Overlay mount options are comma separated, colon separated lowerdirs.
    if (/[,:\s]/.test(dir)) {
      await rm(dir, { recursive: true, force: true });
      throw new HarnessError(`temp dir ${dir} has a character overlayfs options cannot carry`);
    }
    const box = new Sandbox(dir, host);
    try {
      await box.boot();
      await box.writeOwner();
      await box.mountPrivate();
      for (const b of opts.binds ?? []) await box.bind(b);
    } catch (e) {
      await box.close().catch(() => undefined);
      throw e;
    }
    return box;
  }

  private async boot(): Promise<void> {
    this.holder = new LongProcess([
      // If this Node process dies (a test runner's SIGKILL), unshare gets SIGKILL, its
      // --kill-child kills catatonit, and the kernel kills the rest of the box.
      'setpriv',
      '--pdeathsig',
      'KILL',
      '--',
      'nsenter',
      `--net=${this.hostNetns}`,
      '--',
      'unshare',
      '--pid',
      '--fork',
      '--mount-proc',
      '--propagation',
      'private',
      '--kill-child',
      '--',
      'catatonit',
      '-P',
    ]);
    const holder = this.holder;
    // setpriv execs nsenter, which execs unshare (same pid), which forks catatonit: find it.
    this.pid1 = await waitFor(
      'the sandbox PID 1 (catatonit)',
      async () => {
        if (holder.exitStatus) throw new WaitAbort(`unshare exited ${JSON.stringify(holder.exitStatus)}: ${holder.stderr().trim()}`);
        const pid = await childOf(holder.pid);
        if (!pid) return undefined;
        const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
        // Wait until the child has exec'd catatonit and sits in the new PID namespace as PID 1.
        if (!/^Name:\s+catatonit$/m.test(status) || !/^NSpid:\s+\d+\s+1$/m.test(status)) return undefined;
        return pid;
      },
      { timeoutMs: 10_000, intervalMs: 5 },
    );
    this.pid1Start = procStartTime(this.pid1, await readFile(`/proc/${this.pid1}/stat`, 'utf8'));
  }

  private async mountPrivate(): Promise<void> {
    const priv = join(this.dir, 'priv');
    await mkdir(priv);
    await this.execOk(['mount', '-t', 'tmpfs', '-o', 'mode=0700,size=512m', 'podnet-box', priv]);
    await this.execOk(['mount', '-t', 'tmpfs', '-o', 'mode=1777,size=64m', 'shm', '/dev/shm']);
    for (const [name, target] of [
      ['run', '/run'],
      ['varlib', '/var/lib'],
      ['opt', '/opt'],
    ] as const) {
      const upper = join(priv, name, 'upper');
      const work = join(priv, name, 'work');
      await this.execOk(['mkdir', '-p', upper, work]);
      await this.execOk(['mount', '-t', 'overlay', '-o', `lowerdir=${target},upperdir=${upper},workdir=${work}`, `podnet-${name}`, target]);
    }
    await this.execOk(['mkdir', '-p', '/run/netns', '/run/lock', '/var/lib/cni']);
    await this.execOk(['mount', '-t', 'tmpfs', '-o', 'mode=0755,size=1m', 'netns', '/run/netns']);
  }

  /** Bind-mounts source on target inside the box. */
  async bind(b: BindMount): Promise<void> {
    const probe = await this.exec(['test', '-e', b.target]);
    if (probe.code !== 0) {
      if (!PRIVATE_TREES.some((p) => b.target.startsWith(p))) {
        throw new HarnessError(`bind target ${b.target} does not exist (only targets under ${PRIVATE_TREES.join(', ')} are created)`);
      }
      const isDir = (await run(['test', '-d', b.source])).code === 0;
      if (isDir) await this.execOk(['mkdir', '-p', b.target]);
      else {
        await this.execOk(['mkdir', '-p', b.target.slice(0, b.target.lastIndexOf('/')) || '/']);
        await this.execOk(['touch', b.target]);
      }
    }
    await this.execOk(['mount', '--bind', b.source, b.target]);
    if (b.readOnly) await this.execOk(['mount', '-o', 'remount,bind,ro', b.target]);
  }

  private enter(argv: readonly string[]): string[] {
    if (this.closed || !this.pid1) throw new HarnessError('sandbox is not running');
    return ['nsenter', `--target=${this.pid1}`, '--mount', '--net', '--pid', '--', ...argv];
  }

  /** Runs argv inside the box (host netns, private mounts, box PID namespace). */
  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return run(this.enter(argv), opts);
  }

  /** Like exec, but a non-zero exit rejects. */
  execOk(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return runOk(this.enter(argv), opts);
  }

  /**
   * Starts a long-running process inside the box. The process seen from here is nsenter
   * (which forks for the PID namespace); it ends when the process it started ends. close()
   * kills whatever is left.
   */
  spawn(argv: readonly string[], opts: { env?: NodeJS.ProcessEnv } = {}): LongProcess {
    const p = new LongProcess(this.enter(argv), opts);
    this.daemons.push(p);
    return p;
  }

  /**
   * The path, usable from outside the box, of a path inside it: /proc/<pid1>/root<p> (the
   * kernel resolves it in the box's mount namespace, and /proc there is the box's procfs, so
   * "/proc/93/ns/net" from ctr or "/run/netns/netns-<uuid>" from podman both work).
   */
  outsidePath(pathInside: string): string {
    if (!pathInside.startsWith('/')) throw new HarnessError(`not an absolute path: ${pathInside}`);
    if (!this.pid1 || this.closed) throw new HarnessError('sandbox is not running');
    return `/proc/${this.pid1}/root${pathInside}`;
  }

  /** Registers a cgroup path (relative to each hierarchy's root) for removal by close(). */
  async trackCgroup(rel: string): Promise<void> {
    this.cgroups.add(rel.replace(/^\/+/, ''));
    await this.writeOwner();
  }

  /** Records what a later sweepStaleSandboxes() needs should this process die before close(). */
  private async writeOwner(): Promise<void> {
    const owner: OwnerRecord = { pid1: this.pid1, pid1Start: this.pid1Start, cgroups: [...this.cgroups] };
    await writeFile(join(this.dir, OWNER_FILE), JSON.stringify(owner));
  }

  /** Kills every process of the box, removes tracked cgroups and the temp dir. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const problems: string[] = [];
    if (this.pid1) {
      try {
        const stat = await readFile(`/proc/${this.pid1}/stat`, 'utf8');
        if (procStartTime(this.pid1, stat) === this.pid1Start) process.kill(this.pid1, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (this.holder) {
      if ((await this.holder.wait(10_000)) === undefined) {
        this.holder.kill('SIGKILL');
        if ((await this.holder.wait(5_000)) === undefined) problems.push(`unshare (pid ${this.holder.pid}) did not exit`);
      }
    }
    for (const d of this.daemons) {
      if ((await d.wait(5_000)) === undefined) {
        d.kill('SIGKILL');
        if ((await d.wait(2_000)) === undefined) problems.push(`${d.argv.join(' ')} (pid ${d.pid}) did not exit`);
      }
    }
    for (const rel of this.cgroups) {
      try {
        await removeCgroup(rel);
      } catch (e) {
        problems.push(e instanceof Error ? e.message : String(e));
      }
    }
    await rm(this.dir, { recursive: true, force: true, maxRetries: 3 }).catch((e: unknown) => {
      problems.push(`rm ${this.dir}: ${e instanceof Error ? e.message : String(e)}`);
    });
    if (problems.length) throw new HarnessError(`sandbox clean-up: ${problems.join('; ')}`);
  }
}

/**
 * Removes what boxes of a process that died without close() left (its processes died with it:
 * setpriv --pdeathsig): the temp dir and the tracked cgroups, when the box's PID 1 is gone.
 */
export async function sweepStaleSandboxes(): Promise<void> {
  const base = tmpdir();
  let names: string[];
  try {
    names = await readdir(base);
  } catch {
    return;
  }
  for (const name of names) {
    if (!SANDBOX_PREFIXES.some((p) => name.startsWith(`${p}-`))) continue;
    const dir = join(base, name);
    let owner: OwnerRecord;
    try {
      owner = JSON.parse(await readFile(join(dir, OWNER_FILE), 'utf8')) as OwnerRecord;
    } catch {
      continue; // being created right now, or not ours
    }
    if (typeof owner.pid1 !== 'number' || !Array.isArray(owner.cgroups)) continue;
    const stat = await readFile(`/proc/${owner.pid1}/stat`, 'utf8').catch(() => '');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (stat && state !== 'Z' && state !== 'X' && procStartTime(owner.pid1, stat) === owner.pid1Start) continue; // alive
    for (const cg of owner.cgroups) await removeCgroup(cg).catch(() => undefined);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** First child of pid: /proc/PID/task/PID/children, or a /proc scan without CONFIG_PROC_CHILDREN. */
async function childOf(pid: number): Promise<number | undefined> {
  try {
    const first = Number((await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim().split(/\s+/)[0]);
    return first || undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync(`/proc/${pid}`)) return undefined;
  }
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // Field 4 (ppid), counted after the ")" that closes comm.
    if (stat && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) return Number(name);
  }
  return undefined;
}

/** cgroup roots: every v1 hierarchy (and the v2 one) under /sys/fs/cgroup, or the v2 root. */
async function cgroupRoots(): Promise<string[]> {
  const base = '/sys/fs/cgroup';
  if (existsSync(join(base, 'cgroup.controllers'))) return [base];
  const out: string[] = [];
  for (const e of await readdir(base, { withFileTypes: true })) if (e.isDirectory()) out.push(join(base, e.name));
  return out;
}

async function rmdirTree(path: string): Promise<void> {
  for (const e of await readdir(path, { withFileTypes: true })) if (e.isDirectory()) await rmdirTree(join(path, e.name));
  // A cgroup whose last task just died can be busy for a moment: bounded retries.
  for (let i = 0; ; i++) {
    try {
      await rmdir(path);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || i >= 40) throw new HarnessError(`rmdir ${path}: ${code ?? String(e)}`);
      await sleep(25);
    }
  }
}

/** Removes a cgroup (and its children) from every hierarchy; absent is fine. */
export async function removeCgroup(rel: string): Promise<void> {
  if (!rel || rel.includes('..')) throw new HarnessError(`refusing to remove cgroup ${JSON.stringify(rel)}`);
  for (const root of await cgroupRoots()) {
    const p = join(root, rel);
    if (existsSync(p)) await rmdirTree(p);
  }
}

export const randomId = (): string => randomBytes(4).toString('hex');
