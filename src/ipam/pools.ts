/**
 * Pool administration on the datastore: create (validated, no overlap), list, get, update
 * (only natOutgoing and disabled), delete (disabled and empty only).
 */
import { PodnetError, isPodnetError } from '../common/errors.js';
import { cidrsOverlap } from '../common/ip.js';
import type { Datastore, KvEntry } from '../datastore/types.js';
import { DatastoreErrors as DE } from '../datastore/errors.js';
import { IpamErrors as E } from './errors.js';
import { BLOCKS_PREFIX, POOLS_PREFIX, parseBlockKey, poolBlocksPrefix, poolKey } from './keys.js';
import { parsePool, poolCidr, samePool, serializePool, validatePool, validatePoolName, type PoolInput } from './pool.js';
import { parseBlock } from './block.js';
import { RETRY, retryCas } from './retry.js';
import type { IpPool } from './types.js';

const LIMITS = (): { maxAttempts: number; deadline: number } => ({ maxAttempts: 20, deadline: Date.now() + 15_000 });

interface StoredPool {
  readonly pool: IpPool;
  readonly entry: KvEntry;
}

async function listStored(store: Datastore): Promise<StoredPool[]> {
  const { entries } = await store.list(POOLS_PREFIX);
  return entries.map((entry) => ({ entry, pool: parsePool(entry.key.slice(POOLS_PREFIX.length), entry.value) }));
}

/** Every pool, sorted by name. Throws IPAM_INVALID_POOL if a stored pool is damaged. */
export async function listPools(store: Datastore): Promise<IpPool[]> {
  return (await listStored(store)).map((s) => s.pool);
}

export async function getPool(store: Datastore, name: string): Promise<IpPool | undefined> {
  validatePoolName(name);
  const e = await store.get(poolKey(name));
  return e && parsePool(name, e.value);
}

function overlapError(p: IpPool, other: IpPool): PodnetError {
  return new PodnetError(E.IPAM_INVALID_POOL, `pool ${p.name} (${p.cidr}) overlaps pool ${other.name} (${other.cidr})`);
}

/**
 * Creates a pool. Idempotent: an identical existing pool is returned as it is.
 * Throws IPAM_INVALID_POOL (validation, overlap), IPAM_POOL_EXISTS (same name, different
 * definition), IPAM_POOL_IN_USE (blocks of a deleted pool of that name remain).
 */
export async function createPool(store: Datastore, input: PoolInput): Promise<IpPool> {
  const pool = validatePool(input);
  const cidr = poolCidr(pool);
  return retryCas(`create pool ${pool.name}`, LIMITS(), async () => {
    const existing = await listStored(store);
    const same = existing.find((s) => s.pool.name === pool.name);
    if (same) {
      if (samePool(same.pool, pool)) return same.pool;
      throw new PodnetError(E.IPAM_POOL_EXISTS, `pool ${pool.name} exists as ${serializePool(same.pool)}`);
    }
    const other = existing.find((s) => cidrsOverlap(poolCidr(s.pool), cidr));
    if (other) throw overlapError(pool, other.pool);
    const leftovers = (await store.list(poolBlocksPrefix(pool.name))).entries.length;
    if (leftovers > 0) throw new PodnetError(E.IPAM_POOL_IN_USE, `${leftovers} blocks of an earlier pool ${pool.name} remain`);
    let mine: KvEntry;
    try {
      mine = await store.create(poolKey(pool.name), serializePool(pool));
    } catch (e) {
      if (isPodnetError(e, DE.DATASTORE_ALREADY_EXISTS)) return RETRY;
      throw e;
    }
    // Two overlapping pools created at the same time both passed the check above: the one
    // created later (higher create revision) withdraws.
    const rival = (await listStored(store)).find(
      (s) => s.pool.name !== pool.name && cidrsOverlap(poolCidr(s.pool), cidr) && s.entry.createRevision < mine.createRevision,
    );
    if (rival) {
      await store.delete(mine.key, mine.revision).catch(() => undefined);
      throw overlapError(pool, rival.pool);
    }
    return pool;
  });
}

/** Changes natOutgoing and/or disabled. Throws IPAM_NO_POOL when the pool does not exist. */
export async function updatePool(store: Datastore, name: string, patch: { readonly natOutgoing?: boolean; readonly disabled?: boolean }): Promise<IpPool> {
  validatePoolName(name);
  return retryCas(`update pool ${name}`, LIMITS(), async () => {
    const e = await store.get(poolKey(name));
    if (!e) throw new PodnetError(E.IPAM_NO_POOL, `pool ${name} does not exist`);
    const next = validatePool({ ...parsePool(name, e.value), ...patch });
    try {
      await store.update(e.key, serializePool(next), e.revision);
      return next;
    } catch (err) {
      if (isPodnetError(err, DE.DATASTORE_CONFLICT) || isPodnetError(err, DE.DATASTORE_NOT_FOUND)) return RETRY;
      throw err;
    }
  });
}

/**
 * Deletes a disabled pool that holds no allocation: its empty blocks first, the pool last (so
 * an interrupted delete can be repeated). Returns false when there was no such pool.
 * Throws IPAM_POOL_IN_USE when the pool is enabled or an address is still allocated.
 */
export async function deletePool(store: Datastore, name: string): Promise<boolean> {
  validatePoolName(name);
  return retryCas(`delete pool ${name}`, LIMITS(), async () => {
    const e = await store.get(poolKey(name));
    if (!e) return false;
    if (!parsePool(name, e.value).disabled) throw new PodnetError(E.IPAM_POOL_IN_USE, `pool ${name} is enabled: disable it first`);
    for (const b of (await store.list(poolBlocksPrefix(name))).entries) {
      const id = parseBlockKey(b.key);
      const used = id ? parseBlock(b.value, id).allocations.size : 0;
      if (used > 0) throw new PodnetError(E.IPAM_POOL_IN_USE, `pool ${name}: block ${id?.cidr} still has ${used} allocations`);
      try {
        await store.delete(b.key, b.revision);
      } catch (err) {
        if (isPodnetError(err, DE.DATASTORE_CONFLICT)) return RETRY;
        throw err;
      }
    }
    try {
      return await store.delete(e.key, e.revision);
    } catch (err) {
      if (isPodnetError(err, DE.DATASTORE_CONFLICT)) return RETRY;
      throw err;
    }
  });
}

/**
 * Deletes the blocks owned by node that hold no allocation (node removed from the cluster, or
 * returning unused blocks to the pool). CAS per block: a block that gained an allocation
 * meanwhile is kept. Returns the CIDRs deleted.
 */
export async function releaseEmptyBlocks(store: Datastore, node: string): Promise<string[]> {
  const out: string[] = [];
  for (const b of (await store.list(BLOCKS_PREFIX)).entries) {
    const id = parseBlockKey(b.key);
    if (!id) continue;
    const block = parseBlock(b.value, id);
    if (block.node !== node || block.allocations.size > 0) continue;
    try {
      if (await store.delete(b.key, b.revision)) out.push(id.cidr);
    } catch (err) {
      if (!isPodnetError(err, DE.DATASTORE_CONFLICT)) throw err;
    }
  }
  return out;
}
