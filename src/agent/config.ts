/**
 * The agent's configuration: a YAML or JSON file (`podnet agent --config FILE`) with flags on
 * top. Every field is validated with its path in the message; unknown fields are rejected.
 */
import { hostname } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { PodnetError } from '../common/errors.js';
import { parseLogLevel, type LogLevel } from '../common/log.js';
import { AgentErrors } from './errors.js';
import { DEFAULT_AGENT_SOCKET } from './client.js';
import { BACKENDS, type BackendName } from '../model/node.js';
import type { PoolInput } from '../ipam/pool.js';

/** A pool as configured: IPAM's own input type (validated and defaulted by createPool). */
export type PoolConfig = PoolInput;

export type DatastoreConfig =
  | { readonly type: 'embedded' }
  | { readonly type: 'etcd'; readonly endpoints: readonly string[]; readonly prefix?: string };

export interface AgentConfig {
  readonly nodeName: string;
  readonly socket: string;
  readonly stateDir: string;
  /** Pod MTU; 0 = derive from the uplink. */
  readonly mtu: number;
  readonly logLevel: LogLevel;
  /** Pools created at start when absent from the datastore. */
  readonly pools: readonly PoolConfig[];
  /** embedded (single node, in stateDir) or etcd (many nodes). */
  readonly datastore: DatastoreConfig;
  /** How pods on different nodes reach each other; default host-gw with embedded, vxlan with etcd. */
  readonly backend: BackendName | undefined;
  /** The node's underlay device; default: the device of the default route. */
  readonly underlayInterface: string | undefined;
  readonly policy: PolicyConfig;
  readonly flows: FlowsConfig;
  /** The agent's HTTP endpoint (metrics, flows for `podnet observe`): "host:port", ":port", or "" for none. */
  readonly httpListen: string;
}

export interface FlowsConfig {
  /** Record flows (conntrack events and the policy table's NFLOG records); default true. */
  readonly enabled: boolean;
  /** Records kept per node (a ring: the oldest are overwritten); default 16384. */
  readonly capacity: number;
  /**
   * "idle" (default): the kernel readers run in SCHED_IDLE, on CPU time the node's pods leave;
   * under saturation records wait in the socket buffers and appear later. "normal": they compete.
   */
  readonly readerPriority: 'idle' | 'normal';
  /** Receive buffer of each reader socket, bytes (default 32 MiB: ~50,000 conntrack events of backlog). */
  readonly bufferBytes: number;
}

export const DEFAULT_FLOWS: FlowsConfig = { enabled: true, capacity: 16384, readerPriority: 'idle', bufferBytes: 32 << 20 };
export const DEFAULT_HTTP_LISTEN = ':9473';

export interface PolicyConfig {
  /** Enforce network policy (the nft table `inet podnet-policy`); default true. */
  readonly enabled: boolean;
  /** NFLOG group of Log rules, audit records and drop records; default 100. */
  readonly nflogGroup: number;
  /** Record the final drop of isolated pods too (flow records of Kubernetes drops); default true. */
  readonly logDrops: boolean;
}

export const DEFAULT_POLICY: PolicyConfig = { enabled: true, nflogGroup: 100, logDrops: true };

export const DEFAULT_POOLS: readonly PoolConfig[] = [
  { name: 'default-ipv4', cidr: '10.244.0.0/16', blockSize: 26, natOutgoing: true },
  { name: 'default-ipv6', cidr: 'fd00:10:244::/56', blockSize: 122, natOutgoing: true },
];

export const DEFAULT_CONFIG: AgentConfig = {
  nodeName: hostname(),
  socket: DEFAULT_AGENT_SOCKET,
  stateDir: '/var/lib/podnet',
  mtu: 0,
  logLevel: 'info',
  pools: DEFAULT_POOLS,
  datastore: { type: 'embedded' },
  backend: undefined,
  underlayInterface: undefined,
  policy: DEFAULT_POLICY,
  flows: DEFAULT_FLOWS,
  httpListen: DEFAULT_HTTP_LISTEN,
};

const NODE_NAME_RE = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

function bad(path: string, why: string): never {
  throw new PodnetError(AgentErrors.AGENT_CONFIG, `agent config ${path}: ${why}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(o: Record<string, unknown>, path: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) bad(`${path}.${k}`, `unknown field (allowed: ${allowed.join(', ')})`);
}

function str(o: Record<string, unknown>, k: string, path: string): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') bad(`${path}.${k}`, 'must be a non-empty string');
  return v;
}

function absPath(o: Record<string, unknown>, k: string, path: string): string | undefined {
  const v = str(o, k, path);
  if (v !== undefined && (!v.startsWith('/') || v.includes('\0'))) bad(`${path}.${k}`, 'must be an absolute path');
  return v;
}

function parsePools(v: unknown, path: string): PoolConfig[] {
  if (!Array.isArray(v)) bad(path, 'must be a list');
  return v.map((p: unknown, i: number) => {
    const at = `${path}[${i}]`;
    if (!isObject(p)) bad(at, 'must be an object');
    onlyKeys(p, at, ['name', 'cidr', 'blockSize', 'natOutgoing', 'disabled', 'gateway']);
    const name = str(p, 'name', at) ?? bad(`${at}.name`, 'is required');
    const cidr = str(p, 'cidr', at) ?? bad(`${at}.cidr`, 'is required');
    const out: { -readonly [K in keyof PoolConfig]: PoolConfig[K] } = { name, cidr };
    if (p.blockSize !== undefined) {
      if (!Number.isInteger(p.blockSize)) bad(`${at}.blockSize`, 'must be an integer prefix length');
      out.blockSize = p.blockSize as number;
    }
    for (const k of ['natOutgoing', 'disabled'] as const) {
      if (p[k] === undefined) continue;
      if (typeof p[k] !== 'boolean') bad(`${at}.${k}`, 'must be true or false');
      out[k] = p[k] as boolean;
    }
    const gw = str(p, 'gateway', at);
    if (gw !== undefined) out.gateway = gw;
    return out;
  });
}

/** Validates a parsed config object (from a file), filling defaults. */
export function parseAgentConfig(input: unknown, base: AgentConfig = DEFAULT_CONFIG): AgentConfig {
  if (input === undefined || input === null) return base;
  if (!isObject(input)) bad('(root)', 'must be a mapping');
  onlyKeys(input, '', ['nodeName', 'socket', 'stateDir', 'mtu', 'logLevel', 'pools', 'datastore', 'backend', 'underlayInterface', 'policy', 'flows', 'httpListen']);
  const nodeName = str(input, 'nodeName', '') ?? base.nodeName;
  if (!NODE_NAME_RE.test(nodeName)) bad('.nodeName', `${JSON.stringify(nodeName)} is not a DNS-1123 name`);
  let mtu = base.mtu;
  if (input.mtu !== undefined) {
    if (!Number.isInteger(input.mtu) || ((input.mtu as number) !== 0 && ((input.mtu as number) < 576 || (input.mtu as number) > 65535))) {
      bad('.mtu', 'must be 0 (auto) or an integer from 576 to 65535');
    }
    mtu = input.mtu as number;
  }
  let logLevel = base.logLevel;
  if (input.logLevel !== undefined) logLevel = parseLogLevel(String(input.logLevel)) ?? bad('.logLevel', 'must be debug, info, warn or error');
  return {
    nodeName,
    socket: absPath(input, 'socket', '') ?? base.socket,
    stateDir: absPath(input, 'stateDir', '') ?? base.stateDir,
    mtu,
    logLevel,
    pools: input.pools === undefined ? base.pools : parsePools(input.pools, '.pools'),
    datastore: input.datastore === undefined ? base.datastore : parseDatastore(input.datastore, '.datastore'),
    backend: input.backend === undefined ? base.backend : parseBackend(input.backend, '.backend'),
    underlayInterface: str(input, 'underlayInterface', '') ?? base.underlayInterface,
    policy: input.policy === undefined ? base.policy : parsePolicy(input.policy, '.policy', base.policy),
    flows: input.flows === undefined ? base.flows : parseFlows(input.flows, '.flows', base.flows),
    httpListen: input.httpListen === undefined ? base.httpListen : parseListen(input.httpListen, '.httpListen'),
  };
}

function parseFlows(v: unknown, path: string, base: FlowsConfig): FlowsConfig {
  if (!isObject(v)) bad(path, 'must be a mapping');
  onlyKeys(v, path, ['enabled', 'capacity', 'readerPriority', 'bufferBytes']);
  if (v.enabled !== undefined && typeof v.enabled !== 'boolean') bad(`${path}.enabled`, 'must be true or false');
  const c = v.capacity;
  if (c !== undefined && (!Number.isInteger(c) || (c as number) < 16 || (c as number) > 1_000_000)) bad(`${path}.capacity`, 'must be an integer from 16 to 1000000');
  const prio = v.readerPriority;
  if (prio !== undefined && prio !== 'idle' && prio !== 'normal') bad(`${path}.readerPriority`, 'must be "idle" or "normal"');
  const b = v.bufferBytes;
  if (b !== undefined && (!Number.isInteger(b) || (b as number) < 65536 || (b as number) > 256 << 20)) bad(`${path}.bufferBytes`, `must be an integer from 65536 to ${256 << 20}`);
  return {
    enabled: (v.enabled as boolean | undefined) ?? base.enabled,
    capacity: (c as number | undefined) ?? base.capacity,
    readerPriority: (prio as FlowsConfig['readerPriority'] | undefined) ?? base.readerPriority,
    bufferBytes: (b as number | undefined) ?? base.bufferBytes,
  };
}

/** "host:port", ":port", "[v6]:port" or "" (off). */
export function parseListen(v: unknown, path: string): string {
  if (v === '') return '';
  if (typeof v !== 'string') bad(path, 'must be "host:port", ":port" or "" (off)');
  const m = /^(\[[0-9a-fA-F:.]+\]|[0-9.]*|[a-zA-Z0-9.-]*):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) bad(path, `${JSON.stringify(v)} must be "host:port", ":port" or "" (off)`);
  return v;
}

/** Host and port of a listen string ("" host: every address). */
export function splitListen(v: string): { host: string; port: number } {
  const i = v.lastIndexOf(':');
  const host = v.slice(0, i).replace(/^\[|\]$/g, '');
  return { host: host === '' ? '::' : host, port: Number(v.slice(i + 1)) };
}

function parsePolicy(v: unknown, path: string, base: PolicyConfig): PolicyConfig {
  if (!isObject(v)) bad(path, 'must be a mapping');
  onlyKeys(v, path, ['enabled', 'nflogGroup', 'logDrops']);
  for (const k of ['enabled', 'logDrops'] as const) if (v[k] !== undefined && typeof v[k] !== 'boolean') bad(`${path}.${k}`, 'must be true or false');
  const g = v.nflogGroup;
  if (g !== undefined && (!Number.isInteger(g) || (g as number) < 0 || (g as number) > 65535)) bad(`${path}.nflogGroup`, 'must be an integer from 0 to 65535');
  return {
    enabled: (v.enabled as boolean | undefined) ?? base.enabled,
    nflogGroup: (g as number | undefined) ?? base.nflogGroup,
    logDrops: (v.logDrops as boolean | undefined) ?? base.logDrops,
  };
}

function parseBackend(v: unknown, path: string): BackendName {
  if (typeof v !== 'string' || !(BACKENDS as readonly string[]).includes(v)) bad(path, `must be one of ${BACKENDS.join(', ')}`);
  return v as BackendName;
}

function parseDatastore(v: unknown, path: string): DatastoreConfig {
  if (!isObject(v)) bad(path, 'must be a mapping with a type');
  if (v.type === 'embedded') {
    onlyKeys(v, path, ['type']);
    return { type: 'embedded' };
  }
  if (v.type !== 'etcd') bad(`${path}.type`, 'must be embedded or etcd');
  onlyKeys(v, path, ['type', 'endpoints', 'prefix']);
  const eps = v.endpoints;
  if (!Array.isArray(eps) || eps.length === 0) bad(`${path}.endpoints`, 'must be a non-empty list of URLs');
  for (const [i, e] of eps.entries()) {
    if (typeof e !== 'string' || !/^https?:\/\/[A-Za-z0-9.:\[\]-]+(:\d+)?\/?$/.test(e)) bad(`${path}.endpoints[${i}]`, `${JSON.stringify(e)} is not an http(s)://host:port URL`);
  }
  const prefix = str(v, 'prefix', path);
  return { type: 'etcd', endpoints: eps as string[], ...(prefix ? { prefix } : {}) };
}

/** Parses YAML or JSON text (JSON is YAML). */
export function parseAgentConfigText(text: string, source: string): AgentConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    bad(source, `does not parse: ${(e as Error).message}`);
  }
  return parseAgentConfig(doc);
}
