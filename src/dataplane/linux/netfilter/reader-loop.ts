/**
 * The receive loop of a reader thread: recv with a timeout (so the stop flag is seen within
 * IDLE_WAIT_MS), decode, and post batches of at most batchMax records about flushMs (at most
 * 1.25 flushMs) after the first one arrived. Overruns (ENOBUFS) are counted and reading goes on.
 * When the main thread has maxPendingBatches batches not yet handled, new batches are dropped
 * and counted instead of queueing without bound.
 */
import { isKernelError } from '../../errors.js';
import * as sys from '../sys.js';
import { EINTR, ENOBUFS } from './constants.js';
import type { DecodeSink } from './conntrack-codec.js';
import { setReceiveTimeout } from './nfnl-socket.js';
import type { ReaderControl, SharedStats, WorkerConfig } from './reader-protocol.js';

/** Longest recv wait while nothing is pending: bounds how long close() waits for the thread. */
export const IDLE_WAIT_MS = 200;
/** Decode warnings sent to onError: at most this many per window (they are all counted). */
const WARNS_PER_WINDOW = 5;
const WARN_WINDOW_MS = 10_000;
/** Longest coalescing pause after a burst (flushMs / 5 when smaller). */
const MAX_COALESCE_MS = 10;
/** Datagrams read without blocking after a wake-up, at most. */
const MAX_DRAIN = 1024;
const MSG_DONTWAIT = 0x40;

/** A socket set up in the reader thread, and how to read what it receives. */
export interface KernelSource<T> {
  readonly fd: number;
  /** Receive buffer size: at least the largest datagram the kernel sends this socket. */
  readonly bufferBytes: number;
  /** Records that arrived during setup, before the loop started. */
  readonly early: readonly T[];
  decode(buf: Buffer, len: number, sink: DecodeSink<T>, nowMs: number): void;
  /** Messages known lost from sequence numbers so far (NFLOG); 0 when the source has none. */
  lostBySequence(): number;
  /** Messages to count as lost for each overrun when sequence numbers cannot tell (conntrack: 1). */
  readonly lostPerOverrun: number;
  /** Releases kernel state (NFLOG unbind) and closes the socket. Never throws. */
  close(): void;
}

export interface LoopOutput<T> {
  post(records: T[]): void;
  /** A non-fatal problem worth reporting (e.g. a truncated datagram). */
  warn(code: string, message: string): void;
}

export function runReaderLoop<T>(src: KernelSource<T>, cfg: WorkerConfig, ctl: ReaderControl, out: LoopOutput<T>): void {
  const buf = Buffer.allocUnsafe(src.bufferBytes);
  const stats: SharedStats = { received: 0, lost: 0, overruns: 0, decodeErrors: 0, dropped: 0 };
  let batch: T[] = [...src.early];
  let firstAt = batch.length > 0 ? Date.now() : 0;
  let posted = 0;
  let overrunLost = 0;
  let lastError = '';
  let warnWindow = 0;
  let warnCount = 0;
  const warn = (message: string): void => {
    const now = Date.now();
    if (now - warnWindow > WARN_WINDOW_MS) {
      warnWindow = now;
      warnCount = 0;
    }
    if (warnCount++ < WARNS_PER_WINDOW) out.warn('NETFILTER_DECODE_FAILED', message);
  };
  const sink: DecodeSink<T> = {
    record: (r) => {
      if (batch.length === 0) firstAt = Date.now();
      batch.push(r);
    },
    error: (e) => {
      stats.decodeErrors++;
      if (e.message !== lastError) {
        lastError = e.message; // report a run of identical failures once
        warn(e.message);
      }
    },
  };
  stats.received += batch.length;

  const flush = (): void => {
    for (let i = 0; i < batch.length; i += cfg.batchMax) {
      const chunk = batch.length <= cfg.batchMax ? batch : batch.slice(i, i + cfg.batchMax);
      // Both counters are int32 and wrap alike, so the difference stays right past 2^31 batches.
      if (((posted - ctl.consumedCount()) | 0) >= cfg.maxPendingBatches) stats.dropped += chunk.length;
      else {
        posted = (posted + 1) | 0;
        out.post(chunk);
      }
    }
    batch = [];
  };
  const publish = (): void => {
    stats.lost = overrunLost + src.lostBySequence();
    ctl.publish(stats);
  };

  // SO_RCVTIMEO changes only when the loop goes from idle to pending and back (two setsockopt
  // calls per batch, not one per datagram).
  const pendingWait = Math.max(1, Math.ceil(cfg.flushMs / 4));
  const pause = Math.min(MAX_COALESCE_MS, Math.floor(cfg.flushMs / 5));
  let timeout = -1;
  /** One recv; returns its length, -1 when nothing came (timeout, EAGAIN, EINTR), -2 after an overrun. */
  const receive = (flags: number): number => {
    let n: number;
    try {
      n = sys.recv(src.fd, buf, 'netfilter recv', flags);
    } catch (e) {
      // A signal landing on this thread (SIGCHLD, a profiler's SIGPROF) interrupts recv: go round again.
      if (isKernelError(e) && e.errnoValue === EINTR) return -1;
      if (!isKernelError(e) || e.errnoValue !== ENOBUFS) throw e;
      stats.overruns++;
      overrunLost += src.lostPerOverrun;
      return -2;
    }
    if (n > buf.length) {
      stats.decodeErrors++;
      warn(`datagram of ${n} bytes truncated to ${buf.length}`);
    } else if (n > 0) {
      const before = batch.length;
      src.decode(buf, n, sink, Date.now());
      stats.received += batch.length - before;
    }
    return n;
  };
  while (!ctl.stopRequested()) {
    const wait = batch.length > 0 ? pendingWait : IDLE_WAIT_MS;
    if (wait !== timeout) {
      setReceiveTimeout(src.fd, wait);
      timeout = wait;
    }
    const got = receive(0) >= 0;
    // Drain what is queued without blocking, then pause briefly so that the next wake-up finds
    // many datagrams instead of one: under load the thread wakes ~1000/pause times a second,
    // not once per event (wake-ups, not decoding, dominate the cost per event).
    for (let i = 0; got && i < MAX_DRAIN && batch.length < cfg.batchMax * 4; i++) if (receive(MSG_DONTWAIT) < 0) break;
    if (batch.length >= cfg.batchMax || (batch.length > 0 && Date.now() - firstAt >= cfg.flushMs)) flush();
    if (batch.length === 0) publish();
    if (got && pause > 0) ctl.pauseUnlessStopped(pause);
  }
  flush();
  publish();
}
