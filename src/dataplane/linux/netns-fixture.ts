/**
 * Helpers for privileged tests: throw-away network namespaces named pnt-<random>, `ip` and `ping`
 * run with argument arrays (never a shell), and cleanup that never throws. Nothing here touches
 * the root namespace: every command is either `ip netns add/del NAME` or runs with `-n NAME` /
 * `netns exec NAME`.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';

export const isRoot = (): boolean => process.getuid?.() === 0;

/** Why privileged tests are skipped here, or false when they can run. */
export function privilegedSkip(): string | false {
  if (!isRoot()) return 'needs root (creates network namespaces)';
  if (!existsSync('/proc/thread-self/ns/net')) return 'needs /proc/thread-self';
  return false;
}

const NS_NAME = /^pnt-[a-z0-9-]{1,40}$/;

/** Runs `ip ARGS...` and returns stdout; throws with stderr on failure. */
export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

/** `ip -n NS ARGS...`. */
export function ipIn(ns: string, ...args: string[]): string {
  assertOurs(ns);
  return ip('-n', ns, ...args);
}

/** `ip -j -n NS ARGS...` parsed. */
export function ipJson<T = unknown>(ns: string, ...args: string[]): T {
  return JSON.parse(ipIn(ns, '-j', ...args) || '[]') as T;
}

function assertOurs(ns: string): void {
  if (!NS_NAME.test(ns)) throw new Error(`refusing to touch namespace ${JSON.stringify(ns)}: not a test namespace`);
}

/** A set of test namespaces that are all removed by cleanup(), whatever happened. */
export class NetnsPool {
  private readonly made: string[] = [];
  readonly tag = randomBytes(3).toString('hex');

  /** Creates pnt-<tag>-<label>, with lo up; returns its name. */
  create(label: string): string {
    const name = `pnt-${this.tag}-${label}`;
    assertOurs(name);
    ip('netns', 'add', name);
    this.made.push(name);
    ipIn(name, 'link', 'set', 'lo', 'up');
    return name;
  }

  path(name: string): string {
    return `/run/netns/${name}`;
  }

  /** Deletes one namespace now (it may already be gone). */
  remove(name: string): void {
    assertOurs(name);
    try {
      ip('netns', 'del', name);
    } catch {
      /* already gone */
    }
    const i = this.made.indexOf(name);
    if (i >= 0) this.made.splice(i, 1);
  }

  cleanup(): void {
    for (const n of [...this.made].reverse()) this.remove(n);
  }
}

/** One ICMP echo from inside ns (1 s timeout). */
export function ping(ns: string, address: string): boolean {
  assertOurs(ns);
  try {
    execFileSync('ip', ['netns', 'exec', ns, 'ping', '-c1', '-W1', '-n', '-q', address], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/** Reads a sysctl inside ns via the `sysctl` path under /proc, through `ip netns exec`. */
export function sysctlIn(ns: string, key: string): string {
  assertOurs(ns);
  return execFileSync('ip', ['netns', 'exec', ns, 'cat', `/proc/sys/${key}`], { encoding: 'utf8', timeout: 5_000 }).trim();
}
