/**
 * The few libc calls Node lacks, through koffi. Every wrapper but sendAsync is synchronous, runs on
 * the calling (main) thread, reads errno right after the call (koffi.errno()) and throws
 * KernelError(DATAPLANE_SYSCALL_FAILED) with the errno name on failure. Buffers are passed as
 * pointers without copying, so recv() fills the caller's Buffer in place.
 */
import * as koffi from 'koffi';
import { PodnetError } from '../../common/errors.js';
import { DataplaneErrors, KernelError } from '../errors.js';

export const CLONE_NEWNET = 0x40000000;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0x80000;
export const MSG_TRUNC = 0x20;
export const EINTR = 4;
export const EAGAIN = 11;

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  send(fd: number, buf: Buffer, len: number, flags: number): number;
  sendAsync(fd: number, buf: Buffer, len: number, flags: number, cb: (err: unknown, r: unknown) => void): void;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  setsockopt(fd: number, level: number, name: number, val: Buffer, len: number): number;
  setns(fd: number, nstype: number): number;
  close(fd: number): number;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  // ssize_t is intptr_t on Linux; socklen_t is uint32_t.
  const fns = {
    socket: lib.func('int socket(int, int, int)'),
    bind: lib.func('int bind(int, const void *, uint32_t)'),
    send: lib.func('intptr_t send(int, const void *, size_t, int)'),
    recv: lib.func('intptr_t recv(int, void *, size_t, int)'),
    setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)'),
    setns: lib.func('int setns(int, int)'),
    close: lib.func('int close(int)'),
  };
  const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number));
  libc = {
    socket: (d, t, p) => num(fns.socket(d, t, p)),
    bind: (fd, a, l) => num(fns.bind(fd, a, l)),
    send: (fd, b, l, f) => num(fns.send(fd, b, l, f)),
    sendAsync: (fd, b, l, f, cb) => fns.send.async(fd, b, l, f, cb),
    recv: (fd, b, l, f) => num(fns.recv(fd, b, l, f)),
    setsockopt: (fd, lv, n, v, l) => num(fns.setsockopt(fd, lv, n, v, l)),
    setns: (fd, t) => num(fns.setns(fd, t)),
    close: (fd) => num(fns.close(fd)),
  };
  return libc;
}

const errno = (): number => koffi.errno();

function fail(op: string): never {
  throw new KernelError(DataplaneErrors.DATAPLANE_SYSCALL_FAILED, op, errno());
}

/** Retries a call interrupted by a signal (EINTR), a bounded number of times. */
function retrying(op: string, call: () => number): number {
  for (let i = 0; i < 100; i++) {
    const r = call();
    if (r >= 0) return r;
    if (errno() !== EINTR) fail(op);
  }
  return fail(op);
}

export function socket(domain: number, type: number, protocol: number): number {
  return retrying('socket', () => load().socket(domain, type, protocol));
}

export function bind(fd: number, addr: Buffer): void {
  retrying('bind', () => load().bind(fd, addr, addr.length));
}

export function setsockopt(fd: number, level: number, name: number, value: Buffer, what: string): void {
  retrying(`setsockopt ${what}`, () => load().setsockopt(fd, level, name, value, value.length));
}

/** send(2) of the whole buffer; netlink datagrams are all or nothing. */
export function send(fd: number, buf: Buffer, what = 'send'): void {
  const n = retrying(what, () => load().send(fd, buf, buf.length, 0));
  if (n !== buf.length) throw new PodnetError(DataplaneErrors.DATAPLANE_SYSCALL_FAILED, `${what}: short send, ${n} of ${buf.length} bytes`);
}

/**
 * send(2) on a libuv worker thread. Resolves true when the whole buffer went out, false when the
 * send failed (koffi does not carry errno back from worker threads: retry synchronously for it).
 */
export function sendAsync(fd: number, buf: Buffer): Promise<boolean> {
  return new Promise((resolve, reject) => {
    load().sendAsync(fd, buf, buf.length, 0, (err, r) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(Number(r) === buf.length);
    });
  });
}

/**
 * recv(2) into buf. Returns the datagram's full length (MSG_TRUNC), which may exceed buf.length
 * when it was cut; returns -1 with errno EAGAIN when the receive timeout expired.
 */
export function recv(fd: number, buf: Buffer, what = 'recv', flags = 0): number {
  for (let i = 0; i < 100; i++) {
    const r = load().recv(fd, buf, buf.length, flags | MSG_TRUNC);
    if (r >= 0) return r;
    const e = errno();
    if (e === EAGAIN) return -1;
    if (e !== EINTR) fail(what);
  }
  return fail(what);
}

/** setns(2); returns the errno instead of throwing, so the caller decides how bad it is. */
export function setnsRaw(fd: number, nstype: number): number {
  return load().setns(fd, nstype) === 0 ? 0 : errno();
}

export function close(fd: number): void {
  load().close(fd); // errors from close on a socket are not actionable
}
