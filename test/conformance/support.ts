/**
 * Helpers for the conformance and fault tests: building a runtime's raw call (env + stdin),
 * checking the spec's output shapes, and proving that a call left nothing behind. Not a test file
 * (the name matches no test pattern); test/faults imports it too.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { InvokeResult, JsonObject } from '../../src/lab/cni-runtime.js';
import type { NodeFixture } from '../../src/lab/node-fixture.js';
import { cniCall, snapshot, type NodeSnapshot } from '../../src/lab/node-state.js';
import { PODNET_CNI_DIR } from '../../src/lab/paths.js';

export const VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type Version = (typeof VERSIONS)[number];
export const isLegacy = (v: string): boolean => v.startsWith('0.');

/** The plugin config a runtime hands podnet-cni (libcni injects name and cniVersion). */
export function podnetConf(node: NodeFixture, cniVersion: string = '1.1.0', extra: JsonObject = {}): JsonObject {
  return { cniVersion, name: 'podnet', type: 'podnet-cni', agentSocket: node.agent.socket, ...extra };
}

/** The environment of ADD / DEL / CHECK (every variable the spec names). */
export function attachEnv(command: string, containerId: string, netns: string, extra: Record<string, string> = {}): Record<string, string> {
  return { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_ARGS: '', CNI_PATH: PODNET_CNI_DIR, ...extra };
}

/** The environment libcni gives STATUS and GC (no container, no netns). */
export function nodeEnv(command: string, extra: Record<string, string> = {}): Record<string, string> {
  return { CNI_COMMAND: command, CNI_PATH: PODNET_CNI_DIR, ...extra };
}

export interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details: string;
}

const show = (r: InvokeResult): string => `exit ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** A spec error: non-zero exit, exactly one JSON object {cniVersion, code, msg, details} on stdout. */
export function assertCniError(r: InvokeResult, code: number, cniVersion = '1.1.0', msg?: RegExp): CniErrorJson {
  assert.notEqual(r.exitCode, 0, `expected a failure\n${show(r)}`);
  assert.equal(r.exitCode, 1, `podnet exits 1 on every CNI error\n${show(r)}`);
  assert.ok(r.json, `stdout must be the error JSON\n${show(r)}`);
  assert.ok(r.stdout.endsWith('\n') && r.stdout.trim().split('\n').length === 1, `one JSON line\n${show(r)}`);
  const e = r.json as unknown as CniErrorJson;
  assert.deepEqual(Object.keys(e).sort(), ['cniVersion', 'code', 'details', 'msg'], show(r));
  assert.equal(typeof e.msg, 'string');
  assert.ok(e.msg.length > 0, 'msg must not be empty');
  assert.equal(typeof e.details, 'string');
  assert.equal(e.code, code, `CNI code\n${show(r)}`);
  assert.equal(e.cniVersion, cniVersion, `error cniVersion\n${show(r)}`);
  if (msg) assert.match(e.msg, msg, show(r));
  return e;
}

/** Success with nothing on stdout (DEL, CHECK, STATUS, GC). */
export function assertEmptySuccess(r: InvokeResult): void {
  assert.equal(r.exitCode, 0, show(r));
  assert.equal(r.stdout, '', show(r));
}

/** Success with one JSON object on stdout (ADD, VERSION). */
export function assertJsonSuccess(r: InvokeResult): JsonObject {
  assert.equal(r.exitCode, 0, show(r));
  assert.ok(r.json, `stdout must be JSON\n${show(r)}`);
  assert.ok(r.stdout.endsWith('\n') && r.stdout.trim().split('\n').length === 1, `one JSON line\n${show(r)}`);
  return r.json;
}

/** Runs one call and proves that it changed nothing podnet holds (links, routes, allocations, pod interfaces). */
export async function callLeavingNothing(node: NodeFixture, env: Record<string, string>, stdin: string | JsonObject, podNs: readonly string[] = [], binary?: string): Promise<InvokeResult> {
  const before = await snapshot(node, podNs);
  const r = await cniCall(node, env, stdin, binary);
  const after = await snapshot(node, podNs);
  assert.deepEqual(after, before, `the call left something behind\n${show(r)}`);
  return r;
}

/** Nothing of podnet's on the node: no pn* link, no podnet route, no endpoint, no address in use. */
export function assertEmptyNode(s: NodeSnapshot): void {
  assert.deepEqual(s.links, [], 'pn* links left');
  assert.deepEqual(s.routes, [], 'podnet routes left');
  assert.deepEqual(s.endpoints, [], 'endpoints left');
  assert.ok(s.used, 'a full snapshot (with `podnet ipam show`)');
  for (const [pool, used] of Object.entries(s.used)) assert.equal(used, 0, `addresses left in pool ${pool}`);
}

/** Addresses (without prefix) of a result, by family. */
export function addressesOf(result: JsonObject): { v4: string[]; v6: string[] } {
  const ips = (result.ips as { address: string }[] | undefined) ?? [];
  const bare = ips.map((i) => i.address.split('/')[0] as string);
  return { v4: bare.filter((a) => a.includes('.')), v6: bare.filter((a) => a.includes(':')) };
}

/** Runs fn over items with at most `limit` in flight; results in item order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** One ping (bounded) from a namespace; true when answered. */
export async function pings(node: NodeFixture, ns: string, to: string): Promise<boolean> {
  const r = await node.execIn(ns, 'ping', ['-c1', '-W2', to]);
  return r.code === 0;
}

export interface PodLink {
  readonly ifname: string;
  readonly mtu: number;
  readonly mac: string;
  readonly up: boolean;
  /** Global addresses with prefix, e.g. "10.200.0.5/32". */
  readonly addresses: string[];
}

/** The interface `ifname` inside a namespace as the kernel shows it (`ip -j addr`), or undefined. */
export async function linkIn(node: NodeFixture, ns: string, ifname: string): Promise<PodLink | undefined> {
  const r = await node.execIn(ns, 'ip', ['-j', 'addr', 'show', 'dev', ifname]);
  if (r.code !== 0) return undefined;
  const [l] = JSON.parse(r.stdout) as { ifname: string; mtu: number; address: string; flags: string[]; addr_info: { local: string; prefixlen: number; scope: string }[] }[];
  if (!l) return undefined;
  return {
    ifname: l.ifname,
    mtu: l.mtu,
    mac: l.address,
    up: l.flags.includes('UP'),
    addresses: l.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`).sort(),
  };
}

/**
 * A snapshot to compare many failing calls against: each call() runs one plugin call and proves
 * that afterwards the node is exactly as it was when the baseline was taken.
 */
export class Baseline {
  private constructor(
    private readonly node: NodeFixture,
    private readonly pods: readonly string[],
    private snap: NodeSnapshot,
  ) {}

  static async take(node: NodeFixture, pods: readonly string[] = []): Promise<Baseline> {
    return new Baseline(node, pods, await snapshot(node, pods));
  }

  get current(): NodeSnapshot {
    return this.snap;
  }

  /** Takes the snapshot again (after an intended change). */
  async retake(): Promise<void> {
    this.snap = await snapshot(this.node, this.pods);
  }

  async assertUnchanged(what: string): Promise<void> {
    assert.deepEqual(await snapshot(this.node, this.pods), this.snap, `${what} left something behind`);
  }

  /**
   * One call, then a light snapshot (kernel objects, pod interfaces, `podnet endpoints`) that must
   * equal the baseline; `podnet ipam show` is compared too when `full` is set (and by assertUnchanged).
   */
  async call(env: Record<string, string>, stdin: string | JsonObject, binary?: string, full = false): Promise<InvokeResult> {
    const r = await cniCall(this.node, env, stdin, binary);
    const what = `${env.CNI_COMMAND ?? '(no CNI_COMMAND)'} -> exit ${r.exitCode} ${r.stdout.trim()}`;
    if (full) {
      await this.assertUnchanged(what);
    } else {
      const { used: _used, ...light } = this.snap;
      assert.deepEqual(await snapshot(this.node, this.pods, { light: true }), light, `${what} left something behind`);
    }
    return r;
  }
}

/** Starts the fixture's agent again (same state directory); a failure carries the end of the agent's log. */
export async function startAgent(node: NodeFixture): Promise<void> {
  try {
    await node.agent.start();
  } catch (e) {
    let tail = '';
    try {
      tail = readFileSync(node.agent.logFile, 'utf8').split('\n').slice(-25).join('\n');
    } catch {
      tail = '(no log)';
    }
    if (e instanceof Error) e.message += `\n--- agent log (end) ---\n${tail}`;
    throw e;
  }
}
