/**
 * A podnet node for the runtime tests: the test's "host" network namespace (where the runtime
 * environment runs) with an uplink to an "upstream" namespace, and a real `podnet agent` running
 * in the host namespace (src/lab/AgentProcess: `ip netns exec HOST node podnet.js agent`).
 *
 *   upstream ns  eth0 172.31.0.254/24 fd00:31::fe/64   <-veth->   host ns  eth0 172.31.0.1/24 fd00:31::1/64
 *                                                                 default via .254 / fd00:31::fe
 *
 * The agent finds its underlay by the host's default route, as on a real node. Its socket and
 * state live in a temp dir under /tmp, which the runtime environments see as it is (they only
 * overlay /run, /var/lib and /opt), so the CNI config's agentSocket is the same path inside and
 * outside. The shim inside the environment is another PID namespace: the agent gets its pid from
 * SO_PEERCRED, already translated into its own PID namespace (docs/PROTOCOL.md).
 *
 * Nothing is created in the root network namespace. close() stops the agent and deletes both
 * namespaces (which takes every veth, route, qdisc and iptables rule in them along).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentProcess } from '../../src/lab/agent-process.js';
import { PODNET_CNI_DIR, PODNET_JS } from '../../src/lab/paths.js';
import type { EndpointView, IpamView } from '../../src/agent/views.js';
import { createNetns, deleteNetns, netnsExec, netnsExecOk } from './netns.js';
import { HarnessError, runOk, type ExecResult } from './proc.js';

export const HOST_V4 = '172.31.0.1';
export const HOST_V6 = 'fd00:31::1';
export const UPSTREAM_V4 = '172.31.0.254';
export const UPSTREAM_V6 = 'fd00:31::fe';

export interface PodnetNodeOptions {
  /** Prefix of the namespaces' names. */
  readonly prefix: string;
  /** `--pool` flags for the agent. */
  readonly pools: readonly string[];
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export interface PodnetNode {
  /** Name of the host network namespace (under /run/netns): give it to the runtime harness. */
  readonly host: string;
  readonly upstream: string;
  readonly agent: AgentProcess;
  /** The agent socket (a path under /tmp, the same inside the runtime environments). */
  readonly socket: string;
  readonly dir: string;
  /** Agent start attempts that failed before the one that worked (normally empty). */
  readonly startFailures: readonly string[];
  /** `podnet ARGS --socket S` (the real CLI); stdout. */
  cli(args: readonly string[]): Promise<string>;
  /** `podnet endpoints -o json`. */
  endpoints(): Promise<EndpointView[]>;
  /** `podnet ipam show -o json`. */
  ipamShow(): Promise<IpamView>;
  /** podnet's host-side veths (pn + 12 hex) in the host namespace. */
  podLinks(): Promise<string[]>;
  /** Host routes with protocol 147 (podnet's) in the host namespace, one line each. */
  podnetRoutes(): Promise<string[]>;
  /** The agent's log (JSON lines). */
  agentLog(): Promise<string>;
}

async function buildUplink(host: string, upstream: string): Promise<void> {
  await runOk(['ip', '-n', host, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', upstream]);
  const cmds: [string, string[]][] = [
    [host, ['addr', 'add', `${HOST_V4}/24`, 'dev', 'eth0']],
    [host, ['-6', 'addr', 'add', `${HOST_V6}/64`, 'dev', 'eth0', 'nodad']],
    [host, ['link', 'set', 'eth0', 'up']],
    [host, ['route', 'add', 'default', 'via', UPSTREAM_V4]],
    [host, ['-6', 'route', 'add', 'default', 'via', UPSTREAM_V6]],
    [upstream, ['addr', 'add', `${UPSTREAM_V4}/24`, 'dev', 'eth0']],
    [upstream, ['-6', 'addr', 'add', `${UPSTREAM_V6}/64`, 'dev', 'eth0', 'nodad']],
    [upstream, ['link', 'set', 'eth0', 'up']],
  ];
  for (const [ns, args] of cmds) await runOk(['ip', '-n', ns, ...args]);
}

/** Builds the node, runs fn, then stops the agent and deletes the namespaces and temp dir. */
export async function withPodnetNode<T>(opts: PodnetNodeOptions, fn: (node: PodnetNode) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'podnet-rtnode-'));
  let host: string | undefined;
  let upstream: string | undefined;
  let agent: AgentProcess | undefined;
  let failed = false;
  try {
    host = await createNetns(`${opts.prefix}-h`);
    upstream = await createNetns(`${opts.prefix}-u`);
    await buildUplink(host, upstream);
    agent = new AgentProcess({ ns: host, nodeName: 'node-1', dir, pools: opts.pools, logLevel: opts.logLevel ?? 'debug' });
    // Retries when the agent dies during start, reported in startFailures (seen: an unhandled
    // EPIPE on nft's stdin in src/dataplane/linux/nat/nft.ts when nft exits before Node has
    // written its (empty) stdin, a race that crashes the agent under load).
    const startFailures: string[] = [];
    for (let attempt = 1; ; attempt++) {
      try {
        await agent.start();
        break;
      } catch (e) {
        const log = await readFile(agent.logFile, 'utf8').catch(() => '');
        startFailures.push(`${e instanceof Error ? e.message : String(e)}\n${log.trim().split('\n').slice(-25).join('\n')}`);
        if (attempt >= 3) throw e;
      }
    }
    const a = agent;
    const h = host;
    const cli = async (args: readonly string[]): Promise<string> =>
      (await runOk([process.execPath, PODNET_JS, ...args, '--socket', a.socket], { timeoutMs: 30_000 })).stdout;
    const node: PodnetNode = {
      host: h,
      upstream,
      agent: a,
      socket: a.socket,
      dir,
      startFailures,
      cli,
      endpoints: async () => JSON.parse(await cli(['endpoints', '-o', 'json'])) as EndpointView[],
      ipamShow: async () => JSON.parse(await cli(['ipam', 'show', '-o', 'json'])) as IpamView,
      async podLinks() {
        const r = await netnsExecOk(h, ['ip', '-o', 'link', 'show']);
        return [...r.stdout.matchAll(/^\d+: (pn[0-9a-f]{12})[@:]/gm)].map((m) => m[1]!).sort();
      },
      async podnetRoutes() {
        const v4 = await netnsExecOk(h, ['ip', '-4', 'route', 'show', 'proto', '147']);
        const v6 = await netnsExecOk(h, ['ip', '-6', 'route', 'show', 'proto', '147']);
        return `${v4.stdout}${v6.stdout}`.split('\n').filter(Boolean);
      },
      agentLog: () => readFile(a.logFile, 'utf8').catch(() => ''),
    };
    return await fn(node);
  } catch (e) {
    failed = true;
    if (agent && e instanceof Error) {
      const log = await readFile(agent.logFile, 'utf8').catch(() => '');
      const tail = log.trim().split('\n').slice(-15).join('\n');
      if (tail) e.message += `\n--- agent log (tail) ---\n${tail}`;
    }
    throw e;
  } finally {
    const problems: string[] = [];
    await agent?.stop().catch((e: unknown) => problems.push(`agent stop: ${String(e)}`));
    for (const ns of [host, upstream]) if (ns) await deleteNetns(ns).catch((e: unknown) => problems.push(`netns ${ns}: ${String(e)}`));
    await rm(dir, { recursive: true, force: true });
    if (problems.length && !failed) throw new HarnessError(`podnet node clean-up: ${problems.join('; ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers shared by the podnet runtime tests.

/** A CNI network configuration list as written to a .conflist file. */
export interface ConfList {
  readonly cniVersion: string;
  readonly name: string;
  readonly plugins: readonly Record<string, unknown>[];
}

/**
 * Writes each list to <temp>/net.d/<NN>-<name>.conflist (podman picks networks by name; ctr uses
 * the lexically first file, so the first list is ctr's network), runs fn with the directory and
 * removes it afterwards.
 */
export async function withConfDir<T>(lists: readonly ConfList[], fn: (confDir: string) => Promise<T>): Promise<T> {
  const base = await mkdtemp(join(tmpdir(), 'podnet-rtconf-'));
  try {
    const dir = join(base, 'net.d');
    await mkdir(dir);
    for (const [i, l] of lists.entries()) await writeFile(join(dir, `${String(10 + i)}-${l.name}.conflist`), `${JSON.stringify(l, null, 2)}\n`);
    return await fn(dir);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

/** The podnet executables (the C shim, also as podnet-ipam) for a wrapper plugin dir. */
export function podnetPlugins(): { name: string; target: string }[] {
  return [
    { name: 'podnet-cni', target: join(PODNET_CNI_DIR, 'podnet-cni') },
    { name: 'podnet-ipam', target: join(PODNET_CNI_DIR, 'podnet-ipam') },
  ];
}

/** True when a `ping -c1` (busybox or iputils) got its answer. */
export function pinged(r: ExecResult): boolean {
  return r.code === 0 && /1 packets transmitted, 1 (packets )?received/.test(r.stdout);
}

/**
 * An HTTP GET from inside a network namespace with busybox nc (busybox-static's wget crashes
 * outside a container here); resolves with the whole answer ("" when nothing came back).
 */
export async function httpGet(ns: string, host: string, port: number, timeoutS = 3): Promise<string> {
  const r = await netnsExec(ns, ['busybox', 'nc', '-w', String(timeoutS), host, String(port)], {
    input: 'GET / HTTP/1.0\r\n\r\n',
    timeoutMs: (timeoutS + 5) * 1000,
  });
  return r.stdout;
}

/** Names of the links in the root network namespace that look like ours (must stay empty). */
export async function ourLinksInRootNetns(): Promise<string[]> {
  const r = await runOk(['ip', '-o', 'link', 'show']);
  return [...r.stdout.matchAll(/^\d+: ([^:@\s]+)/gm)].map((m) => m[1]!).filter((n) => /^(pn[0-9a-f]{12}|bwp|pnbr|pnmv)/.test(n));
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
