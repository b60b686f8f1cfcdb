/**
 * Flattens ranked boxes (rule matches) into disjoint regions: sweep the address line, and for
 * each stretch where the same boxes are present, split the protocol/port line at their span
 * edges; each piece gets combine(ranks of the boxes covering it). Neighbouring pieces and
 * regions with the same value (same key) merge. Combine decides the semantics: a union for
 * Kubernetes policy, first match for cluster tiers.
 */
import type { Family } from '../../common/ip.js';
import { type AddrInterval, famKey, type PortSpan } from './space.js';
import type { MatchBox, Partition, Region, Span } from './types.js';

export interface RankedBox {
  /** Evaluation rank of the rule the box belongs to (several boxes may share one). */
  readonly rank: number;
  readonly box: MatchBox;
}

export interface Combined<T> {
  readonly value: T;
  /** Equal keys mean equal values (used to merge neighbours). */
  readonly key: string;
}

/** ranks: distinct, ascending. undefined: no value here. */
export type Combine<T> = (ranks: readonly number[]) => Combined<T> | undefined;

interface SpansResult<T> {
  readonly spans: Span<T>[];
  readonly key: string;
}

function linearPartition<T>(items: readonly RankedBox[], active: readonly number[], combine: (ranks: readonly number[]) => Combined<T> | undefined): SpansResult<T> | undefined {
  const bounds = new Set<number>();
  for (const i of active) {
    for (const s of (items[i] as RankedBox).box.spans) {
      bounds.add(s.lo);
      bounds.add(s.hi + 1);
    }
  }
  const b = [...bounds].sort((x, y) => x - y);
  const spans: Span<T>[] = [];
  const keys: string[] = [];
  for (let j = 0; j + 1 < b.length; j++) {
    const at = b[j] as number;
    const end = (b[j + 1] as number) - 1;
    const ranks: number[] = [];
    for (const i of active) {
      const it = items[i] as RankedBox;
      if (it.box.spans.some((s: PortSpan) => at >= s.lo && at <= s.hi) && !ranks.includes(it.rank)) ranks.push(it.rank);
    }
    if (ranks.length === 0) continue;
    ranks.sort((x, y) => x - y);
    const c = combine(ranks);
    if (!c) continue;
    const last = spans[spans.length - 1];
    if (last && last.hi + 1 === at && keys[keys.length - 1] === c.key) {
      spans[spans.length - 1] = { lo: last.lo, hi: end, value: last.value };
    } else {
      spans.push({ lo: at, hi: end, value: c.value });
      keys.push(c.key);
    }
  }
  if (spans.length === 0) return undefined;
  return { spans, key: spans.map((s, k) => `${s.lo}-${s.hi}:${keys[k]}`).join(';') };
}

/**
 * Sweeps the address line of one family. Each item's intervals are sorted and disjoint, so the
 * next event is the smallest head among the items (a k-way merge, no global sort); the items
 * inside at a point are collected in index order during the same scan.
 */
/** Each interval list's end points (hi + 1), computed once per list (boxes are shared and memoised). */
const endsCache = new WeakMap<readonly AddrInterval[], readonly bigint[]>();
function endsOf(list: readonly AddrInterval[]): readonly bigint[] {
  let e = endsCache.get(list);
  if (!e) endsCache.set(list, (e = list.map((iv) => iv.hi + 1n)));
  return e;
}

function familyRegions<T>(items: readonly RankedBox[], family: Family, combine: (ranks: readonly number[]) => Combined<T> | undefined): Region<T>[] {
  const f = famKey(family);
  const live: number[] = [];
  items.forEach((it, i) => {
    if (it.box.addresses[f].length > 0) live.push(i);
  });
  if (live.length === 0) return [];
  if (live.length === 1) return singleItem(items, live[0] as number, (items[live[0] as number] as RankedBox).box.addresses[f], combine);
  // Dense per-live-item state; the active set is a bit mask while it fits in 30 bits.
  const n = live.length;
  const lists = live.map((i) => (items[i] as RankedBox).box.addresses[f]);
  const ends = lists.map(endsOf);
  const ptr = new Array<number>(n).fill(0);
  const inside = new Array<boolean>(n).fill(false);
  const nxt = lists.map((l) => (l[0] as AddrInterval).lo as bigint | undefined);
  const small = n <= 30;
  const memoMask = new Map<number, SpansResult<T> | null>();
  const memoKey = new Map<string, SpansResult<T> | null>();
  const resultFor = (mask: number): SpansResult<T> | null => {
    let key = '';
    if (small) {
      const hit = memoMask.get(mask);
      if (hit !== undefined) return hit;
    } else {
      for (let j = 0; j < n; j++) if (inside[j]) key += `${j},`;
      const hit = memoKey.get(key);
      if (hit !== undefined) return hit;
    }
    const active: number[] = [];
    for (let j = 0; j < n; j++) if (inside[j]) active.push(live[j] as number);
    const res = linearPartition(items, active, combine) ?? null;
    if (small) memoMask.set(mask, res);
    else memoKey.set(key, res);
    return res;
  };
  const regions: Region<T>[] = [];
  let lastRes: SpansResult<T> | null = null;
  let mask = 0;
  let count = 0;
  let at: bigint | undefined;
  for (let j = 0; j < n; j++) {
    const v = nxt[j];
    if (v !== undefined && (at === undefined || v < at)) at = v;
  }
  while (at !== undefined) {
    let next: bigint | undefined;
    for (let j = 0; j < n; j++) {
      if (nxt[j] === at) {
        const l = lists[j] as readonly AddrInterval[];
        if (inside[j]) {
          const p = (ptr[j] as number) + 1;
          ptr[j] = p;
          const iv = l[p];
          // The next interval may start right where this one ended.
          if (iv !== undefined && iv.lo === at) nxt[j] = (ends[j] as readonly bigint[])[p];
          else {
            inside[j] = false;
            count--;
            if (small) mask &= ~(1 << j);
            nxt[j] = iv?.lo;
          }
        } else {
          inside[j] = true;
          count++;
          if (small) mask |= 1 << j;
          nxt[j] = (ends[j] as readonly bigint[])[ptr[j] as number];
        }
      }
      const v = nxt[j];
      if (v !== undefined && (next === undefined || v < next)) next = v;
    }
    if (next === undefined) break;
    if (count > 0) {
      const res = resultFor(mask);
      if (res !== null) {
        const last = regions[regions.length - 1];
        if (last && lastRes === res && last.hi + 1n === at) regions[regions.length - 1] = { lo: last.lo, hi: next - 1n, spans: last.spans };
        else if (last && lastRes !== null && lastRes.key === res.key && last.hi + 1n === at) regions[regions.length - 1] = { lo: last.lo, hi: next - 1n, spans: last.spans };
        else regions.push({ lo: at, hi: next - 1n, spans: res.spans });
        lastRes = res;
      }
    }
    at = next;
  }
  return regions;
}

/** One box present: its intervals, each with the same spans (neighbours merged). */
function singleItem<T>(items: readonly RankedBox[], i: number, list: readonly AddrInterval[], combine: (ranks: readonly number[]) => Combined<T> | undefined): Region<T>[] {
  const res = linearPartition(items, [i], combine);
  if (!res) return [];
  const out: Region<T>[] = [];
  for (const iv of list) {
    const last = out[out.length - 1];
    if (last && last.hi + 1n === iv.lo) out[out.length - 1] = { lo: last.lo, hi: iv.hi, spans: res.spans };
    else out.push({ lo: iv.lo, hi: iv.hi, spans: res.spans });
  }
  return out;
}

export function buildPartition<T>(items: readonly RankedBox[], combine: Combine<T>): Partition<T> {
  const memo = new Map<string, Combined<T> | null>();
  const cached = (ranks: readonly number[]): Combined<T> | undefined => {
    const k = ranks.join(',');
    let r = memo.get(k);
    if (r === undefined) {
      r = combine(ranks) ?? null;
      memo.set(k, r);
    }
    return r ?? undefined;
  };
  return { v4: familyRegions(items, 4, cached), v6: familyRegions(items, 6, cached) };
}

/** The value at (family, address, linear protocol/port), by binary search. */
export function lookupPartition<T>(p: Partition<T>, family: Family, addr: bigint, lin: number): T | undefined {
  const regions = p[famKey(family)];
  let lo = 0;
  let hi = regions.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = regions[mid] as Region<T>;
    if (addr < r.lo) hi = mid - 1;
    else if (addr > r.hi) lo = mid + 1;
    else {
      for (const s of r.spans) if (lin >= s.lo && lin <= s.hi) return s.value;
      return undefined;
    }
  }
  return undefined;
}
