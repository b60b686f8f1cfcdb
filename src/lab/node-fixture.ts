/**
 * One podnet node in namespaces, for tests and benchmarks: a node namespace with an uplink
 * (a veth to an "upstream" namespace holding the node's default gateway), a real `podnet agent`
 * inside it, a libcni-like runtime pointed at the built podnet-cni, and pod namespaces on demand.
 * Everything is removed by close(), also after failures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AgentProcess } from './agent-process.js';
import { CniRuntime, type Attachment, type JsonObject, type NetConfList } from './cni-runtime.js';
import { runOk } from './exec.js';
import { addNetns, delNetns, execIn, listNetns, netnsPath } from './netns.js';
import { PODNET_CNI_DIR, REFERENCE_CNI_DIR } from './paths.js';

export interface NodeFixtureOptions {
  /** --pool flags for the agent (default: a dual-stack pair). */
  readonly pools?: readonly string[];
  readonly mtu?: number;
  /** Uplink MTU (default 1500). */
  readonly uplinkMtu?: number;
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** More `podnet agent` arguments, e.g. ['--config', FILE] to turn policy or flows off. */
  readonly agentArgs?: readonly string[];
  /** Namespace name prefix; default "pnf-<random>". */
  readonly prefix?: string;
}

export const DEFAULT_FIXTURE_POOLS = ['v4=10.200.0.0/16,blockSize=26', 'v6=fd00:200::/56,blockSize=122'];

export class NodeFixture {
  readonly prefix: string;
  readonly nodeNs: string;
  readonly upstreamNs: string;
  readonly dir: string;
  readonly agent: AgentProcess;
  readonly runtime: CniRuntime;
  private readonly pods = new Set<string>();
  private closed = false;

  private constructor(readonly opts: NodeFixtureOptions) {
    this.prefix = opts.prefix ?? `pnf-${randomBytes(3).toString('hex')}`;
    this.nodeNs = `${this.prefix}-node`;
    this.upstreamNs = `${this.prefix}-up`;
    this.dir = mkdtempSync(join(tmpdir(), `${this.prefix}-`));
    this.agent = new AgentProcess({
      ns: this.nodeNs,
      nodeName: 'node-1',
      dir: this.dir,
      pools: opts.pools ?? DEFAULT_FIXTURE_POOLS,
      ...(opts.mtu ? { mtu: opts.mtu } : {}),
      logLevel: opts.logLevel ?? 'info',
      ...(opts.agentArgs ? { extraArgs: opts.agentArgs } : {}),
    });
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    this.runtime = new CniRuntime([PODNET_CNI_DIR, REFERENCE_CNI_DIR], env);
  }

  static async start(opts: NodeFixtureOptions = {}): Promise<NodeFixture> {
    const f = new NodeFixture(opts);
    try {
      await f.buildUplink();
      await f.agent.start();
      return f;
    } catch (e) {
      await f.close();
      throw e;
    }
  }

  private async buildUplink(): Promise<void> {
    await addNetns(this.nodeNs);
    await addNetns(this.upstreamNs);
    const mtu = String(this.opts.uplinkMtu ?? 1500);
    await runOk('ip', ['-n', this.nodeNs, 'link', 'add', 'eth0', 'mtu', mtu, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.upstreamNs, 'mtu', mtu]);
    const cmds: [string, string[]][] = [
      [this.nodeNs, ['addr', 'add', '172.31.0.1/24', 'dev', 'eth0']],
      [this.nodeNs, ['-6', 'addr', 'add', 'fd00:31::1/64', 'dev', 'eth0', 'nodad']],
      [this.nodeNs, ['link', 'set', 'eth0', 'up']],
      [this.nodeNs, ['route', 'add', 'default', 'via', '172.31.0.254']],
      [this.upstreamNs, ['addr', 'add', '172.31.0.254/24', 'dev', 'eth0']],
      [this.upstreamNs, ['-6', 'addr', 'add', 'fd00:31::fe/64', 'dev', 'eth0', 'nodad']],
      [this.upstreamNs, ['link', 'set', 'eth0', 'up']],
    ];
    for (const [ns, args] of cmds) await runOk('ip', ['-n', ns, ...args]);
    await runOk('ip', ['-n', this.nodeNs, '-6', 'route', 'add', 'default', 'via', 'fd00:31::fe']);
  }

  /** Creates an empty pod network namespace; returns its name and path. */
  async newPodNs(name: string): Promise<{ ns: string; path: string }> {
    const ns = `${this.prefix}-${name}`;
    await addNetns(ns);
    this.pods.add(ns);
    return { ns, path: netnsPath(ns) };
  }

  async deletePodNs(ns: string): Promise<void> {
    await delNetns(ns);
    this.pods.delete(ns);
  }

  /** A network configuration list: podnet-cni first, then any chained plugins. */
  conflist(extra: { readonly cniVersion?: string; readonly plugin?: JsonObject; readonly chain?: readonly JsonObject[]; readonly name?: string } = {}): NetConfList {
    return {
      cniVersion: extra.cniVersion ?? '1.1.0',
      name: extra.name ?? 'podnet',
      plugins: [{ type: 'podnet-cni', agentSocket: this.agent.socket, capabilities: { ips: true, mac: true, dns: true }, ...extra.plugin }, ...(extra.chain ?? [])],
    };
  }

  attachment(containerId: string, podPath: string, args?: string, capabilityArgs?: JsonObject): Attachment {
    return { containerId, netns: podPath, ifname: 'eth0', ...(args ? { args } : {}), ...(capabilityArgs ? { capabilityArgs } : {}) };
  }

  execIn(ns: string, cmd: string, args: readonly string[], timeoutMs = 20_000) {
    return execIn(ns, cmd, args, { timeoutMs });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.agent.kill().catch(() => undefined);
    for (const ns of [...this.pods, ...listNetns(this.prefix)]) await delNetns(ns).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs fn with a fresh node; always cleans up. */
export async function withNode<T>(opts: NodeFixtureOptions, fn: (node: NodeFixture) => Promise<T>): Promise<T> {
  const node = await NodeFixture.start(opts);
  try {
    return await fn(node);
  } finally {
    await node.close();
  }
}
