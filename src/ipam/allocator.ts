/**
 * Allocation decisions, pure: the geometry of a block inside its pool (which ordinals exist and
 * which are reserved), the next free ordinal, and the first unclaimed block of a pool.
 */
import { addressAt, bitsOf, parseIp, cidrContains, cidrContainsCidr, cidrSize, formatCidr, formatIp, hostMask, offsetOf, parseCidr, subnetAt, subnetCount, type Cidr, type Family, type Ip } from '../common/ip.js';
import type { Block } from './block.js';
import type { IpPool } from './types.js';
import { poolCidr } from './pool.js';

export interface BlockGeometry {
  readonly family: Family;
  readonly pool: Cidr;
  readonly block: Cidr;
  /** Addresses in the block. */
  readonly size: number;
  /** Ordinals never handed out: the pool's network address, for IPv4 its broadcast address, and the pool's gateway. */
  readonly reserved: ReadonlySet<number>;
}

/** Geometry of block cidr in pool; undefined when the block does not belong to the pool's layout. */
export function geometry(pool: IpPool, blockCidr: string): BlockGeometry | undefined {
  const p = poolCidr(pool);
  const b = parseCidr(blockCidr);
  if (!b || b.prefix !== pool.blockSize || !cidrContainsCidr(p, b) || formatCidr(b) !== blockCidr) return undefined;
  if ((b.ip.value & hostMask(b.family, b.prefix)) !== 0n) return undefined;
  const reserved = new Set<number>();
  const net = p.ip.value;
  if (cidrContains(b, p.ip)) reserved.add(Number(net - b.ip.value));
  if (p.family === 4) {
    const bcast = net + cidrSize(p) - 1n;
    if (cidrContains(b, { family: 4, value: bcast })) reserved.add(Number(bcast - b.ip.value));
  }
  const gw = pool.gateway !== undefined ? parseIp(pool.gateway) : undefined;
  if (gw && cidrContains(b, gw)) reserved.add(Number(gw.value - b.ip.value));
  return { family: p.family, pool: p, block: b, size: Number(cidrSize(b)), reserved };
}

export function usableCount(g: BlockGeometry): number {
  return g.size - g.reserved.size;
}

export function freeCount(b: Block, g: BlockGeometry): number {
  return usableCount(g) - b.allocations.size;
}

/** The next free ordinal after the block's cursor (wrapping), or undefined when the block is full. */
export function nextFreeOrdinal(b: Block, g: BlockGeometry): number | undefined {
  for (let i = 1; i <= g.size; i++) {
    const o = (b.cursor + i) % g.size;
    if (!g.reserved.has(o) && !b.allocations.has(o)) return o;
  }
  return undefined;
}

export function addressOfOrdinal(g: BlockGeometry, ordinal: number): string {
  return formatIp(addressAt(g.block, BigInt(ordinal)));
}

/** Ordinal of ip in the block, or -1 when outside. */
export function ordinalOf(g: BlockGeometry, ip: Ip): number {
  return Number(offsetOf(g.block, ip));
}

/** The CIDR of the pool's block containing ip (ip must be inside the pool). */
export function blockCidrOf(pool: IpPool, ip: Ip): string {
  const p = poolCidr(pool);
  const index = offsetOf(p, ip) >> BigInt(bitsOf(p.family) - pool.blockSize);
  return formatCidr(subnetAt(p, pool.blockSize, index));
}

/**
 * The first block of the pool (lowest address) that is not in `taken` and has a usable
 * address, or undefined when every block is claimed. Looks at no more than |taken| + 3 blocks,
 * so it is cheap even for an IPv6 pool of 2^60 blocks.
 */
export function firstUnclaimedBlock(pool: IpPool, taken: ReadonlySet<string>): string | undefined {
  const p = poolCidr(pool);
  const count = subnetCount(p, pool.blockSize);
  const limit = BigInt(taken.size + 3);
  for (let i = 0n; i < count && i < limit; i++) {
    const cidr = formatCidr(subnetAt(p, pool.blockSize, i));
    if (taken.has(cidr)) continue;
    const g = geometry(pool, cidr);
    if (g && usableCount(g) > 0) return cidr;
  }
  return undefined;
}

/** Usable addresses of a pool (all minus network, for IPv4 broadcast, and the gateway). */
export function poolUsableCount(pool: IpPool): bigint {
  const p = poolCidr(pool);
  return cidrSize(p) - (p.family === 4 ? 2n : 1n) - (pool.gateway !== undefined ? 1n : 0n);
}

/** Orders CIDR strings by network address. */
export function cidrOrder(a: string, b: string): number {
  const x = parseCidr(a)?.ip.value ?? 0n;
  const y = parseCidr(b)?.ip.value ?? 0n;
  return x < y ? -1 : x > y ? 1 : 0;
}
