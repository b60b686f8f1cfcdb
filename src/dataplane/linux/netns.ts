/**
 * Running synchronous code with the main thread inside another network namespace.
 *
 * setns(2) moves only the calling thread. JS is single-threaded and `fn` is synchronous, so no
 * other JS runs on the main thread meanwhile; libuv's thread pool keeps its own namespace. What
 * `fn` creates keeps the namespace it was created in: a netlink socket stays bound to it, and a
 * /proc/sys/net file opened by a synchronous fs call shows the namespace of the opening thread.
 *
 * (libuv opens every fd with O_CLOEXEC, so namespace fds do not leak into children.)
 *
 * If switching back ever failed, the main thread would be stranded in a pod's namespace and every
 * later socket (etcd, health checks) would be opened there; we abort the process instead.
 */
import * as fs from 'node:fs';
import { CommonErrors, PodnetError, errorMessage } from '../../common/errors.js';
import { DataplaneErrors, KernelError } from '../errors.js';
import { CLONE_NEWNET, setnsRaw } from './sys.js';

const SELF_NETNS = '/proc/thread-self/ns/net';

/** Opens a namespace file (e.g. /run/netns/x, /proc/PID/ns/net) read-only; returns the fd. */
export function openNetns(path: string): number {
  if (typeof path !== 'string' || path === '' || path.includes('\0')) {
    throw new PodnetError(DataplaneErrors.DATAPLANE_INVALID_SPEC, `bad network namespace path ${JSON.stringify(path)}`);
  }
  try {
    return fs.openSync(path, fs.constants.O_RDONLY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new PodnetError(DataplaneErrors.DATAPLANE_NETNS_NOT_FOUND, `network namespace ${path} does not exist`, { cause: e });
    }
    throw new PodnetError(DataplaneErrors.DATAPLANE_NETNS_FAILED, `cannot open network namespace ${path}: ${errorMessage(e)}`, { cause: e });
  }
}

/** Identity of an open namespace file: equal ids mean the same namespace. */
export function netnsIdOfFd(fd: number): string {
  const st = fs.fstatSync(fd, { bigint: true });
  return `${st.dev}:${st.ino}`;
}

/** Identity of the namespace the calling thread is in now. */
export function currentNetnsId(): string {
  const st = fs.statSync(SELF_NETNS, { bigint: true });
  return `${st.dev}:${st.ino}`;
}

/**
 * Runs fn with the calling thread in the namespace open as targetFd, then switches back.
 * `what` names the namespace in errors. fn must be synchronous (a returned promise is refused).
 */
export function withNetns<T>(targetFd: number, what: string, fn: () => T): T {
  const back = fs.openSync(SELF_NETNS, fs.constants.O_RDONLY);
  try {
    const err = setnsRaw(targetFd, CLONE_NEWNET);
    if (err !== 0) {
      const code = err === 22 ? DataplaneErrors.DATAPLANE_NETNS_FAILED : DataplaneErrors.DATAPLANE_SYSCALL_FAILED;
      throw new KernelError(code, `enter network namespace ${what}`, err);
    }
    try {
      const r = fn();
      if (r instanceof Promise) {
        r.catch(() => undefined);
        throw new PodnetError(CommonErrors.INTERNAL, 'withNetns: the function must be synchronous');
      }
      return r;
    } finally {
      const backErr = setnsRaw(back, CLONE_NEWNET);
      if (backErr !== 0) {
        process.stderr.write(`podnet: FATAL: cannot return to the original network namespace after ${what} (errno ${backErr})\n`);
        process.abort();
      }
    }
  } finally {
    fs.closeSync(back);
  }
}

/** Runs fn in the namespace at path, or in the current one when path is undefined. */
export function inNetnsPath<T>(path: string | undefined, fn: () => T): T {
  if (path === undefined) return fn();
  const fd = openNetns(path);
  try {
    return withNetns(fd, path, fn);
  } finally {
    fs.closeSync(fd);
  }
}

const SYSCTL_KEY = /^net\/[A-Za-z0-9_.\-/]+$/;

function sysctlPath(key: string): string {
  if (!SYSCTL_KEY.test(key) || key.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new PodnetError(DataplaneErrors.DATAPLANE_INVALID_SPEC, `bad sysctl key ${JSON.stringify(key)}`);
  }
  return `/proc/sys/${key}`;
}

/**
 * Writes /proc/sys/<key> (key like "net/ipv4/ip_forward") as seen from the namespace at netnsPath
 * (the current one when undefined). Returns false when the key does not exist (e.g. IPv6 off).
 */
export function writeSysctl(netnsPath: string | undefined, key: string, value: string): boolean {
  const path = sysctlPath(key);
  return inNetnsPath(netnsPath, () => {
    try {
      fs.writeFileSync(path, value);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new PodnetError(DataplaneErrors.DATAPLANE_SYSCTL_FAILED, `write ${path}=${value} in ${netnsPath ?? 'own namespace'}: ${errorMessage(e)}`, { cause: e });
    }
  });
}

/** Reads /proc/sys/<key> in the namespace at netnsPath; undefined when the key does not exist. */
export function readSysctl(netnsPath: string | undefined, key: string): string | undefined {
  const path = sysctlPath(key);
  return inNetnsPath(netnsPath, () => {
    try {
      return fs.readFileSync(path, 'utf8').trim();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new PodnetError(DataplaneErrors.DATAPLANE_SYSCTL_FAILED, `read ${path} in ${netnsPath ?? 'own namespace'}: ${errorMessage(e)}`, { cause: e });
    }
  });
}
