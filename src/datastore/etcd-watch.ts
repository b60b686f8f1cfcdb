/**
 * One watch of the etcd adapter: its own gRPC watch stream for one prefix, from a revision.
 *
 * Events arrive one batch per etcd watch response, in revision order; events at or below the
 * last delivered revision are dropped, so a re-created stream never repeats one.
 *
 * The stream is re-created from the last delivered revision when it breaks (member loss: the
 * client picks another endpoint), when etcd cancels it, or when it looks stalled:
 *  - no response at all for `idleMs`: a progress request is sent; no answer within `requestMs`;
 *  - the creation is not acknowledged within `requestMs`;
 *  - a lag check (a keys-only range of the prefix for keys modified after the last delivered
 *    revision, run when no event came for `idleMs`) found a revision that is still not delivered
 *    one check later.
 * Re-creation is bounded: a watch that cannot be re-established within `retryMs` reports
 * DATASTORE_UNAVAILABLE through onError (the caller re-lists). A start revision that etcd has
 * compacted reports DATASTORE_COMPACTED. Progress notifications are used only as signs of life,
 * never to advance the revision (etcd 3.4 may send them for watchers that are not caught up).
 */
import type { IWatchResponse } from 'etcd3';
import { PodnetError, errorMessage } from '../common/errors.js';
import { KeySpace, entryOf, int } from './etcd-codec.js';
import type { EtcdRpc, WatchStream } from './etcd-rpc.js';
import { DatastoreErrors as E } from './errors.js';
import type { Watch, WatchEvent, WatchHandlers } from './types.js';

export interface WatchTuning {
  readonly idleMs: number;
  readonly requestMs: number;
  readonly retryMs: number;
}

export class EtcdWatch implements Watch {
  private lastRev = 0;
  private stream: WatchStream | undefined;
  private gen = 0;
  private closed = false;
  private created = false;
  private openedAt = 0;
  private heardAt = 0;
  private eventAt = 0;
  private probeAt: number | undefined;
  private brokenSince: number | undefined;
  private failures = 0;
  private pendingRev: number | undefined;
  private lagAt = 0;
  private lagRunning = false;
  private ticker: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly key: Buffer;
  private readonly rangeEnd: Buffer;
  /** Times the stream was re-created (for tests and diagnostics). */
  restarts = 0;
  /** Endpoint of the current stream; the next one is tried after each failure. */
  private endpoint: number;

  constructor(
    private readonly rpc: EtcdRpc,
    private readonly ks: KeySpace,
    private readonly prefix: string,
    fromRevision: number,
    private readonly handlers: WatchHandlers,
    private readonly tuning: WatchTuning,
    private readonly onDone: (w: EtcdWatch) => void,
  ) {
    let range: { key: Buffer; rangeEnd: Buffer } = { key: Buffer.alloc(0), rangeEnd: Buffer.alloc(0) };
    let bad: PodnetError | undefined;
    try {
      range = ks.range(prefix);
    } catch (e) {
      bad = e instanceof PodnetError ? e : new PodnetError(E.DATASTORE_INVALID_ARGUMENT, errorMessage(e));
    }
    if (!bad && (!Number.isSafeInteger(fromRevision) || fromRevision < 0)) {
      bad = new PodnetError(E.DATASTORE_INVALID_ARGUMENT, `invalid watch revision ${String(fromRevision)}`);
    }
    this.key = range.key;
    this.rangeEnd = range.rangeEnd;
    this.endpoint = Math.floor(Math.random() * rpc.endpointCount);
    if (bad) {
      this.fail(bad);
      return;
    }
    this.lastRev = fromRevision;
    this.eventAt = Date.now();
    const tick = Math.max(50, Math.min(1000, Math.floor(tuning.idleMs / 4)));
    this.ticker = setInterval(() => this.tick(), tick);
    this.ticker.unref();
    this.connect();
  }

  /** The revision up to which every event has been delivered. */
  get revision(): number {
    return this.lastRev;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.gen++;
    if (this.ticker) clearInterval(this.ticker);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const s = this.stream;
    this.stream = undefined;
    // Half-close first: etcd3 then does not count the cancellation against the endpoint.
    if (s) endStream(s);
    this.onDone(this);
  }

  /** Closes the watch and reports err to its owner (asynchronously). */
  fail(err: Error): void {
    if (this.closed) return;
    this.close();
    queueMicrotask(() => this.handlers.onError(err));
  }

  private connect(): void {
    const gen = ++this.gen;
    this.created = false;
    this.openedAt = Date.now();
    this.heardAt = this.openedAt;
    this.probeAt = undefined;
    this.rpc.openWatch(this.endpoint).then(
      (s) => {
        if (this.closed || gen !== this.gen) {
          endStream(s);
          return;
        }
        this.stream = s;
        s.on('data', (r) => this.onResponse(gen, r));
        s.on('error', (e) => this.onBroken(gen, e));
        s.on('end', () => this.onBroken(gen, new Error('watch stream ended')));
        s.write({
          create_request: {
            key: this.key,
            range_end: this.rangeEnd,
            start_revision: this.lastRev + 1,
            progress_notify: true,
          },
        });
      },
      (e: unknown) => this.onBroken(gen, e),
    );
  }

  private onResponse(gen: number, r: IWatchResponse): void {
    if (gen !== this.gen || this.closed) return;
    const now = Date.now();
    this.heardAt = now;
    this.probeAt = undefined;
    try {
      const compacted = int(r.compact_revision, 'compact_revision');
      if (compacted > 0) {
        this.fail(
          new PodnetError(
            E.DATASTORE_COMPACTED,
            `watch of ${JSON.stringify(this.prefix)} from revision ${this.lastRev}: etcd history before revision ${compacted} is compacted`,
          ),
        );
        return;
      }
      if (r.created) {
        this.created = true;
        this.brokenSince = undefined;
        this.failures = 0;
        this.eventAt = now;
      }
      if (r.canceled) {
        this.restart(new Error(`etcd canceled the watch: ${r.cancel_reason || 'no reason given'}`));
        return;
      }
      const batch = this.decode(r);
      if (r.events.length > 0) this.eventAt = now;
      if (this.pendingRev !== undefined && this.lastRev >= this.pendingRev) this.pendingRev = undefined;
      if (batch.length > 0) this.handlers.onEvents(batch);
    } catch (e) {
      this.fail(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private decode(r: IWatchResponse): WatchEvent[] {
    const out: WatchEvent[] = [];
    for (const ev of r.events ?? []) {
      const rev = int(ev.kv.mod_revision, 'mod_revision');
      if (rev <= this.lastRev) continue;
      const key = this.ks.unkey(ev.kv.key);
      if (key === undefined) continue;
      out.push(String(ev.type).toLowerCase() === 'delete' ? { type: 'delete', key, revision: rev } : { type: 'put', entry: entryOf(ev.kv, key) });
    }
    // etcd sends whole revisions in order; advance only after the response is decoded.
    for (const ev of out) this.lastRev = Math.max(this.lastRev, ev.type === 'put' ? ev.entry.revision : ev.revision);
    return out;
  }

  private onBroken(gen: number, e: unknown): void {
    if (gen !== this.gen || this.closed) return;
    if (e instanceof PodnetError && e.code === E.DATASTORE_CLOSED) {
      this.fail(e);
      return;
    }
    this.restart(e instanceof Error ? e : new Error(String(e)));
  }

  private restart(err: Error): void {
    if (this.closed) return;
    const old = this.stream;
    this.stream = undefined;
    this.gen++;
    // Cancelling (not half-closing) makes etcd3 mark the endpoint failed and reconnect.
    if (old) cancelStream(old);
    const now = Date.now();
    this.brokenSince ??= now;
    if (now - this.brokenSince > this.tuning.retryMs || this.rpc.isClosed) {
      this.fail(
        new PodnetError(
          this.rpc.isClosed ? E.DATASTORE_CLOSED : E.DATASTORE_UNAVAILABLE,
          `watch of ${JSON.stringify(this.prefix)} could not be re-established within ${this.tuning.retryMs} ms: ${err.message}`,
          { cause: err },
        ),
      );
      return;
    }
    this.restarts++;
    this.failures++;
    this.endpoint++;
    const delay = Math.min(1000, 25 * 2 ** Math.min(this.failures - 1, 6));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closed) this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  private tick(): void {
    if (this.closed || this.retryTimer) return;
    const now = Date.now();
    const s = this.stream;
    if (!this.created) {
      if (now - this.openedAt > this.tuning.requestMs) this.restart(new Error(`watch creation not acknowledged within ${this.tuning.requestMs} ms`));
      return;
    }
    if (!s) return;
    if (this.probeAt !== undefined) {
      if (now - this.probeAt > this.tuning.requestMs) this.restart(new Error(`watch stream stalled: no answer to a progress request within ${this.tuning.requestMs} ms`));
      return;
    }
    if (now - this.heardAt >= this.tuning.idleMs) {
      this.probeAt = now;
      s.write({ progress_request: {} });
    }
    if (now - this.eventAt >= this.tuning.idleMs && now - this.lagAt >= this.tuning.idleMs) this.checkLag();
  }

  /** Looks for a key under the prefix modified after the last delivered revision. */
  private checkLag(): void {
    if (this.lagRunning) return;
    this.lagRunning = true;
    this.lagAt = Date.now();
    const from = this.lastRev;
    this.rpc
      .call(`watch lag check of ${this.prefix}`, (co) =>
        this.rpc.client.kv.range({ key: this.key, range_end: this.rangeEnd, keys_only: true, min_mod_revision: from + 1, limit: 1 }, co),
      )
      .then((r) => {
        if (this.closed) return;
        const kv = r.kvs[0];
        const rev = kv ? int(kv.mod_revision, 'mod_revision') : 0;
        if (this.pendingRev !== undefined && this.lastRev < this.pendingRev) {
          const missed = this.pendingRev;
          this.pendingRev = undefined;
          this.restart(new Error(`watch stalled: revision ${missed} under the prefix was not delivered within ${this.tuning.idleMs} ms`));
          return;
        }
        this.pendingRev = rev > this.lastRev ? rev : undefined;
      })
      .catch(() => undefined)
      .finally(() => {
        this.lagRunning = false;
      });
  }
}

function endStream(s: WatchStream): void {
  try {
    s.end();
    s.cancel();
  } catch {
    /* already closed */
  }
}

function cancelStream(s: WatchStream): void {
  try {
    s.cancel();
  } catch {
    /* already closed */
  }
}
