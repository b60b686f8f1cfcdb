/** Total orders that make the calculation's output independent of the input's iteration order. */
import { type Cidr, parseCidr, parseIp } from '../common/ip.js';

const ipKey = (s: string): [number, bigint] => {
  const ip = parseIp(s);
  return ip ? [ip.family, ip.value] : [99, 0n];
};

const cidrKey = (s: string): [number, bigint, number] => {
  const c = parseCidr(s);
  return c ? [c.family, c.ip.value, c.prefix] : [99, 0n, 0];
};

const cmp = <T extends number | bigint>(a: T, b: T): number => (a < b ? -1 : a > b ? 1 : 0);

/** IPv4 before IPv6, then by network address, then by prefix length. */
export function compareCidr(a: string, b: string): number {
  const [fa, va, pa] = cidrKey(a);
  const [fb, vb, pb] = cidrKey(b);
  return cmp(fa, fb) || cmp(va, vb) || cmp(pa, pb) || (a < b ? -1 : a > b ? 1 : 0);
}

export const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Sorts by a CIDR-valued field, parsing each item's CIDR once (decorate, sort, undecorate). */
export function sortByCidr<T>(items: Iterable<T>, cidrOf: (t: T) => string, tieBreak: (a: T, b: T) => number = () => 0): T[] {
  const decorated = [...items].map((item) => ({ item, text: cidrOf(item), key: cidrKey(cidrOf(item)) }));
  decorated.sort((a, b) => cmp(a.key[0], b.key[0]) || cmp(a.key[1], b.key[1]) || cmp(a.key[2], b.key[2]) || compareText(a.text, b.text) || tieBreak(a.item, b.item));
  return decorated.map((d) => d.item);
}

/** Sorts by an address-valued field, parsing each address once. */
export function sortByIp<T>(items: Iterable<T>, ipOf: (t: T) => string): T[] {
  const decorated = [...items].map((item) => ({ item, text: ipOf(item), key: ipKey(ipOf(item)) }));
  decorated.sort((a, b) => cmp(a.key[0], b.key[0]) || cmp(a.key[1], b.key[1]) || compareText(a.text, b.text));
  return decorated.map((d) => d.item);
}

/** Sorts items whose CIDR is already parsed: by family, network value, prefix, then `tie`. */
export function sortParsed<T>(items: readonly { readonly item: T; readonly cidr: Cidr }[], tie: (a: T, b: T) => number = () => 0): T[] {
  return [...items]
    .sort((a, b) => cmp(a.cidr.family, b.cidr.family) || cmp(a.cidr.ip.value, b.cidr.ip.value) || cmp(a.cidr.prefix, b.cidr.prefix) || tie(a.item, b.item))
    .map((x) => x.item);
}
