/**
 * Named network namespaces (/run/netns/NAME) that a test creates as the "host" a runtime runs
 * in. Nothing here touches the root network namespace.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { run, runOk, type ExecOptions, type ExecResult } from './proc.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function checkNetnsName(name: string): string {
  if (!NAME_RE.test(name)) throw new Error(`invalid network namespace name ${JSON.stringify(name)}`);
  return name;
}

/** "/run/netns/NAME" for a name; an absolute path is returned unchanged. */
export function netnsPath(nameOrPath: string): string {
  return nameOrPath.startsWith('/') ? nameOrPath : `/run/netns/${checkNetnsName(nameOrPath)}`;
}

/** Creates /run/netns/<prefix>-<random> with lo up; returns its name. */
export async function createNetns(prefix = 'pnh'): Promise<string> {
  const name = checkNetnsName(`${prefix}-${randomBytes(4).toString('hex')}`);
  await runOk(['ip', 'netns', 'add', name]);
  try {
    await runOk(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  } catch (e) {
    await deleteNetns(name);
    throw e;
  }
  return name;
}

/** Deletes a named namespace; an absent one is fine. */
export async function deleteNetns(name: string): Promise<void> {
  if (!existsSync(netnsPath(name))) return;
  await runOk(['ip', 'netns', 'del', checkNetnsName(name)]);
}

/** Creates a namespace, runs fn with its name, deletes it afterwards (also when fn throws). */
export async function withNetns<T>(prefix: string, fn: (name: string) => Promise<T>): Promise<T> {
  const name = await createNetns(prefix);
  try {
    return await fn(name);
  } finally {
    await deleteNetns(name);
  }
}

/** Runs argv inside a network namespace (nsenter --net; mounts stay the caller's). */
export function netnsExec(nameOrPath: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return run(['nsenter', `--net=${netnsPath(nameOrPath)}`, '--', ...argv], opts);
}

/** Like netnsExec, but a non-zero exit rejects. */
export function netnsExecOk(nameOrPath: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return runOk(['nsenter', `--net=${netnsPath(nameOrPath)}`, '--', ...argv], opts);
}
