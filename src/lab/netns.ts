/**
 * Named network namespaces (/run/netns/NAME) for the lab and the tests. Every name the lab makes
 * starts with a prefix, so `podnet lab down` and test clean-up can find and remove them all.
 */
import { readdirSync } from 'node:fs';
import { CommonErrors, PodnetError } from '../common/errors.js';
import { run, runOk, type ExecOptions, type ExecResult } from './exec.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function checkNsName(name: string): string {
  if (!NAME_RE.test(name)) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `invalid namespace name ${JSON.stringify(name)}`);
  return name;
}

export const netnsPath = (name: string): string => `/run/netns/${checkNsName(name)}`;

export async function addNetns(name: string): Promise<void> {
  await runOk('ip', ['netns', 'add', checkNsName(name)]);
  await runOk('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Deletes a namespace; absent is fine. */
export async function delNetns(name: string): Promise<void> {
  await run('ip', ['netns', 'del', checkNsName(name)]);
}

export function listNetns(prefix: string): string[] {
  try {
    return readdirSync('/run/netns').filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

export function execIn(ns: string, cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return run('ip', ['netns', 'exec', checkNsName(ns), cmd, ...args], opts);
}

export function execInOk(ns: string, cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<string> {
  return runOk('ip', ['netns', 'exec', checkNsName(ns), cmd, ...args], opts);
}

/** Sets a sysctl inside a namespace (never in the root namespace). */
export async function sysctlIn(ns: string, key: string, value: string): Promise<void> {
  await execInOk(ns, 'sysctl', ['-q', '-w', `${key}=${value}`]);
}
