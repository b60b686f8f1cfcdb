/**
 * A small CNI runtime, as libcni behaves: runs a network configuration list by executing each
 * plugin binary with CNI_* in its environment and the plugin's config on stdin; injects name,
 * cniVersion, runtimeConfig (for the capabilities a plugin declares) and prevResult; ADD in
 * order, DEL in reverse. The lab, the tests and the benchmarks drive podnet-cni through it
 * exactly as a container runtime would.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CommonErrors, PodnetError } from '../common/errors.js';
import { run } from './exec.js';

export type JsonObject = Record<string, unknown>;

export interface NetConfList {
  readonly cniVersion: string;
  readonly name: string;
  readonly plugins: readonly JsonObject[];
  readonly disableCheck?: boolean;
}

export interface Attachment {
  readonly containerId: string;
  readonly netns: string;
  readonly ifname: string;
  /** CNI_ARGS, e.g. "K8S_POD_NAMESPACE=x;K8S_POD_NAME=a". */
  readonly args?: string;
  /** Capability arguments: portMappings, bandwidth, ips, mac, dns, aliases… */
  readonly capabilityArgs?: JsonObject;
  /**
   * The `args` convention (CNI conventions: `args.cni.labels`, `args.cni.ips`…): merged into
   * every plugin's config as `args`, over what the network config list has.
   */
  readonly configArgs?: JsonObject;
}

/** A CNI error answered by a plugin (exit code non-zero, JSON error on stdout). */
export class CniPluginError extends Error {
  constructor(
    readonly plugin: string,
    readonly code: number,
    readonly msg: string,
    readonly details: string | undefined,
    readonly stdout: string,
  ) {
    super(`${plugin}: CNI error ${code}: ${msg}${details ? ` (${details})` : ''}`);
  }
}

export interface InvokeResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly json: JsonObject | undefined;
}

export class CniRuntime {
  constructor(
    readonly pluginDirs: readonly string[],
    private readonly baseEnv: NodeJS.ProcessEnv = process.env,
    private readonly timeoutMs = 60_000,
  ) {}

  findPlugin(type: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(type)) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `invalid plugin type ${JSON.stringify(type)}`);
    for (const d of this.pluginDirs) {
      const p = join(d, type);
      if (existsSync(p)) return p;
    }
    throw new PodnetError(CommonErrors.NOT_FOUND, `plugin ${type} not found in ${this.pluginDirs.join(':')}`);
  }

  /** Executes one plugin binary with raw environment and stdin (the conformance tests use this). */
  async invoke(binary: string, env: Readonly<Record<string, string>>, stdin: string): Promise<InvokeResult> {
    const r = await run(binary, [], { input: stdin, env: { ...this.baseEnv, ...env }, timeoutMs: this.timeoutMs });
    let json: JsonObject | undefined;
    try {
      json = r.stdout.trim() ? (JSON.parse(r.stdout) as JsonObject) : undefined;
    } catch {
      json = undefined;
    }
    return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr, json };
  }

  private async exec(command: string, list: NetConfList, plugin: JsonObject, att: Attachment | undefined, prev: JsonObject | undefined, extra: JsonObject = {}): Promise<JsonObject | undefined> {
    const type = String(plugin.type);
    const conf: JsonObject = { ...plugin, name: list.name, cniVersion: list.cniVersion, ...extra };
    const caps = plugin.capabilities as Record<string, boolean> | undefined;
    if (caps && att?.capabilityArgs) {
      const rc: JsonObject = {};
      for (const [k, on] of Object.entries(caps)) if (on && att.capabilityArgs[k] !== undefined) rc[k] = att.capabilityArgs[k];
      if (Object.keys(rc).length) conf.runtimeConfig = rc;
    }
    delete conf.capabilities;
    if (att?.configArgs) {
      const own = typeof plugin.args === 'object' && plugin.args !== null ? (plugin.args as JsonObject) : {};
      conf.args = { ...own, ...att.configArgs };
    }
    if (prev) conf.prevResult = prev;
    const env: Record<string, string> = {
      CNI_COMMAND: command,
      CNI_PATH: this.pluginDirs.join(':'),
      ...(att ? { CNI_CONTAINERID: att.containerId, CNI_NETNS: att.netns, CNI_IFNAME: att.ifname, CNI_ARGS: att.args ?? '' } : {}),
    };
    const r = await this.invoke(this.findPlugin(type), env, JSON.stringify(conf));
    if (r.exitCode !== 0) {
      const e = r.json ?? {};
      throw new CniPluginError(type, Number(e.code ?? -1), String(e.msg ?? (r.stderr.trim() || r.stdout.trim() || `exit ${r.exitCode}`)), e.details === undefined ? undefined : String(e.details), r.stdout);
    }
    return r.json;
  }

  /** ADD through every plugin; returns the final result. */
  async add(list: NetConfList, att: Attachment): Promise<JsonObject> {
    let prev: JsonObject | undefined;
    for (const p of list.plugins) prev = (await this.exec('ADD', list, p, att, prev)) ?? prev;
    if (!prev) throw new PodnetError(CommonErrors.INTERNAL, `network ${list.name}: no plugin returned a result`);
    return prev;
  }

  /** DEL through every plugin in reverse; prevResult is the cached ADD result when given. */
  async del(list: NetConfList, att: Attachment, cached?: JsonObject): Promise<void> {
    for (const p of [...list.plugins].reverse()) await this.exec('DEL', list, p, att, cached);
  }

  async check(list: NetConfList, att: Attachment, cached: JsonObject): Promise<void> {
    for (const p of list.plugins) await this.exec('CHECK', list, p, att, cached);
  }

  async status(list: NetConfList): Promise<void> {
    for (const p of list.plugins) await this.exec('STATUS', list, p, undefined, undefined);
  }

  async gc(list: NetConfList, valid: readonly { containerId: string; ifname: string }[]): Promise<void> {
    const attachments = valid.map((v) => ({ containerID: v.containerId, ifname: v.ifname }));
    for (const p of list.plugins) await this.exec('GC', list, p, undefined, undefined, { 'cni.dev/valid-attachments': attachments });
  }
}
