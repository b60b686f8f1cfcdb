/**
 * One CNI plugin call: environment + stdin in, stdout + exit code out. Validates in the order
 * skel does (CNI_COMMAND, the verb's required variables, stdin JSON, cniVersion, the verb's
 * minimum version), then the config's fields and CNI_ARGS, calls the CniBackend, and writes the
 * result in the config's cniVersion or a CNI error object. Never throws.
 */
import { asPodnetError, PodnetError } from '../common/errors.js';
import { parseCniArgs } from './args.js';
import { configVersion, decodeConfig, parseNetConf } from './config.js';
import { readCommand, readEnv, type EnvInput } from './env.js';
import { CniErrors } from './errors.js';
import { parseValidAttachments } from './gc.js';
import { isJsonObject } from './json.js';
import { convertResult, ipamResult, parseResult } from './result.js';
import { isSemver, isSupportedVersion, VERB_SINCE, verbAllowed } from './version.js';
import type { CniBackend, PluginMode } from './backend.js';
import { CURRENT_VERSION, SUPPORTED_VERSIONS, type CniCommand, type CniRequest, type CniResult, type CniVersion, type PodnetNetConf } from './types.js';

export interface RunOptions {
  /** Path the agent should open for the netns (the shim's /proc/self/fd/N); default CNI_NETNS. */
  netnsPath?: string;
}

export interface RunOutput {
  stdout: string;
  exitCode: number;
}

/** The error object of SPEC.md section 5 ("Error"). */
export interface CniErrorReply {
  cniVersion: string;
  code: number;
  msg: string;
  /** podnet's stable error code, then the error's details when it has any. */
  details: string;
}

export interface VersionReply {
  cniVersion: string;
  supportedVersions: string[];
}

const line = (v: unknown): string => `${JSON.stringify(v)}\n`;

/** cniVersion of stdin's JSON when it is there, else undefined. Never throws. */
function peekVersion(stdin: string): unknown {
  try {
    const v: unknown = JSON.parse(stdin);
    return isJsonObject(v) ? v['cniVersion'] : undefined;
  } catch {
    return undefined;
  }
}

/** VERSION: echoes the requested cniVersion (any "x.y.z"; else 1.1.0), like libcni's VERSION probe expects. */
export function versionReply(stdin: string): VersionReply {
  const requested = peekVersion(stdin);
  return { cniVersion: isSemver(requested) ? requested : CURRENT_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}

/** The error object for anything thrown; non-PodnetErrors become INTERNAL (code 100). */
export function cniErrorReply(e: unknown, cniVersion: string = CURRENT_VERSION): CniErrorReply {
  const pe = asPodnetError(e);
  return { cniVersion, code: pe.cni, msg: pe.message, details: pe.details ? `${pe.code}: ${pe.details}` : pe.code };
}

function incompatibleVerb(cmd: CniCommand, v: CniVersion): PodnetError {
  return new PodnetError(
    CniErrors.CNI_INCOMPATIBLE_VERSION,
    `config version ${v} does not allow ${cmd} (${cmd} needs cniVersion ${VERB_SINCE[cmd] ?? CURRENT_VERSION} or later)`,
  );
}

/** Validates the agent's ADD result and writes it in the config's version. */
function addOutput(result: CniResult, conf: PodnetNetConf, mode: PluginMode): string {
  let parsed: CniResult;
  try {
    parsed = parseResult(result, { path: 'result', defaultVersion: conf.cniVersion });
  } catch (e) {
    throw new PodnetError(CniErrors.CNI_INVALID_RESULT, `podnet agent returned an invalid ADD result: ${asPodnetError(e).message}`, { cause: e });
  }
  return line(convertResult(mode === 'ipam' ? ipamResult(parsed) : parsed, conf.cniVersion));
}

async function dispatch(env: EnvInput, stdin: string, backend: CniBackend, mode: PluginMode, opts: RunOptions): Promise<string> {
  const e = readEnv(env);
  const obj = decodeConfig(stdin);
  const version = configVersion(obj);
  if (!verbAllowed(e.command, version)) throw incompatibleVerb(e.command, version);
  const conf = parseNetConf(obj, mode, { lenientPrevResult: e.command === 'DEL' });

  if (e.command === 'STATUS') {
    await backend.status(conf, mode);
    return '';
  }
  if (e.command === 'GC') {
    await backend.gc(conf, parseValidAttachments(obj), mode);
    return '';
  }
  if (e.command === 'CHECK' && conf.prevResult === undefined) {
    throw new PodnetError(CniErrors.CNI_INVALID_CONFIG, 'invalid network config: CHECK requires prevResult (the result of the ADD)');
  }
  const req: CniRequest = {
    command: e.command,
    containerId: e.containerId,
    netns: e.netns,
    netnsPath: opts.netnsPath ?? e.netns,
    ifname: e.ifname,
    args: parseCniArgs(e.args),
    path: e.path,
    conf,
  };
  switch (e.command) {
    case 'ADD':
      return addOutput(await backend.add(req, mode), conf, mode);
    case 'DEL':
      await backend.del(req, mode);
      return '';
    case 'CHECK':
      await backend.check(req, mode);
      return '';
    default:
      throw new PodnetError(CniErrors.CNI_INVALID_ENV, `CNI_COMMAND ${e.command} is not handled here`);
  }
}

/**
 * Runs one CNI call. `env` is the plugin's environment (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS,
 * CNI_IFNAME, CNI_ARGS, CNI_PATH); `stdin` the network config. Success: exit code 0 and the ADD
 * result / VERSION reply ("" for DEL, CHECK, STATUS and GC). Failure: exit code 1 and a
 * CniErrorReply whose cniVersion is the config's when podnet supports it, else 1.1.0.
 */
export async function runCni(env: EnvInput, stdin: string, backend: CniBackend, mode: PluginMode, opts: RunOptions = {}): Promise<RunOutput> {
  const peeked = peekVersion(stdin);
  const errVersion = isSupportedVersion(peeked) ? peeked : CURRENT_VERSION;
  try {
    if (readCommand(env) === 'VERSION') return { stdout: line(versionReply(stdin)), exitCode: 0 };
    return { stdout: await dispatch(env, stdin, backend, mode, opts), exitCode: 0 };
  } catch (e) {
    return { stdout: line(cniErrorReply(e, errVersion)), exitCode: 1 };
  }
}
