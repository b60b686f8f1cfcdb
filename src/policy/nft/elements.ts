/**
 * Partitions -> set and map elements. The provenance a partition keeps is dropped here, so that
 * neighbouring pieces merge: per address region the spans are projected (allowed, or a verdict),
 * merged, and regions with equal projections merge. A region whose projection covers every
 * protocol and port becomes an address-only element (no transport header needed to match it);
 * the rest become "address . protocol . port" elements. All elements are disjoint, as nft
 * requires of interval sets.
 */
import { bitsOf, type Family, formatIp } from '../../common/ip.js';
import { LINEAR_MAX, mergeSpans, type PortSpan, type ProtoPortBox, spanBoxes } from '../compile/space.js';
import type { Region } from '../compile/types.js';

export function addrText(family: Family, lo: bigint, hi: bigint): string {
  const size = hi - lo + 1n;
  const bits = bitsOf(family);
  if ((size & (size - 1n)) === 0n && lo % size === 0n) {
    const host = size.toString(2).length - 1;
    const a = formatIp({ family, value: lo });
    return host === 0 ? a : `${a}/${bits - host}`;
  }
  return `${formatIp({ family, value: lo })}-${formatIp({ family, value: hi })}`;
}

const range = (lo: number, hi: number): string => (lo === hi ? String(lo) : `${lo}-${hi}`);
export const boxText = (b: ProtoPortBox): string => `${range(b.protoLo, b.protoHi)} . ${range(b.portLo, b.portHi)}`;

export interface Elements {
  /** Address-only elements: key -> value ("" for plain sets). */
  readonly addrOnly: ReadonlyMap<string, string>;
  /** "address . protocol . port" elements: key -> value. */
  readonly concat: ReadonlyMap<string, string>;
}

interface Projected {
  readonly lo: bigint;
  readonly hi: bigint;
  readonly spans: readonly { readonly lo: number; readonly hi: number; readonly v: string }[];
  readonly key: string;
}

function project<T>(regions: readonly Region<T>[], valueOf: (v: T) => string | undefined): Projected[] {
  const out: Projected[] = [];
  for (const r of regions) {
    const spans: { lo: number; hi: number; v: string }[] = [];
    for (const s of r.spans) {
      const v = valueOf(s.value);
      if (v === undefined) continue;
      const last = spans[spans.length - 1];
      if (last && last.hi + 1 === s.lo && last.v === v) last.hi = s.hi;
      else spans.push({ lo: s.lo, hi: s.hi, v });
    }
    if (spans.length === 0) continue;
    const key = spans.map((s) => `${s.lo}-${s.hi}:${s.v}`).join(';');
    const prev = out[out.length - 1];
    if (prev && prev.hi + 1n === r.lo && prev.key === key) out[out.length - 1] = { ...prev, hi: r.hi };
    else out.push({ lo: r.lo, hi: r.hi, spans, key });
  }
  return out;
}

function toElements(family: Family, projected: readonly Projected[]): Elements {
  const addrOnly = new Map<string, string>();
  const concat = new Map<string, string>();
  for (const p of projected) {
    const a = addrText(family, p.lo, p.hi);
    const only = p.spans[0];
    if (p.spans.length === 1 && only && only.lo === 0 && only.hi === LINEAR_MAX) {
      addrOnly.set(a, only.v);
      continue;
    }
    for (const s of p.spans) for (const b of spanBoxes(s as PortSpan)) concat.set(`${a} . ${boxText(b)}`, s.v);
  }
  return { addrOnly, concat };
}

/** Allowed regions as set elements (values ""). Spans of a region merge whatever rules allowed them. */
export function allowElements<T>(family: Family, regions: readonly Region<T>[]): Elements {
  const merged = regions.map((r) => ({ lo: r.lo, hi: r.hi, spans: mergeSpans(r.spans).map((s) => ({ lo: s.lo, hi: s.hi, value: '' })) }));
  return toElements(family, project(merged, (v) => v));
}

/** Decision regions as verdict-map elements; verdictOf returns undefined where no element is needed. */
export function verdictElements<T>(family: Family, regions: readonly Region<T>[], verdictOf: (v: T) => string | undefined): Elements {
  return toElements(family, project(regions, verdictOf));
}
