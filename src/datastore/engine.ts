/**
 * The Datastore implementation shared by the memory and embedded adapters: a KvState, a
 * WatchHub and lease timers, with an optional Journal that makes each write durable before its
 * promise resolves and before watchers see it.
 *
 * A write is planned and applied to the state synchronously (so compare-and-swap is atomic),
 * then journaled; its watch events are published once the journal says it is durable. Reads
 * wait until everything they might have observed is durable, so no caller ever acts on a write
 * that a crash could still undo. After a journal failure the store refuses all further calls
 * (the in-memory state may be ahead of the disk): reopen it to recover from disk.
 */
import { randomBytes } from 'node:crypto';
import { PodnetError, errorMessage } from '../common/errors.js';
import { DatastoreErrors as E } from './errors.js';
import { KvState, checkKey, type KvRecord } from './kv-state.js';
import { WatchHub } from './watch-hub.js';
import type { Datastore, KvEntry, ListResult, Watch, WatchEvent, WatchHandlers, WriteOptions } from './types.js';

export interface Journal {
  /** Queues rec after everything appended before; resolves once it is durable. */
  append(rec: KvRecord): Promise<void>;
  /** Resolves once everything appended so far is durable. */
  sync(): Promise<void>;
  /** Flushes and releases the journal. */
  close(): Promise<void>;
}

export interface EngineOptions {
  /** Watch events kept for watches that start in the past (default 10000). */
  readonly historyLimit?: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export class EngineStore implements Datastore {
  private readonly hub: WatchHub;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly unpublished: { seq: number; events: WatchEvent[] }[] = [];
  private closed = false;
  private failure: PodnetError | undefined;

  constructor(
    readonly kind: Datastore['kind'],
    private readonly state: KvState,
    private readonly journal: Journal | undefined,
    opts: EngineOptions = {},
  ) {
    this.hub = new WatchHub(opts.historyLimit ?? 10_000, state.revision);
  }

  /** Store revision (including writes still being made durable). */
  get revision(): number {
    return this.state.revision;
  }

  async get(key: string): Promise<KvEntry | undefined> {
    this.checkOpen();
    checkKey(key);
    const e = this.state.get(key);
    await this.durable();
    return e;
  }

  async list(prefix: string): Promise<ListResult> {
    this.checkOpen();
    if (typeof prefix !== 'string') throw new PodnetError(E.DATASTORE_INVALID_ARGUMENT, 'list prefix is not a string');
    const entries = this.state.list(prefix);
    const revision = this.state.revision;
    await this.durable();
    return { entries, revision };
  }

  async create(key: string, value: string, opts: WriteOptions = {}): Promise<KvEntry> {
    this.checkOpen();
    this.checkLeaseLive(opts.lease);
    const rec = this.state.planCreate(key, value, opts.lease);
    return this.entryOf(await this.commit(rec));
  }

  async update(key: string, value: string, expectedRevision: number, opts: WriteOptions = {}): Promise<KvEntry> {
    this.checkOpen();
    this.checkLeaseLive(opts.lease);
    const rec = this.state.planUpdate(key, value, expectedRevision, opts.lease);
    return this.entryOf(await this.commit(rec));
  }

  async delete(key: string, expectedRevision?: number): Promise<boolean> {
    this.checkOpen();
    const rec = this.state.planDelete(key, expectedRevision);
    if (!rec) {
      await this.durable();
      return false;
    }
    await this.commit(rec);
    return true;
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch {
    return this.hub.watch(prefix, fromRevision, handlers);
  }

  async grantLease(ttlSeconds: number): Promise<string> {
    this.checkOpen();
    const id = randomBytes(8).toString('hex');
    await this.commit(this.state.planGrant(id, ttlSeconds, Date.now()));
    this.arm(id);
    return id;
  }

  async keepAlive(lease: string): Promise<void> {
    this.checkOpen();
    const cur = this.state.lease(lease);
    if (cur && cur.exp <= Date.now()) {
      await this.expire(lease);
      throw new PodnetError(E.DATASTORE_LEASE_NOT_FOUND, `lease ${lease} expired`);
    }
    await this.commit(this.state.planRenew(lease, Date.now()));
    this.arm(lease);
  }

  async revokeLease(lease: string): Promise<void> {
    this.checkOpen();
    const rec = this.state.planRevoke(lease);
    if (!rec) throw new PodnetError(E.DATASTORE_LEASE_NOT_FOUND, `lease ${lease} not found or expired`);
    this.disarm(lease);
    await this.commit(rec);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.timers.keys()]) this.disarm(id);
    this.hub.shutdown(closedError());
    if (this.journal) await this.journal.close();
  }

  /** Revokes every lease whose deadline has passed and arms timers for the others (used on open). */
  protected async startLeases(): Promise<void> {
    const now = Date.now();
    for (const id of this.state.leaseIds()) {
      const l = this.state.lease(id);
      if (l && l.exp <= now) await this.expire(id);
      else this.arm(id);
    }
  }

  protected get isClosed(): boolean {
    return this.closed;
  }

  private checkOpen(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw closedError();
  }

  /** A lease whose deadline passed is expired even if its timer has not fired yet. */
  private checkLeaseLive(lease: string | undefined): void {
    if (lease === undefined) return;
    const l = this.state.lease(lease);
    if (l && l.exp <= Date.now()) {
      void this.expire(lease).catch(() => undefined);
      throw new PodnetError(E.DATASTORE_LEASE_NOT_FOUND, `lease ${lease} expired`);
    }
  }

  private entryOf(events: WatchEvent[]): KvEntry {
    const ev = events[0];
    if (!ev || ev.type !== 'put') throw new Error('internal: a put produced no put event');
    return ev.entry;
  }

  private async commit(rec: KvRecord): Promise<WatchEvent[]> {
    const events = this.state.apply(rec);
    if (!this.journal) {
      this.hub.publish(events);
      return events;
    }
    this.unpublished.push({ seq: rec.seq, events });
    try {
      await this.journal.append(rec);
    } catch (e) {
      throw this.fail(e);
    }
    this.publishUpTo(rec.seq);
    return events;
  }

  private publishUpTo(seq: number): void {
    while (this.unpublished.length > 0 && (this.unpublished[0] as { seq: number }).seq <= seq) {
      const next = this.unpublished.shift() as { events: WatchEvent[] };
      this.hub.publish(next.events);
    }
  }

  private async durable(): Promise<void> {
    if (!this.journal) return;
    try {
      await this.journal.sync();
    } catch (e) {
      throw this.fail(e);
    }
  }

  private fail(e: unknown): PodnetError {
    if (!this.failure) {
      this.failure = new PodnetError(
        E.DATASTORE_UNAVAILABLE,
        `datastore failed to persist a write and refuses further calls until reopened: ${errorMessage(e)}`,
        { cause: e },
      );
      this.unpublished.length = 0;
      for (const id of [...this.timers.keys()]) this.disarm(id);
      this.hub.shutdown(this.failure);
    }
    return this.failure;
  }

  private arm(id: string): void {
    this.disarm(id);
    const l = this.state.lease(id);
    if (!l || this.closed) return;
    const delay = Math.min(Math.max(0, l.exp - Date.now()), MAX_TIMER_MS);
    const t = setTimeout(() => this.onTimer(id), delay);
    t.unref();
    this.timers.set(id, t);
  }

  private disarm(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }

  private onTimer(id: string): void {
    this.timers.delete(id);
    const l = this.state.lease(id);
    if (!l || this.closed || this.failure) return;
    if (l.exp > Date.now()) this.arm(id);
    else void this.expire(id).catch(() => undefined);
  }

  private async expire(id: string): Promise<void> {
    this.disarm(id);
    if (this.closed || this.failure) return;
    const rec = this.state.planRevoke(id);
    if (rec) await this.commit(rec);
  }
}

function closedError(): PodnetError {
  return new PodnetError(E.DATASTORE_CLOSED, 'datastore is closed');
}
