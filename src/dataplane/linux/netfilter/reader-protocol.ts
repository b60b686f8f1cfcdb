/**
 * What passes between a reader's main-thread handle and its worker: the worker's configuration,
 * its messages, and a small shared control block (stop flag, socket fd, delivery count, stats)
 * that both sides read without waiting for each other's event loop.
 */
import type { ConntrackEventType } from './types.js';

export interface ConntrackSourceConfig {
  readonly kind: 'conntrack';
  readonly events: readonly ConntrackEventType[];
}

export interface NflogSourceConfig {
  readonly kind: 'nflog';
  readonly group: number;
  readonly copyRange: number;
  readonly timeoutCs: number;
  readonly qthresh: number;
  readonly resolveNames: boolean;
}

export interface WorkerConfig {
  readonly netns: string | undefined;
  readonly label: string;
  readonly batchMax: number;
  readonly flushMs: number;
  readonly maxPendingBatches: number;
  readonly rcvbufBytes: number;
  readonly idlePriority: boolean;
  readonly source: ConntrackSourceConfig | NflogSourceConfig;
}

export interface WorkerInit {
  readonly config: WorkerConfig;
  readonly control: SharedArrayBuffer;
}

/** Worker -> main thread. */
export type WorkerMessage<T> =
  | { readonly t: 'ready'; readonly tid: number }
  | { readonly t: 'batch'; readonly records: T[] }
  | { readonly t: 'error'; readonly code: string; readonly message: string; readonly errno?: string; readonly fatal: boolean };

export interface SharedStats {
  received: number;
  lost: number;
  overruns: number;
  decodeErrors: number;
  dropped: number;
}

const I_STOP = 0;
const I_FD = 1;
const I_CONSUMED = 2;
const STATS_OFFSET = 16;
const STAT_KEYS = ['received', 'lost', 'overruns', 'decodeErrors', 'dropped'] as const;

/** The shared control block; the same class on both sides of the worker boundary. */
export class ReaderControl {
  readonly sab: SharedArrayBuffer;
  private readonly i32: Int32Array;
  private readonly stats: BigInt64Array;

  constructor(sab?: SharedArrayBuffer) {
    this.sab = sab ?? new SharedArrayBuffer(STATS_OFFSET + 8 * STAT_KEYS.length);
    this.i32 = new Int32Array(this.sab, 0, 4);
    this.stats = new BigInt64Array(this.sab, STATS_OFFSET, STAT_KEYS.length);
    if (!sab) Atomics.store(this.i32, I_FD, -1);
  }

  requestStop(): void {
    Atomics.store(this.i32, I_STOP, 1);
    Atomics.notify(this.i32, I_STOP); // ends a coalescing pause (pauseUnlessStopped) at once
  }
  /** Worker: sleeps up to ms unless a stop is (or gets) requested. Blocks the calling thread. */
  pauseUnlessStopped(ms: number): void {
    Atomics.wait(this.i32, I_STOP, 0, ms);
  }
  stopRequested(): boolean {
    return Atomics.load(this.i32, I_STOP) === 1;
  }

  /** The worker's open socket, -1 when none: lets the main thread close it if the worker died. */
  setFd(fd: number): void {
    Atomics.store(this.i32, I_FD, fd);
  }
  fd(): number {
    return Atomics.load(this.i32, I_FD);
  }

  /** Main thread: one more batch handled. */
  consumed(): void {
    Atomics.add(this.i32, I_CONSUMED, 1);
  }
  consumedCount(): number {
    return Atomics.load(this.i32, I_CONSUMED);
  }

  publish(s: SharedStats): void {
    STAT_KEYS.forEach((k, i) => Atomics.store(this.stats, i, BigInt(s[k])));
  }
  read(): SharedStats {
    const v = (i: number): number => Number(Atomics.load(this.stats, i));
    return { received: v(0), lost: v(1), overruns: v(2), decodeErrors: v(3), dropped: v(4) };
  }
}
