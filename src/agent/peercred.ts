/**
 * The pid of the process at the other end of a unix socket (SO_PEERCRED). The kernel translates
 * it into the agent's pid namespace, so it is right even when the runtime (and the shim it runs)
 * lives in a pid namespace of its own, and the client cannot forge it.
 */
import type net from 'node:net';
import * as koffi from 'koffi';

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

type GetSockOpt = (fd: number, level: number, name: number, val: Buffer, len: Buffer) => number;
let getsockopt: GetSockOpt | undefined;

function bind(): GetSockOpt {
  if (!getsockopt) {
    const fn = koffi.load('libc.so.6').func('int getsockopt(int, int, int, _Out_ void *, _Inout_ uint32_t *)');
    getsockopt = (fd, level, name, val, len) => Number(fn(fd, level, name, val, len));
  }
  return getsockopt;
}

/** Node keeps the descriptor on its libuv handle; no public API exposes it. */
function fdOf(sock: net.Socket): number | undefined {
  const fd = (sock as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** Peer pid, or undefined when it cannot be read (then the caller must not trust any pid). */
export function peerPid(sock: net.Socket): number | undefined {
  const fd = fdOf(sock);
  if (fd === undefined) return undefined;
  const cred = Buffer.alloc(12); // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
  const len = Buffer.alloc(4);
  len.writeUInt32LE(cred.length);
  if (bind()(fd, SOL_SOCKET, SO_PEERCRED, cred, len) !== 0) return undefined;
  const pid = cred.readInt32LE(0);
  return pid > 0 ? pid : undefined;
}
