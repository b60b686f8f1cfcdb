/**
 * podman 4.3 with its CNI backend, fully contained: own containers.conf and storage.conf in a
 * temp dir (CONTAINERS_CONF / CONTAINERS_STORAGE_CONF), runc with the cgroupfs manager, a
 * busybox --rootfs per container, and every podman process inside a Sandbox (the test's host
 * netns + private PID and mount namespaces).
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkName, withCleanup, type RuntimeEnvOptions } from './common.js';
import { failed, HarnessError, type ExecResult, type LongProcess } from './proc.js';
import { buildBusyboxRootfs } from './rootfs.js';
import { randomId, Sandbox } from './sandbox.js';

export interface PodmanRunOptions {
  /** Container name (also used in its rootfs path). */
  readonly name: string;
  /** Name of a CNI network (conflist "name") in cniConfDir. */
  readonly network: string;
  /** The command; busybox applets are on PATH. */
  readonly cmd: readonly string[];
  /** Extra `podman run` options, placed before --rootfs (e.g. ['--ip', '10.1.0.9']). */
  readonly options?: readonly string[];
  readonly timeoutMs?: number;
}

export interface PodmanContainer {
  readonly id: string;
  readonly name: string;
  /** The container's busybox root filesystem (a host path). */
  readonly rootfs: string;
  /** How long `podman run -d` took, in milliseconds. */
  readonly runMs: number;
}

export type PodmanRef = PodmanContainer | string;

export interface PodmanEnv {
  /** Private temp dir of this environment. */
  readonly dir: string;
  /** PID (root PID namespace) of the environment's PID 1; all its processes die with it. */
  readonly sandboxPid: number;
  /** cgroup parent of every container (removed at the end). */
  readonly cgroupParent: string;
  /** `podman run -d ... --rootfs <busybox> cmd...`; rejects when podman fails (e.g. CNI ADD). */
  run(opts: PodmanRunOptions): Promise<PodmanContainer>;
  /** `podman exec`; rejects on a non-zero exit. */
  exec(c: PodmanRef, argv: readonly string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** `podman exec`; resolves with whatever exit code. */
  tryExec(c: PodmanRef, argv: readonly string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** The container's IPv4 address on `network` (default: its only / first network). */
  ip(c: PodmanRef, network?: string): Promise<string>;
  /** `podman container inspect`, parsed. */
  inspect(c: PodmanRef): Promise<Record<string, unknown>>;
  /** `podman rm -f -t 0` (CNI DEL runs here). */
  rm(c: PodmanRef): Promise<void>;
  /** Any podman command (argv without "podman"); resolves with whatever exit code. */
  podman(args: readonly string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Runs argv in the environment's host netns and private mounts (e.g. ping from the host). */
  host(argv: readonly string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Starts a long-running process (e.g. a node agent) in the environment; killed at the end. */
  spawn(argv: readonly string[], opts?: { env?: Readonly<Record<string, string>> }): LongProcess;
  /** The host path of a path inside the environment (e.g. a CNI_NETNS): /proc/<pid1>/root<p>. */
  outsidePath(pathInside: string): string;
}

const toml = (s: string): string => JSON.stringify(s);
const tomlList = (xs: readonly string[]): string => `[${xs.map(toml).join(', ')}]`;

const refName = (c: PodmanRef): string => checkName(typeof c === 'string' ? c : c.name);

/**
 * Starts a contained podman environment, runs fn with it, then removes every container (so
 * CNI DEL runs), kills every process, and removes temp dirs, mounts and cgroups, also when fn
 * throws.
 */
export async function withPodmanEnv<T>(opts: RuntimeEnvOptions, fn: (podman: PodmanEnv) => Promise<T>): Promise<T> {
  if (!existsSync(opts.cniConfDir)) throw new HarnessError(`cniConfDir ${opts.cniConfDir} does not exist`);
  const lockFile = join(opts.cniConfDir, 'cni.lock');
  const hadLock = existsSync(lockFile);
  const box = await Sandbox.start({ hostNetns: opts.hostNetns, prefix: 'podnet-podman', binds: opts.binds ?? [] });
  const timeoutMs = opts.commandTimeoutMs ?? 60_000;
  const cgroupParent = `/podnet-podman-${randomId()}`;
  const d = (...p: string[]): string => join(box.dir, ...p);

  let env: NodeJS.ProcessEnv | undefined; // set once the private configuration is written
  const close = async (): Promise<void> => {
    const problems: string[] = [];
    if (env) {
      try {
        const r = await box.exec(['podman', 'rm', '--all', '--force', '--time', '0'], { env, timeoutMs });
        if (r.code !== 0) problems.push(failed(r).message);
      } catch (e) {
        problems.push(e instanceof Error ? e.message : String(e));
      }
    }
    try {
      await box.close();
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
    if (!hadLock) await rm(lockFile, { force: true });
    if (problems.length) throw new HarnessError(`podman environment clean-up: ${problems.join('; ')}`);
  };

  try {
    await box.trackCgroup(cgroupParent);
    for (const sub of ['conf', 'root', 'runroot', 'tmp', 'containers']) await mkdir(d(sub), { recursive: true });
    await writeFile(
      d('conf', 'containers.conf'),
      [
        '[containers]',
        // podman's defaults (nofile 1048576) exceed what runc may set here.
        'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]',
        'log_driver = "k8s-file"',
        '[network]',
        'network_backend = "cni"',
        `cni_plugin_dirs = ${tomlList(opts.cniPluginDirs)}`,
        `network_config_dir = ${toml(opts.cniConfDir)}`,
        '[engine]',
        // crun fails on this host's hybrid cgroup layout; systemd is not PID 1.
        'runtime = "runc"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `events_logfile_path = ${toml(d('tmp', 'events.log'))}`,
        `tmp_dir = ${toml(d('tmp'))}`,
        `volume_path = ${toml(d('root', 'volumes'))}`,
        'num_locks = 256',
        '',
      ].join('\n'),
    );
    await writeFile(
      d('conf', 'storage.conf'),
      ['[storage]', 'driver = "vfs"', `runroot = ${toml(d('runroot'))}`, `graphroot = ${toml(d('root'))}`, ''].join('\n'),
    );
    await writeFile(d('conf', 'registries.conf'), 'unqualified-search-registries = []\n');
    env = {
      ...process.env,
      ...(opts.env ?? {}),
      CONTAINERS_CONF: d('conf', 'containers.conf'),
      CONTAINERS_STORAGE_CONF: d('conf', 'storage.conf'),
      CONTAINERS_REGISTRIES_CONF: d('conf', 'registries.conf'),
    };
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
  const penv: NodeJS.ProcessEnv = env;

  const podman = (args: readonly string[], o: { timeoutMs?: number } = {}): Promise<ExecResult> =>
    box.exec(['podman', ...args], { env: penv, timeoutMs: o.timeoutMs ?? timeoutMs });
  const podmanOk = async (args: readonly string[], o: { timeoutMs?: number } = {}): Promise<ExecResult> => {
    const r = await podman(args, o);
    if (r.code !== 0) throw failed(r);
    return r;
  };
  const inspect = async (c: PodmanRef): Promise<Record<string, unknown>> => {
    const r = await podmanOk(['container', 'inspect', refName(c)]);
    const arr: unknown = JSON.parse(r.stdout);
    if (!Array.isArray(arr) || typeof arr[0] !== 'object' || arr[0] === null) throw new HarnessError(`podman inspect ${refName(c)}: unexpected output`);
    return arr[0] as Record<string, unknown>;
  };

  const api: PodmanEnv = {
    dir: box.dir,
    sandboxPid: box.pid1,
    cgroupParent,
    async run(o) {
      const name = checkName(o.name);
      if (o.cmd.length === 0) throw new HarnessError('podman.run: empty cmd');
      const rootfs = d('containers', name, 'rootfs');
      await rm(rootfs, { recursive: true, force: true }); // a name used again after rm
      await buildBusyboxRootfs(rootfs);
      const args = ['run', '-d', '--name', name, '--network', o.network, '--cgroup-parent', cgroupParent, ...(o.options ?? [])];
      // --rootfs takes the image's place: it must be the last option, right before the command.
      const r = await podman([...args, '--rootfs', rootfs, ...o.cmd], { timeoutMs: o.timeoutMs ?? timeoutMs });
      if (r.code !== 0) {
        // A failed ADD leaves the container created: remove it (its DEL runs) before reporting.
        await podman(['rm', '--force', '--time', '0', name]).catch(() => undefined);
        throw failed(r);
      }
      const id = r.stdout.trim().split('\n').pop() ?? '';
      if (!/^[0-9a-f]{64}$/.test(id)) throw new HarnessError(`podman run ${name}: unexpected output ${JSON.stringify(r.stdout)}`);
      return { id, name, rootfs, runMs: r.ms };
    },
    async exec(c, argv, o = {}) {
      const r = await podman(['exec', refName(c), ...argv], o);
      if (r.code !== 0) throw failed(r);
      return r;
    },
    tryExec(c, argv, o = {}) {
      return podman(['exec', refName(c), ...argv], o);
    },
    async ip(c, network) {
      const info = await inspect(c);
      const ns = info['NetworkSettings'] as { Networks?: Record<string, { IPAddress?: string }> } | undefined;
      const nets = ns?.Networks ?? {};
      const key = network ?? Object.keys(nets)[0];
      const ip = key === undefined ? undefined : nets[key]?.IPAddress;
      if (!ip) throw new HarnessError(`podman: container ${refName(c)} has no IPv4 address on ${key ?? 'any network'}`);
      return ip;
    },
    inspect,
    async rm(c) {
      await podmanOk(['rm', '--force', '--time', '0', refName(c)]);
    },
    podman,
    host(argv, o = {}) {
      return box.exec(argv, { timeoutMs: o.timeoutMs ?? timeoutMs });
    },
    spawn(argv, o = {}) {
      return box.spawn(argv, { env: { ...penv, ...(o.env ?? {}) } });
    },
    outsidePath(p) {
      return box.outsidePath(p);
    },
  };
  return withCleanup(api, close, fn);
}
