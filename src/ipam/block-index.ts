/**
 * The in-memory view of one node's blocks and the handle -> blocks index built from it. Fed by
 * a syncer (snapshots and watch events) and by the node's own writes as they complete; for each
 * key the highest revision wins, so a late watch event never undoes a newer write. Lookups are
 * fast; correctness still comes from the blocks (every write is a CAS on the block's revision).
 */
import type { KvEntry, WatchEvent } from '../datastore/types.js';
import { parseBlockKey } from './keys.js';
import { parseBlock, type Block } from './block.js';
import { addressAt, formatIp, parseCidr, parseIp } from '../common/ip.js';
import type { AllocationRecord } from './types.js';

export interface CachedBlock {
  readonly key: string;
  readonly revision: number;
  readonly block: Block;
}

/** The allocations of a block with their ordinals and as records, in ordinal order. */
export function allocationsOfBlock(b: Block): { ordinal: number; record: AllocationRecord }[] {
  const c = parseCidr(b.cidr);
  if (!c) return [];
  return [...b.allocations.keys()]
    .sort((x, y) => x - y)
    .map((ordinal) => {
      const a = b.allocations.get(ordinal)!;
      const address = formatIp(addressAt(c, BigInt(ordinal)));
      return { ordinal, record: { family: c.family, address, block: b.cidr, pool: b.pool, handle: a.handle, attrs: a.attrs, allocatedAt: a.since } };
    });
}

/** Sorts records IPv4 first, then by address. */
export function sortRecords<T extends { readonly family: number; readonly address: string }>(recs: T[]): T[] {
  const v = (r: T): bigint => parseIp(r.address)?.value ?? 0n;
  return recs.sort((a, b) => a.family - b.family || (v(a) < v(b) ? -1 : v(a) > v(b) ? 1 : 0));
}

/** The allocation records of a block (optionally only those of one handle), in ordinal order. */
export function recordsOfBlock(b: Block, handle?: string): AllocationRecord[] {
  return allocationsOfBlock(b)
    .map((x) => x.record)
    .filter((r) => handle === undefined || r.handle === handle);
}

export class BlockIndex {
  private readonly blocks = new Map<string, CachedBlock>();
  /** Highest revision seen for keys that are not (or no longer) this node's blocks. */
  private readonly gone = new Map<string, number>();
  private readonly byHandle = new Map<string, Set<string>>();
  private readonly marker: string;
  /** Keys whose values failed validation (reported by usage and refused by writes). */
  readonly corrupt = new Map<string, string>();

  constructor(readonly node: string) {
    this.marker = `"node":${JSON.stringify(node)}`;
  }

  /** Replaces the view with the full list of block entries taken at revision. */
  applySnapshot(entries: readonly KvEntry[], revision: number): void {
    const seen = new Set<string>();
    for (const e of entries) {
      seen.add(e.key);
      this.observe(e.key, e.revision, e.value);
    }
    for (const [key, cb] of [...this.blocks]) if (!seen.has(key) && cb.revision <= revision) this.observe(key, revision, undefined);
    for (const [key, rev] of [...this.gone]) if (rev <= revision && !seen.has(key)) this.gone.delete(key);
  }

  applyEvents(events: readonly WatchEvent[]): void {
    for (const ev of events) {
      if (ev.type === 'put') this.observe(ev.entry.key, ev.entry.revision, ev.entry.value);
      else this.observe(ev.key, ev.revision, undefined);
    }
  }

  /** Records the state of key at revision (value undefined = deleted). Older news is ignored. */
  observe(key: string, revision: number, value: string | undefined): void {
    const id = parseBlockKey(key);
    if (!id) return;
    const known = this.blocks.get(key)?.revision ?? this.gone.get(key) ?? 0;
    if (revision <= known) return;
    let block: Block | undefined;
    if (value !== undefined && value.includes(this.marker)) {
      try {
        block = parseBlock(value, id);
        this.corrupt.delete(key);
      } catch (e) {
        this.corrupt.set(key, e instanceof Error ? e.message : String(e));
      }
    }
    this.unindex(key);
    if (block && block.node === this.node) {
      this.blocks.set(key, { key, revision, block });
      this.gone.delete(key);
      for (const a of block.allocations.values()) {
        let s = this.byHandle.get(a.handle);
        if (!s) this.byHandle.set(a.handle, (s = new Set()));
        s.add(key);
      }
    } else {
      this.blocks.delete(key);
      this.gone.set(key, revision);
    }
  }

  observeEntry(e: KvEntry): void {
    this.observe(e.key, e.revision, e.value);
  }

  ownBlocks(): CachedBlock[] {
    return [...this.blocks.values()];
  }

  blockKeysOf(handle: string): string[] {
    return [...(this.byHandle.get(handle) ?? [])];
  }

  /** The handle's records, IPv4 first, then by address. */
  recordsOf(handle: string): AllocationRecord[] {
    const out: AllocationRecord[] = [];
    for (const key of this.blockKeysOf(handle)) {
      const cb = this.blocks.get(key);
      if (cb) out.push(...recordsOfBlock(cb.block, handle));
    }
    return sortRecords(out);
  }

  private unindex(key: string): void {
    const old = this.blocks.get(key);
    if (!old) return;
    for (const a of old.block.allocations.values()) {
      const s = this.byHandle.get(a.handle);
      s?.delete(key);
      if (s && s.size === 0) this.byHandle.delete(a.handle);
    }
  }
}
