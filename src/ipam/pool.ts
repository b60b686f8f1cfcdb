/**
 * Pool definitions: validation, defaults and (de)serialisation. Pure.
 * A pool is a canonical network CIDR carved into blocks of `blockSize`.
 */
import { PodnetError } from '../common/errors.js';
import { bitsOf, cidrContains, formatCidr, formatIp, networkOf, parseCidr, parseIp, type Cidr } from '../common/ip.js';
import { IpamErrors as E } from './errors.js';
import type { IpPool } from './types.js';

export interface PoolInput {
  readonly name: string;
  readonly cidr: string;
  /** Default 26 for IPv4, 122 for IPv6. */
  readonly blockSize?: number;
  /** Default true. */
  readonly natOutgoing?: boolean;
  /** Default false. */
  readonly disabled?: boolean;
  /** An address inside the pool kept for another plugin's gateway (podnet-ipam); never assigned. */
  readonly gateway?: string;
}

const NAME_RE = /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/;
export const DEFAULT_BLOCK_SIZE = { 4: 26, 6: 122 } as const;
/** Largest blocks (fewest prefix bits): 4096 addresses, so that a block record stays small. */
export const MIN_BLOCK_PREFIX = { 4: 20, 6: 116 } as const;

function invalid(msg: string): PodnetError {
  return new PodnetError(E.IPAM_INVALID_POOL, msg);
}

export function validatePoolName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw invalid(`invalid pool name ${JSON.stringify(name)}: want 1-63 of a-z, 0-9, '-', '.', starting and ending alphanumeric`);
  }
}

/** Validates a pool definition and fills in defaults. Throws IPAM_INVALID_POOL. */
export function validatePool(input: PoolInput): IpPool {
  validatePoolName(input.name);
  const c = typeof input.cidr === 'string' ? parseCidr(input.cidr) : undefined;
  if (!c) throw invalid(`pool ${input.name}: invalid CIDR ${JSON.stringify(input.cidr)}`);
  const canonical = formatCidr(networkOf(c));
  if (canonical !== input.cidr) throw invalid(`pool ${input.name}: CIDR ${input.cidr} is not canonical; did you mean ${canonical}?`);
  const maxPrefix = bitsOf(c.family) - (c.family === 4 ? 2 : 1);
  if (c.prefix > maxPrefix) throw invalid(`pool ${input.name}: /${c.prefix} leaves no usable address (the network${c.family === 4 ? ' and broadcast' : ''} address is never assigned)`);
  const blockSize = input.blockSize ?? DEFAULT_BLOCK_SIZE[c.family];
  const lo = Math.max(c.prefix, MIN_BLOCK_PREFIX[c.family]);
  if (!Number.isInteger(blockSize) || blockSize < lo || blockSize > bitsOf(c.family)) {
    throw invalid(`pool ${input.name}: block size /${String(blockSize)} must be within /${lo}../${bitsOf(c.family)} for ${input.cidr}`);
  }
  for (const f of ['natOutgoing', 'disabled'] as const) {
    if (input[f] !== undefined && typeof input[f] !== 'boolean') throw invalid(`pool ${input.name}: ${f} must be a boolean`);
  }
  let gateway: string | undefined;
  if (input.gateway !== undefined) {
    const gw = typeof input.gateway === 'string' ? parseIp(input.gateway) : undefined;
    if (!gw || !cidrContains(c, gw)) throw invalid(`pool ${input.name}: gateway ${JSON.stringify(input.gateway)} must be an address inside ${canonical}`);
    gateway = formatIp(gw);
  }
  return {
    name: input.name,
    cidr: canonical,
    blockSize,
    natOutgoing: input.natOutgoing ?? true,
    disabled: input.disabled ?? false,
    ...(gateway !== undefined ? { gateway } : {}),
  };
}

export function poolCidr(p: IpPool): Cidr {
  const c = parseCidr(p.cidr);
  if (!c) throw invalid(`pool ${p.name}: invalid CIDR ${p.cidr}`);
  return c;
}

export function serializePool(p: IpPool): string {
  return JSON.stringify({ name: p.name, cidr: p.cidr, blockSize: p.blockSize, natOutgoing: p.natOutgoing, disabled: p.disabled, ...(p.gateway !== undefined ? { gateway: p.gateway } : {}) });
}

/** Parses a stored pool record (key name given); throws IPAM_INVALID_POOL when it is damaged. */
export function parsePool(name: string, value: string): IpPool {
  let x: unknown;
  try {
    x = JSON.parse(value);
  } catch {
    throw invalid(`stored pool ${name} is not JSON`);
  }
  if (typeof x !== 'object' || x === null) throw invalid(`stored pool ${name} is not an object`);
  const o = x as Record<string, unknown>;
  if (o.name !== name) throw invalid(`stored pool ${name} names itself ${JSON.stringify(o.name)}`);
  const p = validatePool(o as unknown as PoolInput);
  if (o.blockSize === undefined || o.natOutgoing === undefined || o.disabled === undefined) throw invalid(`stored pool ${name} lacks fields`);
  return p;
}

export function samePool(a: IpPool, b: IpPool): boolean {
  return serializePool(a) === serializePool(b);
}
