/**
 * List + watch of a prefix, in the manner of libcalico-go's syncers: the consumer gets a
 * snapshot (the full state under the prefix at a revision), then the updates after it, and an
 * "in sync" signal once the snapshot is delivered. When the watch breaks (compaction, lost
 * connection, a stalled stream if resyncIntervalMs is set) the syncer re-lists after a backoff
 * and delivers a fresh snapshot, which the consumer reconciles against what it had.
 *
 * Bounded: after maxFailures consecutive failures (a watch that stayed up healthyAfterMs resets
 * the count) the syncer stops with status 'failed'. DATASTORE_CLOSED stops it at once.
 */
import { PodnetError, CommonErrors, asPodnetError, isPodnetError } from '../common/errors.js';
import { DatastoreErrors as E } from './errors.js';
import type { Datastore, KvEntry, Watch, WatchEvent } from './types.js';

export type SyncStatus = 'idle' | 'syncing' | 'in-sync' | 'resyncing' | 'failed' | 'stopped';

export interface SyncerHandlers {
  /** The full state under the prefix at revision; replaces whatever was delivered before. */
  onSnapshot(entries: readonly KvEntry[], revision: number): void;
  /** Changes after the last snapshot, in revision order. */
  onEvents(events: readonly WatchEvent[]): void;
  /** Called after each snapshot (the first one and every resync) once the watch is running. */
  onInSync?(revision: number): void;
  onStatus?(status: SyncStatus, err?: PodnetError): void;
}

export interface SyncerOptions {
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Consecutive failures before giving up (default 10). */
  readonly maxFailures?: number;
  /** A watch that stayed up this long resets the failure count (default 10 s). */
  readonly healthyAfterMs?: number;
  /** Re-list periodically even without errors (guards against a silently stalled watch); 0 = never. */
  readonly resyncIntervalMs?: number;
}

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
}

export class Syncer {
  private st: SyncStatus = 'idle';
  private gen = 0;
  private watch: Watch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private watchSince = 0;
  private lastError: PodnetError | undefined;
  private waiters: Waiter[] = [];
  private readonly o: Required<SyncerOptions>;

  constructor(
    private readonly store: Datastore,
    readonly prefix: string,
    private readonly handlers: SyncerHandlers,
    opts: SyncerOptions = {},
  ) {
    this.o = {
      initialBackoffMs: opts.initialBackoffMs ?? 100,
      maxBackoffMs: opts.maxBackoffMs ?? 5_000,
      maxFailures: opts.maxFailures ?? 10,
      healthyAfterMs: opts.healthyAfterMs ?? 10_000,
      resyncIntervalMs: opts.resyncIntervalMs ?? 0,
    };
  }

  get status(): SyncStatus {
    return this.st;
  }

  get inSync(): boolean {
    return this.st === 'in-sync';
  }

  start(): void {
    if (this.st !== 'idle') return;
    this.setStatus('syncing');
    void this.cycle();
  }

  stop(): void {
    if (this.st === 'stopped') return;
    this.gen++;
    this.clearTimer();
    this.watch?.close();
    this.watch = undefined;
    this.setStatus('stopped');
    this.rejectWaiters(new PodnetError(E.DATASTORE_CLOSED, `syncer of ${this.prefix} stopped`));
  }

  /** Resolves once in sync; rejects on failure, stop or after timeoutMs (TIMEOUT). */
  waitInSync(timeoutMs: number): Promise<void> {
    if (this.st === 'in-sync') return Promise.resolve();
    if (this.st === 'failed' || this.st === 'stopped') {
      return Promise.reject(this.lastError ?? new PodnetError(E.DATASTORE_CLOSED, `syncer of ${this.prefix} is ${this.st}`));
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        const why = this.lastError ? `: last error: ${this.lastError.message}` : '';
        reject(new PodnetError(CommonErrors.TIMEOUT, `datastore sync of ${this.prefix} not done after ${timeoutMs} ms${why}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Drops the watch and re-lists now (a consumer that suspects drift can ask for it). */
  resync(): void {
    if (this.st === 'stopped' || this.st === 'failed' || this.st === 'idle') return;
    this.gen++;
    this.clearTimer();
    this.watch?.close();
    this.watch = undefined;
    this.setStatus('resyncing');
    void this.cycle();
  }

  private async cycle(): Promise<void> {
    const gen = ++this.gen;
    let entries: readonly KvEntry[];
    let revision: number;
    try {
      ({ entries, revision } = await this.store.list(this.prefix));
    } catch (e) {
      if (gen === this.gen) this.failed(e);
      return;
    }
    if (gen !== this.gen) return;
    try {
      this.handlers.onSnapshot(entries, revision);
    } catch (e) {
      this.failed(e);
      return;
    }
    this.watch = this.store.watch(this.prefix, revision, {
      onEvents: (events) => {
        if (gen === this.gen) this.handlers.onEvents(events);
      },
      onError: (err) => {
        if (gen !== this.gen) return;
        this.watch = undefined;
        this.failed(err);
      },
    });
    if (gen !== this.gen) return; // the watch failed synchronously
    this.watchSince = Date.now();
    this.setStatus('in-sync');
    this.handlers.onInSync?.(revision);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve();
    if (this.o.resyncIntervalMs > 0) this.schedule(this.o.resyncIntervalMs, () => this.resync(), false);
  }

  private failed(e: unknown): void {
    const err = asPodnetError(e);
    this.lastError = err;
    this.gen++;
    this.clearTimer();
    this.watch?.close();
    this.watch = undefined;
    if (this.watchSince > 0 && Date.now() - this.watchSince >= this.o.healthyAfterMs) this.failures = 0;
    this.watchSince = 0;
    this.failures++;
    if (isPodnetError(e, E.DATASTORE_CLOSED) || this.failures > this.o.maxFailures) {
      this.setStatus('failed', err);
      this.rejectWaiters(err);
      return;
    }
    this.setStatus('resyncing', err);
    const base = Math.min(this.o.maxBackoffMs, this.o.initialBackoffMs * 2 ** (this.failures - 1));
    this.schedule(base / 2 + (Math.random() * base) / 2, () => void this.cycle());
  }

  /** A pending retry keeps the process alive (work is under way); a periodic resync does not. */
  private schedule(ms: number, fn: () => void, keepAlive = true): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      fn();
    }, ms);
    if (!keepAlive) this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private setStatus(s: SyncStatus, err?: PodnetError): void {
    this.st = s;
    this.handlers.onStatus?.(s, err);
  }

  private rejectWaiters(e: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(e);
  }
}
