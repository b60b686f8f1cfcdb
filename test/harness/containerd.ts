/**
 * containerd 1.6 driven with `ctr run --cni`, fully contained: a containerd process of our own
 * (root, state, socket and config in a temp dir) inside a Sandbox (the test's host netns plus
 * private PID and mount namespaces), a busybox OCI image built from busybox-static and
 * imported (there is no registry), and private CNI directories bind-mounted over the fixed paths
 * ctr reads: /etc/cni/net.d (config) and /opt/cni/bin + /usr/lib/cni (plugins).
 *
 * Containers run in the foreground form `ctr run --rm --cni IMAGE ID CMD...` (a long-running ctr
 * process per container): that is the only form in which ctr 1.6 ever calls CNI DEL, which it
 * does after the task exits, with an empty CNI_NETNS. `ctr run -d` never calls DEL.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkName, parseIpv4, withCleanup, type RuntimeEnvOptions } from './common.js';
import { failed, HarnessError, waitFor, WaitAbort, type ExecResult, type ExitStatus, type LongProcess } from './proc.js';
import { buildBusyboxOciImage } from './rootfs.js';
import { randomId, Sandbox } from './sandbox.js';

export const BUSYBOX_IMAGE = 'localhost/podnet/busybox:harness';

export interface CtrRunOptions {
  /** Container id (ctr's container and task name). */
  readonly name: string;
  /** The command; busybox applets are on PATH. */
  readonly cmd: readonly string[];
  /** Extra `ctr run` options, placed before the image (e.g. ['--env', 'A=1']). */
  readonly options?: readonly string[];
  readonly timeoutMs?: number;
}

export interface CtrContainer {
  readonly id: string;
  /** The foreground `ctr run --rm --cni` process (seen from here as its nsenter parent). */
  readonly process: LongProcess;
  /** From spawning `ctr run` until the task is RUNNING (CNI ADD done), in milliseconds. */
  readonly runMs: number;
}

export interface CtrExit extends ExitStatus {
  /** stderr of the `ctr run` process (ctr logs a failed DEL here). */
  readonly stderr: string;
}

export type CtrRef = CtrContainer | string;

export interface ContainerdEnv {
  readonly dir: string;
  readonly sandboxPid: number;
  /** containerd socket (valid inside the environment). */
  readonly address: string;
  /** containerd namespace used for everything (also the cgroup parent, removed at the end). */
  readonly namespace: string;
  /** The imported busybox image. */
  readonly image: string;
  /** Starts `ctr run --rm --cni`; resolves once the task is RUNNING (after CNI ADD). */
  run(opts: CtrRunOptions): Promise<CtrContainer>;
  /** `ctr task exec`; rejects on a non-zero exit. */
  exec(c: CtrRef, argv: readonly string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** `ctr task exec`; resolves with whatever exit code. */
  tryExec(c: CtrRef, argv: readonly string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** IPv4 address of eth0 inside the container. */
  ip(c: CtrRef): Promise<string>;
  /** SIGKILLs the task and waits for `ctr run` to exit (it runs CNI DEL, then deletes). */
  rm(c: CtrRef, opts?: { timeoutMs?: number }): Promise<CtrExit>;
  /** Any ctr command (argv after `ctr --address A -n NS`); resolves with whatever exit code. */
  ctr(args: readonly string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Runs argv in the environment's host netns and private mounts. */
  host(argv: readonly string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Starts a long-running process (e.g. a node agent) in the environment; killed at the end. */
  spawn(argv: readonly string[], opts?: { env?: Readonly<Record<string, string>> }): LongProcess;
  /** The host path of a path inside the environment (e.g. a CNI_NETNS): /proc/<pid1>/root<p>. */
  outsidePath(pathInside: string): string;
}

const toml = (s: string): string => JSON.stringify(s);

/**
 * Starts a contained containerd, runs fn with it, then stops every container (so ctr runs
 * CNI DEL), kills every process and removes temp dirs, mounts and cgroups, also when fn throws.
 */
export async function withContainerd<T>(opts: RuntimeEnvOptions, fn: (ctr: ContainerdEnv) => Promise<T>): Promise<T> {
  if (!existsSync(opts.cniConfDir)) throw new HarnessError(`cniConfDir ${opts.cniConfDir} does not exist`);
  for (const p of opts.cniPluginDirs) if (!existsSync(p)) throw new HarnessError(`CNI plugin dir ${p} does not exist`);
  const box = await Sandbox.start({ hostNetns: opts.hostNetns, prefix: 'podnet-ctrd' });
  const timeoutMs = opts.commandTimeoutMs ?? 60_000;
  const namespace = `podnet-ctrd-${randomId()}`;
  const d = (...p: string[]): string => join(box.dir, ...p);
  const address = d('containerd.sock');
  const env: NodeJS.ProcessEnv = { ...process.env, ...(opts.env ?? {}) };
  const running = new Map<string, CtrContainer>();

  const ctr = (args: readonly string[], o: { timeoutMs?: number } = {}): Promise<ExecResult> =>
    box.exec(['ctr', '--address', address, '--namespace', namespace, ...args], { env, timeoutMs: o.timeoutMs ?? timeoutMs });
  const ctrOk = async (args: readonly string[], o: { timeoutMs?: number } = {}): Promise<ExecResult> => {
    const r = await ctr(args, o);
    if (r.code !== 0) throw failed(r);
    return r;
  };
  const idOf = (c: CtrRef): string => checkName(typeof c === 'string' ? c : c.id);

  const rm = async (c: CtrRef, o: { timeoutMs?: number } = {}): Promise<CtrExit> => {
    const id = idOf(c);
    const entry = typeof c === 'string' ? running.get(id) : c;
    if (!entry) throw new HarnessError(`ctr: no container ${id} started by this environment`);
    if (!entry.process.exitStatus) {
      const k = await ctr(['task', 'kill', '--signal', 'SIGKILL', id]);
      if (k.code !== 0 && !entry.process.exitStatus) throw failed(k);
    }
    const st = await entry.process.wait(o.timeoutMs ?? timeoutMs);
    if (!st) throw new HarnessError(`ctr run ${id} did not exit within ${o.timeoutMs ?? timeoutMs} ms after SIGKILL\n${entry.process.stderr()}`);
    running.delete(id);
    return { ...st, stderr: entry.process.stderr() };
  };

  const close = async (): Promise<void> => {
    const problems: string[] = [];
    for (const c of [...running.values()]) {
      try {
        await rm(c, { timeoutMs: 20_000 });
      } catch (e) {
        problems.push(e instanceof Error ? e.message : String(e));
      }
    }
    try {
      await box.close();
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
    if (problems.length) throw new HarnessError(`containerd environment clean-up: ${problems.join('; ')}`);
  };

  try {
    await box.trackCgroup(namespace); // ctr's default cgroup path is /<namespace>/<id>
    // Plugins: bind each source dir to a private path first (one of them may be /usr/lib/cni,
    // which gets covered below), then one merged dir of symlinks, first dir wins (CNI_PATH order).
    const merged = d('cni-bin');
    await mkdir(merged, { recursive: true });
    const seen = new Set<string>();
    for (const [i, src] of opts.cniPluginDirs.entries()) {
      const stash = d('cni-src', String(i));
      await mkdir(stash, { recursive: true });
      await box.bind({ source: src, target: stash, readOnly: true });
      for (const e of await readdir(src, { withFileTypes: true })) {
        if (e.isDirectory() || seen.has(e.name)) continue;
        seen.add(e.name);
        await symlink(join(stash, e.name), join(merged, e.name));
      }
    }
    await box.bind({ source: merged, target: '/opt/cni/bin', readOnly: true });
    if (existsSync('/usr/lib/cni')) await box.bind({ source: merged, target: '/usr/lib/cni', readOnly: true });
    await box.bind({ source: opts.cniConfDir, target: '/etc/cni/net.d', readOnly: true });
    for (const b of opts.binds ?? []) await box.bind(b);

    for (const sub of ['root', 'state', 'opt', 'image']) await mkdir(d(sub), { recursive: true });
    const config = d('config.toml');
    await writeFile(
      config,
      [
        'version = 2',
        `root = ${toml(d('root'))}`,
        `state = ${toml(d('state'))}`,
        // The CRI plugin would start its own CNI watcher and streaming server: not needed by ctr.
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        '[grpc]',
        `  address = ${toml(address)}`,
        '[ttrpc]',
        `  address = ${toml(`${address}.ttrpc`)}`,
        '[debug]',
        '  address = ""',
        '[metrics]',
        '  address = ""',
        '[plugins."io.containerd.internal.v1.opt"]',
        `  path = ${toml(d('opt'))}`,
        '',
      ].join('\n'),
    );
    const daemon = box.spawn(['containerd', '--config', config], { env });
    await waitFor(
      'containerd to serve its socket',
      async () => {
        if (daemon.exitStatus) throw new WaitAbort(`containerd exited: ${daemon.stderr().slice(-2000)}`);
        const r = await box.exec(['ctr', '--address', address, 'version'], { timeoutMs: 5_000 });
        return r.code === 0 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    const tarball = await buildBusyboxOciImage(d('image'), BUSYBOX_IMAGE);
    await ctrOk(['image', 'import', tarball], { timeoutMs: 120_000 });
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }

  const taskStatus = async (id: string): Promise<string | undefined> => {
    const r = await ctrOk(['task', 'ls']);
    for (const line of r.stdout.split('\n').slice(1)) {
      const [task, , status] = line.trim().split(/\s+/);
      if (task === id) return status;
    }
    return undefined;
  };

  const api: ContainerdEnv = {
    dir: box.dir,
    sandboxPid: box.pid1,
    address,
    namespace,
    image: BUSYBOX_IMAGE,
    async run(o) {
      const id = checkName(o.name);
      if (o.cmd.length === 0) throw new HarnessError('ctr.run: empty cmd');
      if (running.has(id)) throw new HarnessError(`ctr: container ${id} is already running`);
      const started = performance.now();
      const p = box.spawn(['ctr', '--address', address, '--namespace', namespace, 'run', '--rm', '--cni', ...(o.options ?? []), BUSYBOX_IMAGE, id, ...o.cmd], {
        env,
      });
      const c: CtrContainer = { id, process: p, runMs: 0 };
      try {
        // ctr creates the task, runs CNI ADD on /proc/<pid>/ns/net, then starts it: RUNNING
        // means ADD succeeded. If ADD fails, ctr exits non-zero with the plugin's error.
        await waitFor(
          `ctr task ${id} to be RUNNING`,
          async () => {
            if (p.exitStatus) return 'exited';
            return (await taskStatus(id)) === 'RUNNING' ? 'running' : undefined;
          },
          { timeoutMs: o.timeoutMs ?? timeoutMs, intervalMs: 20 },
        );
        if (p.exitStatus) {
          throw new HarnessError(`ctr run ${id} exited ${JSON.stringify(p.exitStatus)} before its task ran:\n${p.stderr().trim()}`);
        }
      } catch (e) {
        // Leave nothing behind: a failed ADD leaves a created task and container.
        p.kill('SIGKILL');
        await ctr(['task', 'delete', '--force', id]).catch(() => undefined);
        await ctr(['container', 'delete', id]).catch(() => undefined);
        throw e;
      }
      const result = { ...c, runMs: performance.now() - started };
      running.set(id, result);
      return result;
    },
    async exec(c, argv, o = {}) {
      const r = await ctr(['task', 'exec', '--exec-id', `x${randomId()}`, idOf(c), ...argv], o);
      if (r.code !== 0) throw failed(r);
      return r;
    },
    tryExec(c, argv, o = {}) {
      return ctr(['task', 'exec', '--exec-id', `x${randomId()}`, idOf(c), ...argv], o);
    },
    async ip(c) {
      const r = await api.exec(c, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
      const ip = parseIpv4(r.stdout);
      if (!ip) throw new HarnessError(`ctr: container ${idOf(c)} has no IPv4 address on eth0: ${r.stdout}`);
      return ip;
    },
    rm,
    ctr,
    host(argv, o = {}) {
      return box.exec(argv, { timeoutMs: o.timeoutMs ?? timeoutMs });
    },
    spawn(argv, o = {}) {
      return box.spawn(argv, { env: { ...env, ...(o.env ?? {}) } });
    },
    outsidePath(p) {
      return box.outsidePath(p);
    },
  };
  return withCleanup(api, close, fn);
}
