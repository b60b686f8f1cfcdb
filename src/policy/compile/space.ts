/**
 * The spaces rules are made of. Addresses: per family, sorted disjoint intervals of bigint.
 * Protocol and port: one linear space, proto * 65536 + port (0 .. 2^24 - 1), so that "TCP 80-81",
 * "all of UDP" and "every protocol" are all plain intervals ("spans").
 */
import { bitsOf, type Cidr, type Family, type Ip, networkOf, parseCidr, parseIp } from '../../common/ip.js';
import type { IpBlock, Protocol } from '../../model/k8s.js';

export interface AddrInterval {
  readonly lo: bigint;
  readonly hi: bigint;
}

/** Sorted, disjoint, non-adjacent intervals per family. */
export interface AddrSet {
  readonly v4: readonly AddrInterval[];
  readonly v6: readonly AddrInterval[];
}

/** An interval of the linear protocol/port space. */
export interface PortSpan {
  readonly lo: number;
  readonly hi: number;
}

export const PROTO_NUMBER: Readonly<Record<Protocol, number>> = { TCP: 6, UDP: 17, SCTP: 132 };
export const PORT_COUNT = 65536;
export const LINEAR_MAX = 256 * PORT_COUNT - 1;
export const ALL_SPANS: readonly PortSpan[] = Object.freeze([{ lo: 0, hi: LINEAR_MAX }]);

export const linear = (proto: number, port: number): number => proto * PORT_COUNT + port;
export const protoSpan = (proto: number, lo = 0, hi = PORT_COUNT - 1): PortSpan => ({ lo: linear(proto, lo), hi: linear(proto, hi) });

export const famKey = (f: Family): 'v4' | 'v6' => (f === 4 ? 'v4' : 'v6');
export const maxAddr = (f: Family): bigint => (1n << BigInt(bitsOf(f))) - 1n;

export const NO_ADDRESSES: AddrSet = Object.freeze({ v4: Object.freeze([]), v6: Object.freeze([]) });
export const ALL_ADDRESSES: AddrSet = Object.freeze({
  v4: Object.freeze([{ lo: 0n, hi: maxAddr(4) }]),
  v6: Object.freeze([{ lo: 0n, hi: maxAddr(6) }]),
});

export function cidrInterval(c: Cidr): AddrInterval {
  const n = networkOf(c);
  const size = 1n << BigInt(bitsOf(c.family) - c.prefix);
  return { lo: n.ip.value, hi: n.ip.value + size - 1n };
}

/** Sorts and merges overlapping or adjacent intervals. */
export function mergeIntervals(list: readonly AddrInterval[]): AddrInterval[] {
  if (list.length <= 1) return [...list];
  const s = [...list].sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const out: AddrInterval[] = [];
  let cur = s[0] as AddrInterval;
  for (let i = 1; i < s.length; i++) {
    const x = s[i] as AddrInterval;
    if (x.lo <= cur.hi + 1n) {
      if (x.hi > cur.hi) cur = { lo: cur.lo, hi: x.hi };
    } else {
      out.push(cur);
      cur = x;
    }
  }
  out.push(cur);
  return out;
}

/** a minus b, both sorted and disjoint. */
export function subtractIntervals(a: readonly AddrInterval[], b: readonly AddrInterval[]): AddrInterval[] {
  const out: AddrInterval[] = [];
  let j = 0;
  for (const x of a) {
    let lo = x.lo;
    while (j < b.length && (b[j] as AddrInterval).hi < lo) j++;
    let k = j;
    while (k < b.length && (b[k] as AddrInterval).lo <= x.hi) {
      const y = b[k] as AddrInterval;
      if (y.lo > lo) out.push({ lo, hi: y.lo - 1n });
      lo = y.hi + 1n;
      k++;
    }
    if (lo <= x.hi) out.push({ lo, hi: x.hi });
  }
  return out;
}

export function unionAddrSets(sets: readonly AddrSet[]): AddrSet {
  if (sets.length === 1) return sets[0] as AddrSet;
  return { v4: mergeIntervals(sets.flatMap((s) => s.v4)), v6: mergeIntervals(sets.flatMap((s) => s.v6)) };
}

/** Addresses of parsed IPs (pod IPs). */
export function addrSetOfAddrs(ips: readonly Ip[]): AddrSet {
  const v4: AddrInterval[] = [];
  const v6: AddrInterval[] = [];
  for (const ip of ips) (ip.family === 4 ? v4 : v6).push({ lo: ip.value, hi: ip.value });
  return { v4: mergeIntervals(v4), v6: mergeIntervals(v6) };
}

/** Addresses of IP strings (unparsable ones are skipped). */
export function addrSetOfIps(ips: readonly string[]): AddrSet {
  return addrSetOfAddrs(ips.map(parseIp).filter((ip): ip is Ip => ip !== undefined));
}

/** An ipBlock's addresses: cidr minus every except, as disjoint intervals. */
export function ipBlockAddrSet(b: IpBlock): AddrSet {
  const c = parseCidr(b.cidr);
  if (!c) return NO_ADDRESSES;
  const except = mergeIntervals(b.except.map(parseCidr).filter((e): e is Cidr => e !== undefined && e.family === c.family).map(cidrInterval));
  const ranges = subtractIntervals([cidrInterval(c)], except);
  return c.family === 4 ? { v4: ranges, v6: [] } : { v4: [], v6: ranges };
}

export function intervalsContain(list: readonly AddrInterval[], v: bigint): boolean {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const x = list[mid] as AddrInterval;
    if (v < x.lo) hi = mid - 1;
    else if (v > x.hi) lo = mid + 1;
    else return true;
  }
  return false;
}

export function addrSetContains(s: AddrSet, family: Family, v: bigint): boolean {
  return intervalsContain(s[famKey(family)], v);
}

export const isEmptyAddrSet = (s: AddrSet): boolean => s.v4.length === 0 && s.v6.length === 0;

/** Sorts and merges overlapping or adjacent spans. */
export function mergeSpans(list: readonly PortSpan[]): PortSpan[] {
  if (list.length <= 1) return [...list];
  const s = [...list].sort((a, b) => a.lo - b.lo);
  const out: PortSpan[] = [];
  let cur = s[0] as PortSpan;
  for (let i = 1; i < s.length; i++) {
    const x = s[i] as PortSpan;
    if (x.lo <= cur.hi + 1) {
      if (x.hi > cur.hi) cur = { lo: cur.lo, hi: x.hi };
    } else {
      out.push(cur);
      cur = x;
    }
  }
  out.push(cur);
  return out;
}

export function spansContain(list: readonly PortSpan[], v: number): boolean {
  for (const s of list) if (v >= s.lo && v <= s.hi) return true;
  return false;
}

/** A span as (protocol range, port range) boxes, the shape nftables matches. */
export interface ProtoPortBox {
  readonly protoLo: number;
  readonly protoHi: number;
  readonly portLo: number;
  readonly portHi: number;
}

export function spanBoxes(s: PortSpan): ProtoPortBox[] {
  const pa = Math.floor(s.lo / PORT_COUNT);
  const pb = Math.floor(s.hi / PORT_COUNT);
  const oa = s.lo % PORT_COUNT;
  const ob = s.hi % PORT_COUNT;
  if (pa === pb) return [{ protoLo: pa, protoHi: pa, portLo: oa, portHi: ob }];
  const out: ProtoPortBox[] = [];
  let first = pa;
  let last = pb;
  if (oa !== 0) {
    out.push({ protoLo: pa, protoHi: pa, portLo: oa, portHi: PORT_COUNT - 1 });
    first = pa + 1;
  }
  if (ob !== PORT_COUNT - 1) last = pb - 1;
  if (first <= last) out.push({ protoLo: first, protoHi: last, portLo: 0, portHi: PORT_COUNT - 1 });
  if (ob !== PORT_COUNT - 1) out.push({ protoLo: pb, protoHi: pb, portLo: 0, portHi: ob });
  return out;
}
