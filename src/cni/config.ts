/**
 * The network config on stdin (SPEC.md section 1 and "Deriving request configuration").
 *
 * Top-level keys podnet accepts in "cni" mode:
 *  - the spec's plugin-config keys: cniVersion, name, type, capabilities, ipMasq, ipam, dns;
 *  - what runtimes inject or pass through: runtimeConfig, prevResult, args, every `cni.dev/*`
 *    key (GC's cni.dev/valid-attachments and cni.dev/attachments). libcni (containerd 1.6's
 *    go-cni, podman 4.3's CNI backend) injects only name, cniVersion, prevResult and
 *    runtimeConfig and passes the plugin object otherwise unchanged, `capabilities` included;
 *    podman adds capabilities.ips to the first plugin;
 *  - network-list keys that reach a plugin when an admin writes a single-plugin .conf file:
 *    cniVersions, disableCheck, disableGC, loadOnlyInlinedPlugins;
 *  - podnet's own: agentSocket, mtu, pools, families.
 * Anything else is CNI_UNSUPPORTED_FIELD, naming each key and value (SPEC.md error code 2).
 *
 * In "ipam" mode (podnet-ipam as another plugin's ipam.type) the top level belongs to the calling
 * plugin: only cniVersion, name, type, runtimeConfig, prevResult, args and dns are read, and
 * podnet's fields live in `ipam` (type, agentSocket, pools, families), where unknown keys are
 * CNI_UNSUPPORTED_FIELD.
 */
import { PodnetError } from '../common/errors.js';
import { parseDns } from './dns.js';
import { CniErrors } from './errors.js';
import { invalidField, isJsonObject, joinPath, optArray, optBool, optInt, optObject, optString, optStringArray, reqString, showJson, type JsonObject } from './json.js';
import { nameProblem, isValidNetworkName, NAME_RULE } from './names.js';
import { parseResult } from './result.js';
import { normalizeRuntimeConfig } from './runtime-config.js';
import { isSupportedVersion, supportedVersionsText } from './version.js';
import type { PluginMode } from './backend.js';
import type { CniVersion, PodnetNetConf } from './types.js';

export const DEFAULT_AGENT_SOCKET = '/run/podnet/agent.sock';

/** Keys the spec defines or runtimes inject, accepted at the top level in "cni" mode. */
export const SPEC_KEYS: readonly string[] = [
  'cniVersion', 'cniVersions', 'name', 'type', 'args', 'runtimeConfig', 'prevResult', 'capabilities',
  'ipMasq', 'ipam', 'dns', 'disableCheck', 'disableGC', 'loadOnlyInlinedPlugins',
];
/** Keys starting with this are reserved for the protocol (SPEC.md "Reserved keys"). */
export const RESERVED_PREFIX = 'cni.dev/';
/** podnet's own top-level fields in "cni" mode. */
export const PODNET_KEYS: readonly string[] = ['agentSocket', 'mtu', 'pools', 'families'];
/** Fields of the `ipam` dictionary in "ipam" mode. */
export const IPAM_KEYS: readonly string[] = ['type', 'agentSocket', 'pools', 'families'];

export const MIN_MTU = 68;
export const MAX_MTU = 65535;

/** Decodes stdin; anything but a JSON object is CNI_DECODE_FAILURE (code 6). */
export function decodeConfig(stdin: string): JsonObject {
  if (stdin.trim() === '') throw new PodnetError(CniErrors.CNI_DECODE_FAILURE, 'error decoding network config: stdin is empty');
  let v: unknown;
  try {
    v = JSON.parse(stdin);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new PodnetError(CniErrors.CNI_DECODE_FAILURE, `error decoding network config: ${why}`);
  }
  if (!isJsonObject(v)) throw new PodnetError(CniErrors.CNI_DECODE_FAILURE, `error decoding network config: expected a JSON object, got ${showJson(v, 40)}`);
  return v;
}

/** The config's cniVersion; missing or unsupported is CNI_INCOMPATIBLE_VERSION (code 1). */
export function configVersion(conf: JsonObject): CniVersion {
  const v = conf['cniVersion'];
  if (isSupportedVersion(v)) return v;
  const what = v === undefined || v === '' ? 'network config has no cniVersion' : `cniVersion ${showJson(v)} is not supported`;
  throw new PodnetError(CniErrors.CNI_INCOMPATIBLE_VERSION, `incompatible CNI version: ${what}; podnet supports ${supportedVersionsText()}`);
}

function unsupportedFields(obj: JsonObject, allowed: readonly string[], base: string, reservedPrefix: boolean): void {
  const extra = Object.keys(obj).filter((k) => !allowed.includes(k) && !(reservedPrefix && k.startsWith(RESERVED_PREFIX)));
  if (extra.length === 0) return;
  const shown = extra.map((k) => `${joinPath(base, k)}=${showJson(obj[k], 60)}`).join(', ');
  throw new PodnetError(CniErrors.CNI_UNSUPPORTED_FIELD, `unsupported field${extra.length > 1 ? 's' : ''} in network config: ${shown}`);
}

function networkName(v: unknown): string {
  const name = reqString(v, 'name');
  const problem = nameProblem(name);
  if (problem) throw new PodnetError(CniErrors.CNI_INVALID_CONFIG, `invalid network config: name ${showJson(name)} ${problem}`);
  return name;
}

function pluginType(v: unknown, path: string): string {
  const t = reqString(v, path);
  if (/[/\\\0]/.test(t)) throw invalidField(path, "a file name (no '/', '\\' or NUL)", t);
  return t;
}

function agentSocket(v: unknown, path: string): string {
  const s = optString(v, path);
  if (s === undefined) return DEFAULT_AGENT_SOCKET;
  if (!s.startsWith('/') || s.includes('\0')) throw invalidField(path, 'an absolute path', s);
  return s;
}

function pools(v: unknown, path: string): string[] | undefined {
  const names = optStringArray(v, path, isValidNetworkName, `a pool name that ${NAME_RULE}`);
  if (names === undefined) return undefined;
  if (names.length === 0) throw invalidField(path, 'a non-empty list of pool names (omit it for every pool)', v);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw invalidField(path, 'a list without duplicates', v);
  return names;
}

function families(v: unknown, path: string): (4 | 6)[] | undefined {
  const arr = optArray(v, path);
  if (arr === undefined) return undefined;
  const ok = arr.length > 0 && arr.every((f) => f === 4 || f === 6) && new Set(arr).size === arr.length;
  if (!ok) throw invalidField(path, '[4], [6] or [4, 6]', v);
  return (arr as (4 | 6)[]).slice().sort((a, b) => a - b);
}

/** Type checks for spec keys podnet does not use, so a typo'd config fails early ("cni" mode). */
function checkSpecKeyTypes(obj: JsonObject): void {
  optObject(obj['capabilities'], 'capabilities');
  optBool(obj['ipMasq'], 'ipMasq');
  optObject(obj['ipam'], 'ipam');
  optStringArray(obj['cniVersions'], 'cniVersions');
  optBool(obj['disableCheck'], 'disableCheck');
  optBool(obj['disableGC'], 'disableGC');
  optBool(obj['loadOnlyInlinedPlugins'], 'loadOnlyInlinedPlugins');
}

export interface ParseConfOptions {
  /**
   * Drop a prevResult that does not parse instead of failing (DEL: "plugins should always
   * complete a DEL action without error to the fullest extent possible").
   */
  lenientPrevResult?: boolean;
}

/** Validates a decoded config into PodnetNetConf (`raw` keeps the object as given). */
export function parseNetConf(obj: JsonObject, mode: PluginMode, opts: ParseConfOptions = {}): PodnetNetConf {
  const cniVersion = configVersion(obj);
  const name = networkName(obj['name']);
  const type = pluginType(obj['type'], 'type');

  let own: JsonObject;
  let base: string;
  if (mode === 'cni') {
    unsupportedFields(obj, [...SPEC_KEYS, ...PODNET_KEYS], '', true);
    checkSpecKeyTypes(obj);
    own = obj;
    base = '';
  } else {
    const ipam = optObject(obj['ipam'], 'ipam');
    if (ipam === undefined) throw invalidField('ipam', 'an object with podnet-ipam settings in ipam mode', obj['ipam']);
    unsupportedFields(ipam, IPAM_KEYS, 'ipam', false);
    pluginType(ipam['type'], 'ipam.type');
    own = ipam;
    base = 'ipam';
  }

  const conf: PodnetNetConf = {
    cniVersion,
    name,
    type,
    agentSocket: agentSocket(own['agentSocket'], joinPath(base, 'agentSocket')),
    runtimeConfig: normalizeRuntimeConfig(obj['runtimeConfig'], name),
    raw: obj,
  };
  if (mode === 'cni') {
    const mtu = optInt(obj['mtu'], 'mtu', MIN_MTU, MAX_MTU);
    if (mtu !== undefined) conf.mtu = mtu;
  }
  const p = pools(own['pools'], joinPath(base, 'pools'));
  if (p) conf.pools = p;
  const f = families(own['families'], joinPath(base, 'families'));
  if (f) conf.families = f;
  const args = optObject(obj['args'], 'args');
  if (args) conf.args = args;
  const dns = parseDns(obj['dns'], 'dns', 'spec');
  if (dns) conf.dns = dns;
  if (obj['prevResult'] !== undefined && obj['prevResult'] !== null) {
    try {
      conf.prevResult = parseResult(obj['prevResult'], { path: 'prevResult', defaultVersion: cniVersion });
    } catch (e) {
      if (!opts.lenientPrevResult) throw e;
    }
  }
  return conf;
}
