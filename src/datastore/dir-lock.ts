/**
 * Exclusive lock of a state directory: a LOCK file created with O_EXCL holding the owner's pid,
 * host, boot id and process start time. A lock whose owner is provably gone (no such pid, or
 * the pid was reused by a newer process, or the machine rebooted since) is stale and taken
 * over; a lock from another host is never taken over.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { randomBytes } from 'node:crypto';
import { PodnetError } from '../common/errors.js';
import { DatastoreErrors as E } from './errors.js';
import { errnoCode, fsyncDir } from './fsutil.js';

export const LOCK_FILE = 'LOCK';
const MAX_ATTEMPTS = 5;
/** A lock file without valid content is being written by its creator, or was torn by a crash this long ago. */
const UNREADABLE_LOCK_STALE_MS = 10_000;

export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly boot?: string;
  readonly start?: string;
}

export interface DirLock {
  readonly path: string;
  readonly owner: LockOwner;
  release(): void;
}

/** Directories locked by this process (a second open in the same process must fail too). */
const heldHere = new Set<string>();

function readOpt(path: string): string | undefined {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function bootId(): string | undefined {
  return readOpt('/proc/sys/kernel/random/boot_id')?.trim();
}

/** Field 22 of /proc/<pid>/stat: start time in clock ticks since boot. */
export function processStartTime(pid: number): string | undefined {
  const stat = readOpt(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

function selfOwner(): LockOwner {
  const boot = bootId();
  const start = processStartTime(process.pid);
  return { pid: process.pid, host: os.hostname(), ...(boot ? { boot } : {}), ...(start ? { start } : {}) };
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const x = JSON.parse(text) as Partial<LockOwner>;
    if (typeof x.pid !== 'number' || !Number.isInteger(x.pid) || x.pid < 1 || typeof x.host !== 'string') return undefined;
    return x as LockOwner;
  } catch {
    return undefined;
  }
}

/** 'dead' only when the owner is provably gone. */
function ownerState(o: LockOwner): 'alive' | 'dead' {
  if (o.host !== os.hostname()) return 'alive';
  const boot = bootId();
  if (o.boot && boot && o.boot !== boot) return 'dead';
  try {
    process.kill(o.pid, 0);
  } catch (e) {
    if (errnoCode(e) === 'ESRCH') return 'dead';
  }
  const start = processStartTime(o.pid);
  if (o.start && start && o.start !== start) return 'dead';
  return 'alive';
}

function lockedError(dir: string, why: string): PodnetError {
  return new PodnetError(E.DATASTORE_LOCKED, `state directory ${dir} is locked: ${why}`);
}

/** Moves a stale lock aside, checking that what was moved is the stale lock that was judged. */
function takeOver(path: string, staleText: string): void {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(path, aside);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw e;
  }
  if (readOpt(aside) !== staleText) {
    // Another process replaced the stale lock with its own in between: put it back.
    try {
      fs.linkSync(aside, path);
    } catch {
      // someone else holds the path now; they will be judged on the next attempt
    }
  }
  fs.rmSync(aside, { force: true });
}

export function acquireDirLock(dir: string): DirLock {
  const real = fs.realpathSync(dir);
  if (heldHere.has(real)) throw lockedError(dir, 'it is already open in this process');
  const path = `${real}/${LOCK_FILE}`;
  const owner = selfOwner();
  const text = JSON.stringify(owner);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(path, 'wx', 0o600);
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
      const cur = readOpt(path);
      if (cur === undefined) continue;
      const other = parseOwner(cur);
      if (other) {
        if (ownerState(other) === 'alive') {
          throw lockedError(dir, `held by pid ${other.pid} on ${other.host}${other.pid === process.pid ? ' (this process)' : ''}`);
        }
      } else {
        const age = Date.now() - (fs.statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0);
        if (age < UNREADABLE_LOCK_STALE_MS) throw lockedError(dir, 'the lock file is being written by another process');
      }
      takeOver(path, cur);
      continue;
    }
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fsyncDir(real);
    heldHere.add(real);
    let released = false;
    return {
      path,
      owner,
      release(): void {
        if (released) return;
        released = true;
        heldHere.delete(real);
        if (readOpt(path) === text) fs.rmSync(path, { force: true });
      },
    };
  }
  throw lockedError(dir, `could not take over a stale lock in ${MAX_ATTEMPTS} attempts`);
}
