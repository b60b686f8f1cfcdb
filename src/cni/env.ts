/**
 * The CNI_* environment of a plugin call (SPEC.md section 2, "Parameters" and each verb's
 * "Input"). One table says which variables each verb requires; like skel, a variable is
 * validated only for the verbs that require it (libcni sends empty CNI_CONTAINERID and
 * CNI_IFNAME on GC and STATUS), and every missing one is named in a single error.
 */
import { PodnetError } from '../common/errors.js';
import { CniErrors } from './errors.js';
import { ifnameProblem, nameProblem } from './names.js';
import { showJson } from './json.js';
import type { CniCommand } from './types.js';

export type CniEnvVar = 'CNI_COMMAND' | 'CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME' | 'CNI_ARGS' | 'CNI_PATH';

export interface EnvRule {
  readonly required: readonly CniEnvVar[];
  readonly optional: readonly CniEnvVar[];
}

/** SPEC.md 1.1.0, each verb's "Required/Optional environment parameters". */
export const ENV_RULES: Readonly<Record<CniCommand, EnvRule>> = {
  ADD: { required: ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'], optional: ['CNI_ARGS', 'CNI_PATH'] },
  DEL: { required: ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_IFNAME'], optional: ['CNI_NETNS', 'CNI_ARGS', 'CNI_PATH'] },
  CHECK: { required: ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'], optional: ['CNI_ARGS', 'CNI_PATH'] },
  STATUS: { required: ['CNI_COMMAND'], optional: ['CNI_PATH'] },
  VERSION: { required: ['CNI_COMMAND'], optional: [] },
  GC: { required: ['CNI_COMMAND', 'CNI_PATH'], optional: [] },
};

export const CNI_COMMANDS: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK', 'STATUS', 'VERSION', 'GC'];

export type EnvInput = Readonly<Record<string, string | undefined>>;

/** The validated environment; variables a verb does not use are "" (and path []). */
export interface CniEnv {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifname: string;
  /** Raw CNI_ARGS; parse with parseCniArgs. */
  args: string;
  path: string[];
}

const invalidEnv = (msg: string, details?: string): PodnetError =>
  new PodnetError(CniErrors.CNI_INVALID_ENV, msg, details === undefined ? {} : { details });

/** Reads CNI_COMMAND alone (VERSION needs nothing else). */
export function readCommand(env: EnvInput): CniCommand {
  const cmd = env['CNI_COMMAND'] ?? '';
  if (cmd === '') throw invalidEnv('required env variables [CNI_COMMAND] missing');
  const known = CNI_COMMANDS.find((c) => c === cmd);
  if (known === undefined) throw invalidEnv(`CNI_COMMAND ${showJson(cmd)} is not one of ${CNI_COMMANDS.join(', ')}`);
  return known;
}

/** CNI_PATH split on ':' (empty entries dropped). */
export function splitCniPath(s: string): string[] {
  return s.split(':').filter((p) => p !== '');
}

/** Checks the variables the verb requires and validates the ones that have rules. */
export function readEnv(env: EnvInput): CniEnv {
  const command = readCommand(env);
  const rule = ENV_RULES[command];
  const missing = rule.required.filter((name) => (env[name] ?? '') === '');
  if (missing.length > 0) throw invalidEnv(`required env variables [${missing.join(',')}] missing for ${command}`);

  const uses = (name: CniEnvVar): boolean => rule.required.includes(name) || rule.optional.includes(name);
  const get = (name: CniEnvVar): string => (uses(name) ? (env[name] ?? '') : '');

  const containerId = get('CNI_CONTAINERID');
  if (rule.required.includes('CNI_CONTAINERID')) {
    const problem = nameProblem(containerId);
    if (problem) throw invalidEnv(`invalid CNI_CONTAINERID ${showJson(containerId)}: ${problem}`, 'CNI_CONTAINERID');
  }
  const ifname = get('CNI_IFNAME');
  if (rule.required.includes('CNI_IFNAME')) {
    const problem = ifnameProblem(ifname);
    if (problem) throw invalidEnv(`invalid CNI_IFNAME ${showJson(ifname)}: ${problem}`, 'CNI_IFNAME');
  }
  return {
    command,
    containerId,
    netns: get('CNI_NETNS'),
    ifname,
    args: get('CNI_ARGS'),
    path: splitCniPath(get('CNI_PATH')),
  };
}
