/**
 * IPv4/IPv6 address and CIDR math. Pure, no I/O. Addresses are held as bigint so that one
 * code path serves both families.
 */

export type Family = 4 | 6;

export interface Ip {
  readonly family: Family;
  readonly value: bigint;
}

export interface Cidr {
  readonly family: Family;
  /** The address as written (may have host bits set, e.g. "10.0.0.5/24"). */
  readonly ip: Ip;
  readonly prefix: number;
}

export const bitsOf = (f: Family): number => (f === 4 ? 32 : 128);

const V4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseV4(s: string): bigint | undefined {
  const m = V4_RE.exec(s);
  if (!m) return undefined;
  let v = 0n;
  for (let i = 1; i <= 4; i++) {
    const part = m[i] as string;
    if (part.length > 1 && part.startsWith('0')) return undefined; // no octal-looking octets
    const n = Number(part);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (s.length < 2 || s.length > 45 || s.includes('%')) return undefined;
  let tail = s;
  let v4tail: bigint | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    v4tail = parseV4(s.slice(lastColon + 1));
    if (v4tail === undefined) return undefined;
    tail = s.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = tail.indexOf('::');
  if (dbl !== tail.lastIndexOf('::')) return undefined;
  const splitGroups = (p: string): string[] | undefined => (p === '' ? [] : p.split(':'));
  let groups: string[];
  if (dbl >= 0) {
    const head = splitGroups(tail.slice(0, dbl));
    const rest = splitGroups(tail.slice(dbl + 2));
    if (!head || !rest) return undefined;
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return undefined;
    groups = [...head, ...Array<string>(missing).fill('0'), ...rest];
  } else {
    groups = tail.split(':');
  }
  if (groups.length !== 8) return undefined;
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  if (v4tail !== undefined) v = (v & ~0xffffffffn) | v4tail;
  return v;
}

export function parseIp(s: string): Ip | undefined {
  if (typeof s !== 'string') return undefined;
  const v4 = parseV4(s);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseV6(s);
  if (v6 !== undefined) return { family: 6, value: v6 };
  return undefined;
}

export function formatIp(ip: Ip): string {
  if (ip.family === 4) {
    const v = ip.value;
    return [24n, 16n, 8n, 0n].map((sh) => String((v >> sh) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (length >= 2) of zero groups, leftmost on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function parseCidr(s: string): Cidr | undefined {
  if (typeof s !== 'string') return undefined;
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const p = s.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(p)) return undefined;
  const prefix = Number(p);
  if (prefix > bitsOf(ip.family)) return undefined;
  return { family: ip.family, ip, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.ip)}/${c.prefix}`;
}

export function hostMask(family: Family, prefix: number): bigint {
  return (1n << BigInt(bitsOf(family) - prefix)) - 1n;
}

/** The network address of a CIDR (host bits cleared). */
export function networkOf(c: Cidr): Cidr {
  return { family: c.family, ip: { family: c.family, value: c.ip.value & ~hostMask(c.family, c.prefix) }, prefix: c.prefix };
}

export function isNetworkAddress(c: Cidr): boolean {
  return (c.ip.value & hostMask(c.family, c.prefix)) === 0n;
}

export function cidrSize(c: Cidr): bigint {
  return 1n << BigInt(bitsOf(c.family) - c.prefix);
}

export function cidrContains(c: Cidr, ip: Ip): boolean {
  if (c.family !== ip.family) return false;
  const m = ~hostMask(c.family, c.prefix);
  return (c.ip.value & m) === (ip.value & m);
}

export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && inner.prefix >= outer.prefix && cidrContains(outer, inner.ip);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && (cidrContains(a, b.ip) || cidrContains(b, a.ip));
}

/** The n-th address of the CIDR's network (0 = network address). */
export function addressAt(c: Cidr, n: bigint): Ip {
  if (n < 0n || n >= cidrSize(c)) throw new RangeError(`offset ${n} outside ${formatCidr(c)}`);
  return { family: c.family, value: networkOf(c).ip.value + n };
}

/** Offset of ip inside c's network, or -1n when outside. */
export function offsetOf(c: Cidr, ip: Ip): bigint {
  if (!cidrContains(c, ip)) return -1n;
  return ip.value - networkOf(c).ip.value;
}

/** The i-th sub-network of length newPrefix inside c. */
export function subnetAt(c: Cidr, newPrefix: number, i: bigint): Cidr {
  if (newPrefix < c.prefix || newPrefix > bitsOf(c.family)) throw new RangeError(`bad subnet prefix /${newPrefix}`);
  const count = 1n << BigInt(newPrefix - c.prefix);
  if (i < 0n || i >= count) throw new RangeError(`subnet index ${i} outside ${formatCidr(c)}`);
  const base = networkOf(c).ip.value + (i << BigInt(bitsOf(c.family) - newPrefix));
  return { family: c.family, ip: { family: c.family, value: base }, prefix: newPrefix };
}

export function subnetCount(c: Cidr, newPrefix: number): bigint {
  return 1n << BigInt(newPrefix - c.prefix);
}

export function ipEquals(a: Ip, b: Ip): boolean {
  return a.family === b.family && a.value === b.value;
}

/** Canonical text of an address string, or undefined when it does not parse. */
export function canonicalIp(s: string): string | undefined {
  const ip = parseIp(s);
  return ip && formatIp(ip);
}

/** Canonical network text of a CIDR string ("10.0.0.5/24" -> "10.0.0.0/24"). */
export function canonicalNetwork(s: string): string | undefined {
  const c = parseCidr(s);
  return c && formatCidr(networkOf(c));
}

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
export function isMac(s: string): boolean {
  return MAC_RE.test(s);
}

/** A MAC an interface can carry: well-formed, not multicast/broadcast, not all zeros. */
export function isUnicastMac(s: string): boolean {
  return isMac(s) && (parseInt(s.slice(0, 2), 16) & 1) === 0 && s !== '00:00:00:00:00:00';
}
