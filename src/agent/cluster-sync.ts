/**
 * Datastore -> desired cluster dataplane -> kernel, continuously.
 *
 * One syncer follows nodes, pools and blocks. Until the first full list has arrived nothing in
 * the kernel is touched (so a restarted agent never removes routes it simply has not heard of
 * yet); after that every change, coalesced, recomputes the desired state (a pure function) and
 * the dataplane applies the smallest delta. A timer re-applies periodically to repair drift.
 */
import type { Logger } from '../common/log.js';
import type { ClusterDataplane, ClusterState, DesiredCluster, LocalNode, ApplyReport } from '../calc/types.js';
import { Syncer, type SyncStatus } from '../datastore/syncer.js';
import type { Datastore, KvEntry, WatchEvent } from '../datastore/types.js';
import { parseBlockKey, BLOCKS_PREFIX, POOLS_PREFIX } from '../ipam/keys.js';
import { parsePool } from '../ipam/pool.js';
import type { IpPool } from '../ipam/types.js';
import { NODE_PREFIX, type NodeRecord } from '../model/node.js';

export interface ClusterSyncOptions {
  readonly store: Datastore;
  readonly local: () => LocalNode;
  readonly dataplane: ClusterDataplane;
  readonly compute: (local: LocalNode, state: ClusterState) => DesiredCluster;
  readonly log: Logger;
  /** Periodic full re-apply (drift repair); default 30 s. */
  readonly resyncMs?: number;
  /** Called after each apply with what changed and how long since the triggering change arrived. */
  readonly onApplied?: (desired: DesiredCluster, report: ApplyReport, latencyMs: number) => void;
}

export class ClusterSync {
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly blocks = new Map<string, { node: string; pool: string }>();
  private readonly blockKeys = new Map<string, string>();
  private readonly pools = new Map<string, IpPool>();
  private syncer: Syncer | undefined;
  private inSync = false;
  private status: SyncStatus = 'idle';
  private dirtySince: number | undefined;
  private applying: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private resync: NodeJS.Timeout | undefined;
  private firstApply: { resolve: () => void; promise: Promise<void> };
  private last: DesiredCluster | undefined;
  private lastError: string | undefined;

  constructor(private readonly opts: ClusterSyncOptions) {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.firstApply = { resolve, promise };
  }

  get desired(): DesiredCluster | undefined {
    return this.last;
  }

  get health(): { status: SyncStatus; inSync: boolean; lastError: string | undefined; nodes: number; blocks: number } {
    return { status: this.status, inSync: this.inSync, lastError: this.lastError, nodes: this.nodes.size, blocks: this.blocks.size };
  }

  /** Current pools as the datastore has them. */
  currentPools(): IpPool[] {
    return [...this.pools.values()];
  }

  /** Starts following; resolves after the first apply that followed a complete list (bounded). */
  async start(timeoutMs = 30_000): Promise<void> {
    this.syncer = new Syncer(this.opts.store, '/podnet/', {
      onSnapshot: (entries) => this.snapshot(entries),
      onEvents: (events) => this.events(events),
      onInSync: () => {
        this.inSync = true;
        this.markDirty();
      },
      onStatus: (s, err) => {
        this.status = s;
        if (err) this.lastError = err.message;
      },
    });
    this.syncer.start();
    this.resync = setInterval(() => this.markDirty(), this.opts.resyncMs ?? 30_000);
    this.resync.unref();
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.firstApply.promise, new Promise<void>((r) => (t = setTimeout(r, timeoutMs)))]);
    if (t) clearTimeout(t);
  }

  async stop(): Promise<void> {
    this.syncer?.stop();
    if (this.timer) clearTimeout(this.timer);
    if (this.resync) clearInterval(this.resync);
    await this.applying;
  }

  private snapshot(entries: readonly KvEntry[]): void {
    this.nodes.clear();
    this.blocks.clear();
    this.blockKeys.clear();
    this.pools.clear();
    for (const e of entries) this.put(e);
    this.markDirty();
  }

  private events(events: readonly WatchEvent[]): void {
    let relevant = false;
    for (const ev of events) {
      if (ev.type === 'put') relevant = this.put(ev.entry) || relevant;
      else relevant = this.del(ev.key) || relevant;
    }
    if (relevant) this.markDirty();
  }

  private put(e: KvEntry): boolean {
    try {
      if (e.key.startsWith(NODE_PREFIX)) {
        const rec = JSON.parse(e.value) as NodeRecord;
        const name = e.key.slice(NODE_PREFIX.length);
        if (rec.name !== name) throw new Error(`record names itself ${rec.name}`);
        this.nodes.set(name, rec);
        return true;
      }
      if (e.key.startsWith(BLOCKS_PREFIX)) {
        const k = parseBlockKey(e.key);
        if (!k) return false;
        const v = JSON.parse(e.value) as { node?: unknown };
        if (typeof v.node !== 'string') throw new Error('block without node');
        const prev = this.blocks.get(k.cidr);
        this.blocks.set(k.cidr, { node: v.node, pool: k.pool });
        this.blockKeys.set(e.key, k.cidr);
        return !prev || prev.node !== v.node;
      }
      if (e.key.startsWith(POOLS_PREFIX)) {
        const name = e.key.slice(POOLS_PREFIX.length);
        this.pools.set(name, parsePool(name, e.value));
        return true;
      }
    } catch (err) {
      this.opts.log.warn('ignoring a malformed datastore record', { key: e.key, error: String(err) });
    }
    return false;
  }

  private del(key: string): boolean {
    if (key.startsWith(NODE_PREFIX)) return this.nodes.delete(key.slice(NODE_PREFIX.length));
    if (key.startsWith(BLOCKS_PREFIX)) {
      const cidr = this.blockKeys.get(key);
      this.blockKeys.delete(key);
      return cidr !== undefined && this.blocks.delete(cidr);
    }
    if (key.startsWith(POOLS_PREFIX)) return this.pools.delete(key.slice(POOLS_PREFIX.length));
    return false;
  }

  private markDirty(): void {
    if (!this.inSync) return;
    this.dirtySince ??= Date.now();
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.applyNow();
    }, 2);
  }

  private async applyNow(): Promise<void> {
    if (this.applying) {
      await this.applying;
      if (this.dirtySince !== undefined) this.markDirty();
      return;
    }
    const since = this.dirtySince ?? Date.now();
    this.dirtySince = undefined;
    this.applying = (async () => {
      try {
        const desired = this.opts.compute(this.opts.local(), { nodes: this.nodes, blocks: this.blocks, pools: [...this.pools.values()] });
        const report = await this.opts.dataplane.apply(desired);
        this.last = desired;
        this.lastError = undefined;
        this.opts.onApplied?.(desired, report, Date.now() - since);
        this.firstApply.resolve();
      } catch (e) {
        this.lastError = String(e);
        this.opts.log.error('applying the cluster dataplane failed; will retry', { error: this.lastError });
        this.dirtySince ??= Date.now();
        setTimeout(() => this.markDirty(), 1000).unref();
      }
    })();
    try {
      await this.applying;
    } finally {
      this.applying = undefined;
    }
  }
}
