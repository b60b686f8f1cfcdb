/**
 * IPAM on the Datastore port, correct with several writers (one instance per node):
 *
 *  - A node claims a block by creating its key (create-if-absent: two nodes never own one block)
 *    with its first allocation inside; an assignment or release is one CAS update of one block.
 *  - A node fills its own blocks (lowest block first, round-robin inside a block) before claiming
 *    the lowest unclaimed block of a pool; when a pool has none left: IPAM_POOL_EXHAUSTED.
 *    Addresses are never borrowed from another node's block, so routes follow block affinity.
 *  - A static address is taken exactly (claiming its block if unclaimed) or refused with
 *    IPAM_ADDRESS_UNAVAILABLE saying who holds it.
 *  - assign is all or nothing across addresses; re-assigning a handle returns what it has.
 *  - Writes of one instance are serialised (one async lock), so they never conflict with each
 *    other; conflicts with other writers are retried a bounded number of times.
 *  - handle -> blocks lookups use an in-memory index kept by a syncer and by our own writes;
 *    every decision is re-checked by the CAS on the block itself.
 */
import { PodnetError } from '../common/errors.js';
import type { Datastore, KvEntry } from '../datastore/types.js';
import { DatastoreErrors as DE } from '../datastore/errors.js';
import { Syncer, type SyncerOptions } from '../datastore/syncer.js';
import { IpamErrors as E } from './errors.js';
import { BLOCKS_PREFIX, parseBlockKey } from './keys.js';
import { parseBlock, type Block } from './block.js';
import { cidrOrder, poolUsableCount, usableCount } from './allocator.js';
import { listPools } from './pools.js';
import { BlockIndex, recordsOfBlock, sortRecords } from './block-index.js';
import { BlockWriter, fitBlock } from './block-writer.js';
import { validateAssign, validateHandle } from './request.js';
import { Mutex, type RetryLimits } from './retry.js';
import type { AllocationRecord, AssignRequest, Assignment, BlockInfo, Ipam, PoolUsage } from './types.js';

export interface DatastoreIpamOptions {
  /** CAS attempts per block write before IPAM_CONFLICT_RETRIES_EXHAUSTED (default 20). */
  readonly maxAttempts?: number;
  /** Time limit of one call, including waiting for this node's earlier calls (default 30 s). */
  readonly opTimeoutMs?: number;
  /** Time limit of the first list + watch of the blocks (default 10 s). */
  readonly syncTimeoutMs?: number;
  readonly syncer?: SyncerOptions;
}

const toAssignment = (r: Assignment): Assignment => ({ family: r.family, address: r.address, block: r.block, pool: r.pool });

export class DatastoreIpam implements Ipam {
  private readonly index: BlockIndex;
  private readonly writer: BlockWriter;
  private syncer: Syncer;
  private readonly lock = new Mutex();
  private starting: Promise<void> | undefined;
  private closed = false;
  private readonly maxAttempts: number;
  private readonly opTimeoutMs: number;
  private readonly syncTimeoutMs: number;

  constructor(
    private readonly store: Datastore,
    readonly node: string,
    private readonly opts: DatastoreIpamOptions = {},
  ) {
    if (typeof node !== 'string' || node === '' || node.length > 253 || /[\s/]/.test(node)) {
      throw new PodnetError(E.IPAM_INVALID_REQUEST, `invalid node name ${JSON.stringify(node)}`);
    }
    this.maxAttempts = opts.maxAttempts ?? 20;
    this.opTimeoutMs = opts.opTimeoutMs ?? 30_000;
    this.syncTimeoutMs = opts.syncTimeoutMs ?? 10_000;
    this.index = new BlockIndex(node);
    this.writer = new BlockWriter(store, node, this.index, () => ({ maxAttempts: this.maxAttempts, deadline: Date.now() + this.opTimeoutMs }));
    this.syncer = this.newSyncer();
  }

  /** Lists and starts watching the blocks. Called by every method; call it early to fail fast. */
  async start(): Promise<void> {
    await this.ready();
  }

  /**
   * Graceful stop: new calls fail with DATASTORE_CLOSED, calls already queued finish (bounded by
   * opTimeoutMs), then the watch stops. Does not close the datastore.
   */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.lock.run('stop', this.opTimeoutMs, async () => undefined);
    } finally {
      this.syncer.stop();
    }
  }

  /** True while the handle index follows the datastore (otherwise lookups re-read blocks). */
  get inSync(): boolean {
    return this.syncer.inSync;
  }

  async assign(req: AssignRequest): Promise<readonly Assignment[]> {
    const r = validateAssign(req, this.node);
    return this.op(`assign ${r.handle}`, async (limits) => {
      if (!this.syncer.inSync) await this.refreshAll();
      const existing = this.index.recordsOf(r.handle);
      const held = new Set(existing.map((x) => x.address));
      const heldFamilies = new Set(existing.map((x) => x.family));
      const statics = r.requested.filter((s) => !held.has(s.text));
      const dynamic = r.dynamic.filter((f) => !heldFamilies.has(f));
      if (statics.length === 0 && dynamic.length === 0) return existing.map(toAssignment);
      const pools = await listPools(this.store);
      const done: Assignment[] = [];
      try {
        for (const s of statics) done.push(await this.writer.assignStatic(s, pools, r, limits));
        for (const f of dynamic) done.push(await this.writer.assignDynamic(f, pools, r, limits));
      } catch (e) {
        await this.writer.rollback(r.handle, done, e);
        throw e;
      }
      return sortRecords([...existing.map(toAssignment), ...done]);
    });
  }

  async release(handle: string): Promise<readonly Assignment[]> {
    validateHandle(handle);
    return this.op(`release ${handle}`, async (limits) => {
      if (!this.syncer.inSync) await this.refreshAll();
      let keys = this.index.blockKeysOf(handle);
      // A miss is checked against the node's blocks themselves (a few reads), never trusted blindly.
      if (keys.length === 0) {
        await this.refreshOwn();
        keys = this.index.blockKeysOf(handle);
      }
      const out: AllocationRecord[] = [];
      for (const key of keys) out.push(...(await this.writer.removeWhere(key, (rec) => rec.handle === handle, limits)));
      return sortRecords(out).map(toAssignment);
    });
  }

  async get(handle: string): Promise<readonly AllocationRecord[]> {
    validateHandle(handle);
    await this.ready();
    if (!this.syncer.inSync) await this.refreshAll();
    return this.index.recordsOf(handle);
  }

  async list(node: string): Promise<readonly AllocationRecord[]> {
    await this.ready();
    const out: AllocationRecord[] = [];
    for (const { block } of await this.blocksOf(node)) out.push(...recordsOfBlock(block));
    return out;
  }

  async gc(node: string, keep: (rec: AllocationRecord) => boolean): Promise<readonly AllocationRecord[]> {
    return this.op(`gc of node ${node}`, async (limits) => {
      // Validate every block of the node before changing any.
      const blocks = await this.blocksOf(node);
      const released: AllocationRecord[] = [];
      for (const { entry, block } of blocks) {
        if (recordsOfBlock(block).every(keep)) continue;
        released.push(...(await this.writer.removeWhere(entry.key, (rec) => !keep(rec), limits)));
      }
      return released;
    });
  }

  async usage(): Promise<readonly PoolUsage[]> {
    this.checkOpen();
    const pools = await listPools(this.store);
    const { entries } = await this.store.list(BLOCKS_PREFIX);
    const byPool = new Map<string, BlockInfo[]>(pools.map((p) => [p.name, []]));
    for (const e of entries) {
      const id = parseBlockKey(e.key);
      const pool = id && pools.find((p) => p.name === id.pool);
      if (!id || !pool) continue; // a block of a pool being deleted
      const block = parseBlock(e.value, id);
      const g = fitBlock(pool, block.cidr);
      byPool.get(pool.name)?.push({ cidr: block.cidr, pool: pool.name, node: block.node, size: usableCount(g), used: block.allocations.size });
    }
    return pools.map((pool) => {
      const blocks = (byPool.get(pool.name) ?? []).sort((a, b) => cidrOrder(a.cidr, b.cidr));
      return { pool, size: String(poolUsableCount(pool)), used: blocks.reduce((n, b) => n + b.used, 0), blocks };
    });
  }

  // ---- reads ----

  private async blocksOf(node: string): Promise<{ entry: KvEntry; block: Block }[]> {
    const { entries, revision } = await this.store.list(BLOCKS_PREFIX);
    if (node === this.node) this.index.applySnapshot(entries, revision);
    const marker = `"node":${JSON.stringify(node)}`;
    const out: { entry: KvEntry; block: Block }[] = [];
    for (const entry of entries) {
      const id = parseBlockKey(entry.key);
      if (!id || !entry.value.includes(marker)) continue;
      const block = parseBlock(entry.value, id);
      if (block.node === node) out.push({ entry, block });
    }
    return out.sort((a, b) => (a.block.pool < b.block.pool ? -1 : a.block.pool > b.block.pool ? 1 : cidrOrder(a.block.cidr, b.block.cidr)));
  }

  private async refreshAll(): Promise<void> {
    const { entries, revision } = await this.store.list(BLOCKS_PREFIX);
    this.index.applySnapshot(entries, revision);
  }

  /** Re-reads every block the index believes this node owns. */
  private async refreshOwn(): Promise<void> {
    for (const cb of this.index.ownBlocks()) await this.writer.reload(cb.key);
  }

  // ---- helpers ----

  private newSyncer(): Syncer {
    return new Syncer(
      this.store,
      BLOCKS_PREFIX,
      {
        onSnapshot: (entries, revision) => this.index.applySnapshot(entries, revision),
        onEvents: (events) => this.index.applyEvents(events),
      },
      this.opts.syncer,
    );
  }

  private checkOpen(): void {
    if (this.closed) throw new PodnetError(DE.DATASTORE_CLOSED, `IPAM of node ${this.node} is closed`);
  }

  private async ready(): Promise<void> {
    this.checkOpen();
    if (this.syncer.status === 'failed') {
      // The watch gave up after its retries: start over (calls meanwhile re-read blocks).
      this.syncer = this.newSyncer();
      this.syncer.start();
    }
    if (!this.starting) {
      this.syncer.start();
      this.starting = this.syncer.waitInSync(this.syncTimeoutMs).catch((e: unknown) => {
        this.starting = undefined;
        this.syncer.stop();
        this.syncer = this.newSyncer();
        throw e;
      });
    }
    await this.starting;
  }

  private async op<T>(what: string, fn: (limits: RetryLimits) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.opTimeoutMs;
    await this.ready();
    return this.lock.run(what, Math.max(1, deadline - Date.now()), () => fn({ maxAttempts: this.maxAttempts, deadline }));
  }
}
