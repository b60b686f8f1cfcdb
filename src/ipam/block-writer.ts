/**
 * The writes of IPAM, each one CAS of one block: claiming a block (create-if-absent, with the
 * first allocation in it), assigning a dynamic or static address, removing allocations, and
 * undoing a failed assign. Used by DatastoreIpam, which serialises the calls of one node.
 */
import { PodnetError, isPodnetError } from '../common/errors.js';
import { cidrContains, formatCidr, type Family } from '../common/ip.js';
import type { Datastore, KvEntry } from '../datastore/types.js';
import { DatastoreErrors as DE } from '../datastore/errors.js';
import { IpamErrors as E } from './errors.js';
import { blockKey, parseBlockKey, poolBlocksPrefix } from './keys.js';
import { newBlock, parseBlock, serializeBlock, withAllocation, withoutOrdinals, type Allocation, type Block } from './block.js';
import { addressOfOrdinal, blockCidrOf, cidrOrder, firstUnclaimedBlock, geometry, nextFreeOrdinal, ordinalOf, type BlockGeometry } from './allocator.js';
import { poolCidr } from './pool.js';
import { allocationsOfBlock, type BlockIndex } from './block-index.js';
import type { NormalizedAssign, StaticAddress } from './request.js';
import { RETRY, retryCas, type RetryLimits, type Step } from './retry.js';
import type { AllocationRecord, Assignment, IpPool } from './types.js';

const isRetryable = (e: unknown): boolean => isPodnetError(e, DE.DATASTORE_CONFLICT) || isPodnetError(e, DE.DATASTORE_NOT_FOUND);

/** The geometry of a block of pool; IPAM_BLOCK_CORRUPT when the block does not fit the pool. */
export function fitBlock(pool: IpPool, cidr: string): BlockGeometry {
  const g = geometry(pool, cidr);
  if (!g) throw new PodnetError(E.IPAM_BLOCK_CORRUPT, `block ${cidr} does not fit pool ${pool.name} (${pool.cidr} in /${pool.blockSize} blocks)`);
  return g;
}

export class BlockWriter {
  constructor(
    private readonly store: Datastore,
    readonly node: string,
    private readonly index: BlockIndex,
    private readonly rollbackLimits: () => RetryLimits,
  ) {}

  async assignDynamic(f: Family, pools: readonly IpPool[], r: NormalizedAssign, limits: RetryLimits): Promise<Assignment> {
    const candidates = this.candidatePools(pools, f, r.pools);
    return retryCas(`assign an IPv${f} address to ${r.handle}`, limits, async () => {
      for (const pool of candidates) {
        const own = this.index
          .ownBlocks()
          .filter((cb) => cb.block.pool === pool.name)
          .sort((a, b) => cidrOrder(a.block.cidr, b.block.cidr));
        for (const cb of own) {
          const g = geometry(pool, cb.block.cidr);
          const o = g && nextFreeOrdinal(cb.block, g);
          if (!g || o === undefined) continue;
          return (await this.casUpdate(cb, withAllocation(cb.block, o, this.allocation(r), true))) ? this.assignment(pool, g, o) : RETRY;
        }
      }
      for (const pool of candidates) {
        const claimed = await this.claimAndAssign(pool, r);
        if (claimed !== undefined) return claimed;
      }
      const names = candidates.map((p) => `${p.name} (${p.cidr})`).join(', ');
      throw new PodnetError(
        E.IPAM_POOL_EXHAUSTED,
        `no free IPv${f} address for ${r.handle}: the blocks of node ${this.node} in pool(s) ${names} are full and no unclaimed block is left`,
      );
    });
  }

  /** Claims the pool's first unclaimed block with the allocation in it; undefined when none is left. */
  private async claimAndAssign(pool: IpPool, r: NormalizedAssign): Promise<Step<Assignment> | undefined> {
    const { entries } = await this.store.list(poolBlocksPrefix(pool.name));
    const taken = new Set<string>();
    for (const e of entries) {
      const id = parseBlockKey(e.key);
      if (!id) throw new PodnetError(E.IPAM_BLOCK_CORRUPT, `unexpected key ${e.key} among the blocks of pool ${pool.name}`);
      fitBlock(pool, id.cidr);
      taken.add(id.cidr);
      this.index.observeEntry(e);
    }
    // The view of our own blocks was stale and one of them has room after all: use it.
    if (this.index.ownBlocks().some((cb) => cb.block.pool === pool.name && this.hasRoom(pool, cb.block))) return RETRY;
    const cidr = firstUnclaimedBlock(pool, taken);
    if (!cidr) return undefined;
    const g = fitBlock(pool, cidr);
    const fresh = newBlock(cidr, pool.name, this.node);
    const o = nextFreeOrdinal(fresh, g) as number;
    try {
      this.index.observeEntry(await this.store.create(blockKey(pool.name, cidr), serializeBlock(withAllocation(fresh, o, this.allocation(r), true))));
    } catch (e) {
      if (isPodnetError(e, DE.DATASTORE_ALREADY_EXISTS)) return RETRY; // another node claimed it first
      throw e;
    }
    return this.assignment(pool, g, o);
  }

  async assignStatic(s: StaticAddress, pools: readonly IpPool[], r: NormalizedAssign, limits: RetryLimits): Promise<Assignment> {
    const allowed = r.pools ? pools.filter((p) => r.pools?.includes(p.name)) : pools;
    const pool = allowed.find((p) => cidrContains(poolCidr(p), s.ip));
    if (!pool) {
      const among = r.pools ? ` among pools ${r.pools.join(', ')}` : '';
      throw new PodnetError(E.IPAM_NO_POOL, `requested address ${s.text} is not inside any pool${among}`);
    }
    if (pool.disabled) throw new PodnetError(E.IPAM_NO_POOL, `requested address ${s.text} is in pool ${pool.name}, which is disabled`);
    const cidr = blockCidrOf(pool, s.ip);
    const g = fitBlock(pool, cidr);
    const o = ordinalOf(g, s.ip);
    if (g.reserved.has(o)) {
      throw new PodnetError(E.IPAM_ADDRESS_UNAVAILABLE, `requested address ${s.text} is the network or broadcast address of pool ${pool.name} (${pool.cidr})`);
    }
    const key = blockKey(pool.name, cidr);
    return retryCas(`assign ${s.text} to ${r.handle}`, limits, async () => {
      const e = await this.store.get(key);
      if (!e) {
        try {
          this.index.observeEntry(await this.store.create(key, serializeBlock(withAllocation(newBlock(cidr, pool.name, this.node), o, this.allocation(r), false))));
          return this.assignment(pool, g, o);
        } catch (err) {
          if (isPodnetError(err, DE.DATASTORE_ALREADY_EXISTS)) return RETRY;
          throw err;
        }
      }
      this.index.observeEntry(e);
      const block = parseBlock(e.value, { pool: pool.name, cidr });
      if (block.node !== this.node) {
        throw new PodnetError(E.IPAM_ADDRESS_UNAVAILABLE, `requested address ${s.text} is in block ${cidr}, which belongs to node ${block.node}`);
      }
      const holder = block.allocations.get(o);
      if (holder?.handle === r.handle) return this.assignment(pool, g, o);
      if (holder) {
        const pod = holder.attrs.pod ? ` (pod ${holder.attrs.namespace ?? ''}/${holder.attrs.pod})` : '';
        throw new PodnetError(E.IPAM_ADDRESS_UNAVAILABLE, `requested address ${s.text} is held by ${holder.handle}${pod} on node ${block.node}`);
      }
      return (await this.casUpdate({ key, revision: e.revision }, withAllocation(block, o, this.allocation(r), false))) ? this.assignment(pool, g, o) : RETRY;
    });
  }

  /** Undoes the parts of a failed assign; a failure to undo is added to the error's message. */
  async rollback(handle: string, done: readonly Assignment[], cause: unknown): Promise<void> {
    const limits = this.rollbackLimits();
    const failures: string[] = [];
    for (const a of done) {
      try {
        await this.removeWhere(blockKey(a.pool, a.block), (rec) => rec.handle === handle && rec.address === a.address, limits);
      } catch (e) {
        failures.push(`${a.address}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (failures.length > 0 && cause instanceof Error) {
      cause.message += `; rolling back also failed (a DEL or GC will release them): ${failures.join('; ')}`;
    }
  }

  /** CAS update; undefined (after re-reading the block) when someone else changed it first. */
  private async casUpdate(at: { readonly key: string; readonly revision: number }, next: Block): Promise<KvEntry | undefined> {
    try {
      const e = await this.store.update(at.key, serializeBlock(next), at.revision);
      this.index.observeEntry(e);
      return e;
    } catch (err) {
      if (!isRetryable(err)) throw err;
      await this.reload(at.key);
      return undefined;
    }
  }

  /** Removes the allocations of the block at key that match pred; returns them. */
  async removeWhere(key: string, pred: (rec: AllocationRecord) => boolean, limits: RetryLimits): Promise<AllocationRecord[]> {
    const id = parseBlockKey(key);
    if (!id) return [];
    return retryCas(`release from block ${id.cidr}`, limits, async () => {
      const e = await this.store.get(key);
      if (!e) return [];
      const block = parseBlock(e.value, id);
      this.index.observeEntry(e);
      const victims = allocationsOfBlock(block).filter((x) => pred(x.record));
      if (victims.length === 0) return [];
      return (await this.casUpdate({ key, revision: e.revision }, withoutOrdinals(block, victims.map((v) => v.ordinal)))) ? victims.map((v) => v.record) : RETRY;
    });
  }

  async reload(key: string): Promise<void> {
    const { entries, revision } = await this.store.list(key);
    const e = entries.find((x) => x.key === key);
    if (e) this.index.observeEntry(e);
    else this.index.observe(key, revision, undefined);
  }

  private candidatePools(pools: readonly IpPool[], f: Family, names: readonly string[] | undefined): IpPool[] {
    let chosen: IpPool[];
    if (names) {
      chosen = names.map((n) => {
        const p = pools.find((x) => x.name === n);
        if (!p) throw new PodnetError(E.IPAM_NO_POOL, `pool ${n} does not exist`);
        return p;
      });
    } else {
      chosen = [...pools];
    }
    const usable = chosen.filter((p) => poolCidr(p).family === f && !p.disabled);
    if (usable.length === 0) {
      const among = names ? ` among pools ${names.join(', ')}` : '';
      throw new PodnetError(E.IPAM_NO_POOL, `no enabled IPv${f} pool${among}`);
    }
    return usable;
  }

  private hasRoom(pool: IpPool, b: Block): boolean {
    const g = geometry(pool, b.cidr);
    return g !== undefined && nextFreeOrdinal(b, g) !== undefined;
  }

  private allocation(r: NormalizedAssign): Allocation {
    return { handle: r.handle, attrs: r.attrs, since: Date.now() };
  }

  private assignment(pool: IpPool, g: BlockGeometry, ordinal: number): Assignment {
    return { family: g.family, address: addressOfOrdinal(g, ordinal), block: formatCidr(g.block), pool: pool.name };
  }
}
