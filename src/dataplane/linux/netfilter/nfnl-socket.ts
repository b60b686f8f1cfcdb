/**
 * NETLINK_NETFILTER socket plumbing for the reader threads: open and bind, receive buffer size,
 * receive timeout, multicast membership, and a request/ACK exchange that hands any other message
 * arriving meanwhile to the caller. Synchronous (koffi): call it only from a worker thread.
 */
import { readFileSync } from 'node:fs';
import { isKernelError, KernelError, DataplaneErrors } from '../../errors.js';
import { decodeError, u32, writeU16 } from '../netlink/codec.js';
import { AF_NETLINK, NETLINK_EXT_ACK, NLMSG_ERROR, SOL_NETLINK, SOL_SOCKET, SO_RCVTIMEO } from '../netlink/constants.js';
import * as sys from '../sys.js';
import { EINTR, EPERM, NETLINK_ADD_MEMBERSHIP, NETLINK_NETFILTER, SO_RCVBUF, SO_RCVBUFFORCE } from './constants.js';
import { walkMessages } from './nfnl.js';

const CAP_NET_ADMIN = 12;

/** Whether this process has CAP_NET_ADMIN in its effective set (/proc/self/status CapEff). */
export function hasNetAdmin(): boolean {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m !== null && (BigInt(`0x${m[1]}`) & (1n << BigInt(CAP_NET_ADMIN))) !== 0n;
  } catch {
    return true; // cannot tell: let the kernel's answer speak
  }
}

/** Opens and binds a NETLINK_NETFILTER socket in the calling thread's namespace. */
export function openNfnlSocket(onFd: (fd: number) => void): number {
  const fd = sys.socket(AF_NETLINK, sys.SOCK_RAW | sys.SOCK_CLOEXEC, NETLINK_NETFILTER);
  onFd(fd);
  const sa = Buffer.alloc(12); // sockaddr_nl: family, pad, pid 0 (kernel assigns), groups 0
  writeU16(sa, AF_NETLINK, 0);
  sys.bind(fd, sa);
  sys.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, u32(1), 'NETLINK_EXT_ACK');
  return fd;
}

/** SO_RCVBUFFORCE (ignores net.core.rmem_max, needs CAP_NET_ADMIN), else SO_RCVBUF. */
export function setReceiveBuffer(fd: number, bytes: number): void {
  try {
    sys.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, u32(bytes), 'SO_RCVBUFFORCE');
  } catch (e) {
    if (!isKernelError(e) || e.errnoValue !== EPERM) throw e;
    sys.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, u32(bytes), 'SO_RCVBUF');
  }
}

/** SO_RCVTIMEO in ms (at least 1: 0 would mean wait forever). */
export function setReceiveTimeout(fd: number, ms: number): void {
  const t = Math.max(1, Math.ceil(ms));
  const tv = Buffer.alloc(16); // struct timeval on 64-bit
  tv.writeBigInt64LE(BigInt(Math.floor(t / 1000)), 0);
  tv.writeBigInt64LE(BigInt((t % 1000) * 1000), 8);
  sys.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 'SO_RCVTIMEO');
}

export function joinGroup(fd: number, group: number): void {
  sys.setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, u32(group), `NETLINK_ADD_MEMBERSHIP ${group}`);
}

/**
 * Sends one request (built with NLM_F_ACK and this seq) and reads until its ACK, for at most
 * timeoutMs. Datagrams holding anything else are passed to onOther whole. Throws KernelError
 * (DATAPLANE_NETLINK_FAILED) when the kernel refuses, DATAPLANE_TIMEOUT when no ACK came.
 */
export function requestAck(fd: number, wire: Buffer, seq: number, buf: Buffer, timeoutMs: number, what: string, onOther: (buf: Buffer, len: number) => void): void {
  sys.send(fd, wire, `${what}: send`);
  const deadline = Date.now() + timeoutMs;
  setReceiveTimeout(fd, Math.min(200, timeoutMs));
  for (let i = 0; i < 100_000 && Date.now() <= deadline; i++) {
    let n: number;
    try {
      n = sys.recv(fd, buf, `${what}: recv`);
    } catch (e) {
      if (isKernelError(e) && e.errnoValue === EINTR) continue; // a signal: the deadline still bounds the wait
      throw e;
    }
    if (n < 0) continue;
    const len = Math.min(n, buf.length);
    let ack: { error: number; extack?: string } | undefined;
    let other = false;
    walkMessages(buf, len, (m) => {
      if (m.type === NLMSG_ERROR && m.seq === seq) {
        ack = decodeError({ type: m.type, flags: m.flags, seq: m.seq, pid: 0, payload: buf.subarray(m.start, m.end) });
      } else if (m.type !== NLMSG_ERROR) other = true;
    });
    if (other) onOther(buf, len);
    if (ack) {
      if (ack.error !== 0) throw new KernelError(DataplaneErrors.DATAPLANE_NETLINK_FAILED, what, -ack.error, ack.extack ? { extack: ack.extack } : {});
      return;
    }
  }
  throw new KernelError(DataplaneErrors.DATAPLANE_TIMEOUT, `${what}: no answer within ${timeoutMs} ms`, 110);
}
