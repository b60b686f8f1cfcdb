/**
 * Finding and ending the lab's processes without a shell and without broad name matching: a
 * process belongs to a lab when its pid file says so AND its command line still mentions the lab
 * directory (pids get reused), when its command line mentions the lab directory, or when it lives
 * in one of the lab's network namespaces (same nsfs inode as /run/netns/<name>). Never the calling
 * process, never pid 1.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** argv of a process, or undefined when it is gone (or a kernel thread). */
export function cmdlineOf(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (raw === '') return undefined;
    return raw.split('\0').filter((s, i, a) => !(s === '' && i === a.length - 1));
  } catch {
    return undefined;
  }
}

/** True while the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

const mentions = (argv: readonly string[], marker: string): boolean => argv.some((a) => a === marker || a.startsWith(`${marker}/`) || a.includes(`=${marker}/`));

/** The pid if it is alive and its command line mentions marker (a path the process was given). */
export function verifiedPid(pid: number | undefined, marker: string): number | undefined {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 1 || pid === process.pid) return undefined;
  const argv = cmdlineOf(pid);
  return argv && isAlive(pid) && mentions(argv, marker) ? pid : undefined;
}

export function readPidFile(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

export function writePidFile(path: string, pid: number): void {
  writeFileSync(path, `${pid}\n`);
}

function allPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .filter((p) => p > 1 && p !== process.pid);
  } catch {
    return [];
  }
}

/** Processes whose command line mentions the directory (e.g. the lab dir in --socket/--data-dir). */
export function pidsMentioning(dir: string): number[] {
  return allPids().filter((p) => {
    const argv = cmdlineOf(p);
    return argv !== undefined && mentions(argv, dir) && isAlive(p);
  });
}

const nsKey = (path: string): string | undefined => {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
};

/** Processes whose network namespace is one of the named ones (what `ip netns pids` finds). */
export function pidsInNetns(names: readonly string[]): number[] {
  const keys = new Set(names.map((n) => nsKey(`/run/netns/${n}`)).filter((k): k is string => k !== undefined));
  if (keys.size === 0) return [];
  const root = nsKey('/proc/1/ns/net');
  if (root) keys.delete(root); // never: a lab name must not stand for the root namespace
  return allPids().filter((p) => {
    const k = nsKey(`/proc/${p}/ns/net`);
    return k !== undefined && keys.has(k) && isAlive(p);
  });
}

/** Sends sig to every pid (gone is fine); returns the ones signalled. */
export function signalAll(pids: readonly number[], sig: NodeJS.Signals): number[] {
  const done: number[] = [];
  for (const p of new Set(pids)) {
    if (p <= 1 || p === process.pid) continue;
    try {
      process.kill(p, sig);
      done.push(p);
    } catch {
      /* already gone */
    }
  }
  return done;
}

/** Waits (bounded) until none of the pids is alive; returns the survivors. */
export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = pids.filter(isAlive);
  for (let i = 0; left.length > 0 && Date.now() < deadline && i < 10_000; i++) {
    await sleep(20);
    left = left.filter(isAlive);
  }
  return left;
}

/** SIGTERM, then SIGKILL after graceMs; resolves when the pids are gone (or returns survivors). */
export async function stopPids(pids: readonly number[], graceMs: number): Promise<number[]> {
  if (graceMs > 0) {
    signalAll(pids, 'SIGTERM');
    const left = await waitGone(pids, graceMs);
    if (left.length === 0) return [];
    signalAll(left, 'SIGKILL');
    return waitGone(left, 5000);
  }
  signalAll(pids, 'SIGKILL');
  return waitGone(pids, 5000);
}
