/**
 * A NETLINK_ROUTE socket bound to one network namespace (the one it was opened in, for life).
 *
 * Calls are synchronous: rtnetlink handles a request inside send(2) and queues the answer before
 * send returns, so the following recv(2) does not wait (dumps are produced during recv). A receive
 * timeout (SO_RCVTIMEO) and a datagram budget bound every wait. Sequence numbers tie answers to
 * requests; answers to an earlier, abandoned request are skipped.
 */
import { CommonErrors, PodnetError } from '../../../common/errors.js';
import { DataplaneErrors, KernelError } from '../../errors.js';
import { withNetns, openNetns } from '../netns.js';
import * as sys from '../sys.js';
import { closeSync } from 'node:fs';
import {
  AF_NETLINK,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NETLINK_ROUTE,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  SOL_NETLINK,
  SOL_SOCKET,
  SO_RCVTIMEO,
} from './constants.js';
import { type NlMessage, decodeError, decodeMessages, encodeMessage, readS32, u32, writeU16 } from './codec.js';

/** One rtnetlink request, built by the link/addr/route/neigh modules. */
export interface NlRequest {
  readonly type: number;
  /** NLM_F_* flags besides REQUEST and ACK (CREATE, EXCL, REPLACE, ECHO, DUMP). */
  readonly flags: number;
  /** Family header (ifinfomsg, ifaddrmsg, rtmsg, ndmsg) followed by attributes. */
  readonly payload: Buffer;
  /** What the request does, for error messages: "add route 10.0.0.5/32 dev pn0123". */
  readonly what: string;
}

export interface NetlinkSocketOptions {
  /** Open the socket inside the namespace at this path (default: the caller's namespace). */
  readonly netnsPath?: string;
  /** Or inside the namespace of this already-open fd (wins over netnsPath). */
  readonly netnsFd?: number;
  /** Names the namespace in error messages, e.g. "pod /run/netns/x". */
  readonly label?: string;
  /** How long to wait for an answer, in ms (default 5000). */
  readonly timeoutMs?: number;
  /** Netlink protocol (default NETLINK_ROUTE; NETLINK_GENERIC = 16 for genetlink families such as ethtool). */
  readonly protocol?: number;
}

const RECV_BUF = 64 * 1024; // the kernel sends dumps in skbs of at most 32 KiB
const MAX_DATAGRAMS = 200_000;
const DUMP_RETRIES = 5;
/** Requests per datagram in requestAll: their ACKs must fit the receive buffer at once. */
const BATCH = 64;

export interface NetlinkStats {
  requests: number;
  sends: number;
  datagrams: number;
}

export class NetlinkSocket {
  readonly label: string;
  readonly stats: NetlinkStats = { requests: 0, sends: 0, datagrams: 0 };
  private fd: number;
  private seq: number;
  private readonly buf = Buffer.alloc(RECV_BUF);
  private readonly timeoutMs: number;
  private queue: Promise<unknown> = Promise.resolve();
  private inFlight = false;

  private constructor(fd: number, label: string, timeoutMs: number) {
    this.fd = fd;
    this.label = label;
    this.timeoutMs = timeoutMs;
    this.seq = (Math.floor(Math.random() * 0x7fffffff) >>> 0) + 1;
  }

  static open(opts: NetlinkSocketOptions = {}): NetlinkSocket {
    const label = opts.label ?? opts.netnsPath ?? 'current namespace';
    const timeoutMs = opts.timeoutMs ?? 5000;
    const create = (): number => sys.socket(AF_NETLINK, sys.SOCK_RAW | sys.SOCK_CLOEXEC, opts.protocol ?? NETLINK_ROUTE);
    let fd: number;
    if (opts.netnsFd !== undefined) fd = withNetns(opts.netnsFd, label, create);
    else if (opts.netnsPath !== undefined) {
      const nsFd = openNetns(opts.netnsPath);
      try {
        fd = withNetns(nsFd, label, create);
      } finally {
        closeSync(nsFd);
      }
    } else fd = create();
    try {
      const sa = Buffer.alloc(12); // sockaddr_nl: family, pad, pid 0 (kernel assigns), groups 0
      writeU16(sa, AF_NETLINK, 0);
      sys.bind(fd, sa);
      const one = u32(1);
      sys.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, one, 'NETLINK_EXT_ACK');
      sys.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, one, 'NETLINK_CAP_ACK');
      sys.setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, one, 'NETLINK_GET_STRICT_CHK');
      const tv = Buffer.alloc(16); // struct timeval { long tv_sec; long tv_usec; } on 64-bit
      tv.writeBigInt64LE(BigInt(Math.floor(timeoutMs / 1000)), 0);
      tv.writeBigInt64LE(BigInt((timeoutMs % 1000) * 1000), 8);
      sys.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 'SO_RCVTIMEO');
    } catch (e) {
      sys.close(fd);
      throw e;
    }
    return new NetlinkSocket(fd, label, timeoutMs);
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  close(): void {
    if (this.fd >= 0) sys.close(this.fd);
    this.fd = -1;
  }

  /** Sends one request and waits for its ACK. Returns messages echoed before it (NLM_F_ECHO). */
  request(req: NlRequest): NlMessage[] {
    const [seq, wire] = this.frame(req, NLM_F_ACK);
    this.sendRaw(wire);
    return this.awaitAck(seq, req.what);
  }

  /**
   * Like request(), but the send(2) — where rtnetlink does the work — runs on a libuv worker
   * thread, so a slow request (deleting a veth waits for an RCU grace period, 15-50 ms) does not
   * block the event loop. The socket keeps its namespace whatever thread sends. Async requests
   * are queued; a synchronous call while one is in flight is refused, so give slow work its own
   * socket.
   */
  requestAsync(req: NlRequest): Promise<NlMessage[]> {
    const run = async (): Promise<NlMessage[]> => {
      const [seq, wire] = this.frame(req, NLM_F_ACK);
      this.inFlight = true;
      let sent: boolean;
      try {
        this.stats.sends++;
        sent = await sys.sendAsync(this.fd, wire);
      } finally {
        this.inFlight = false;
      }
      // A failed send did nothing; koffi does not report errno from worker threads, so redo it
      // here to get the real error.
      if (!sent) this.sendRaw(wire);
      return this.awaitAck(seq, req.what);
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private awaitAck(seq: number, what: string): NlMessage[] {
    const echoed: NlMessage[] = [];
    this.receive(what, (m) => {
      if (m.seq !== seq) return false;
      if (m.type === NLMSG_ERROR) {
        this.throwIfError(m, what);
        return true;
      }
      echoed.push(m);
      return false;
    });
    return echoed;
  }

  /**
   * Sends several requests in one datagram and waits for every ACK. The kernel runs them in order
   * and does not stop at a failure, so all answers are read; the first failure is thrown.
   */
  requestAll(reqs: readonly NlRequest[]): void {
    let first: unknown;
    for (let i = 0; i < reqs.length; i += BATCH) {
      const e = this.batch(reqs.slice(i, i + BATCH));
      if (first === undefined) first = e;
    }
    if (first !== undefined) throw first;
  }

  /** One datagram of requests; returns the first failure (by order) instead of throwing it. */
  private batch(reqs: readonly NlRequest[]): unknown {
    const pending = new Map<number, NlRequest>();
    const wires: Buffer[] = [];
    for (const r of reqs) {
      const [seq, wire] = this.frame(r, NLM_F_ACK);
      pending.set(seq, r);
      wires.push(wire);
    }
    const seqs = [...pending.keys()];
    this.sendRaw(Buffer.concat(wires));
    const failures = new Map<number, unknown>();
    this.receive(`${reqs.length} requests`, (m) => {
      const r = pending.get(m.seq);
      if (!r || m.type !== NLMSG_ERROR) return false;
      try {
        this.throwIfError(m, r.what);
      } catch (e) {
        failures.set(m.seq, e);
      }
      pending.delete(m.seq);
      return pending.size === 0;
    });
    for (const s of seqs) if (failures.has(s)) return failures.get(s);
    return undefined;
  }

  /** Runs a dump (NLM_F_DUMP) and returns every answer message; retries an interrupted dump. */
  dump(req: NlRequest): NlMessage[] {
    for (let attempt = 0; ; attempt++) {
      const [seq, wire] = this.frame(req, NLM_F_DUMP);
      this.sendRaw(wire);
      const out: NlMessage[] = [];
      let interrupted = false;
      this.receive(req.what, (m) => {
        if (m.seq !== seq) return false;
        if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
        if (m.type === NLMSG_DONE) {
          const err = m.payload.length >= 4 ? readS32(m.payload, 0) : 0;
          if (err < 0) throw new KernelError(DataplaneErrors.DATAPLANE_NETLINK_FAILED, `${this.label}: ${req.what}`, -err);
          return true;
        }
        if (m.type === NLMSG_ERROR) {
          this.throwIfError(m, req.what);
          return true;
        }
        if (m.type !== NLMSG_NOOP && m.type !== NLMSG_OVERRUN) out.push(m);
        return false;
      });
      if (!interrupted) return out;
      if (attempt >= DUMP_RETRIES) {
        throw new PodnetError(DataplaneErrors.DATAPLANE_NETLINK_FAILED, `${this.label}: ${req.what}: dump kept changing underneath (${attempt + 1} tries)`);
      }
    }
  }

  private frame(req: NlRequest, extra: number): [number, Buffer] {
    if (this.inFlight) throw new PodnetError(CommonErrors.INTERNAL, `${this.label}: ${req.what}: an async request is in flight on this socket`);
    if (this.fd < 0) throw new PodnetError(DataplaneErrors.DATAPLANE_SYSCALL_FAILED, `${this.label}: netlink socket is closed (${req.what})`);
    this.seq = this.seq >= 0xfffffff0 ? 1 : this.seq + 1;
    this.stats.requests++;
    return [this.seq, encodeMessage({ type: req.type, flags: NLM_F_REQUEST | extra | req.flags, seq: this.seq, pid: 0 }, req.payload)];
  }

  private sendRaw(wire: Buffer): void {
    this.stats.sends++;
    sys.send(this.fd, wire, `${this.label}: netlink send`);
  }

  private throwIfError(m: NlMessage, what: string): void {
    const e = decodeError(m);
    if (e.error === 0) return;
    throw new KernelError(DataplaneErrors.DATAPLANE_NETLINK_FAILED, `${this.label}: ${what}`, -e.error, e.extack ? { extack: e.extack } : {});
  }

  /** Reads datagrams until onMessage returns true; bounded by time and count. */
  private receive(what: string, onMessage: (m: NlMessage) => boolean): void {
    const deadline = Date.now() + this.timeoutMs;
    for (let i = 0; i < MAX_DATAGRAMS; i++) {
      const n = sys.recv(this.fd, this.buf, `${this.label}: ${what}: netlink recv`);
      if (n < 0 || Date.now() > deadline) {
        throw new PodnetError(DataplaneErrors.DATAPLANE_TIMEOUT, `${this.label}: ${what}: no netlink answer within ${this.timeoutMs} ms`);
      }
      if (n > this.buf.length) {
        throw new PodnetError(DataplaneErrors.DATAPLANE_NETLINK_FAILED, `${this.label}: ${what}: netlink datagram of ${n} bytes truncated`);
      }
      this.stats.datagrams++;
      const dgram = Buffer.from(this.buf.subarray(0, n)); // the receive buffer is reused
      for (const m of decodeMessages(dgram)) if (onMessage(m)) return;
    }
    throw new PodnetError(DataplaneErrors.DATAPLANE_NETLINK_FAILED, `${this.label}: ${what}: more than ${MAX_DATAGRAMS} datagrams`);
  }
}
