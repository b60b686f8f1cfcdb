/**
 * The block record: one datastore value per block, holding the owning node (affinity) and the
 * allocations by ordinal. An assignment or release is one compare-and-swap of one block. Pure.
 *
 * Stored form (unknown fields, from a newer version, are preserved on rewrite):
 *   {"v":1,"cidr":"10.244.0.64/26","pool":"default-ipv4","node":"node-a","cursor":5,
 *    "allocations":{"5":{"handle":"<containerId>/eth0","since":1700000000000,"attrs":{...}}}}
 * `cursor` is the last ordinal handed out dynamically: the next search starts after it, so a
 * released address is not reused at once while others are free.
 */
import { PodnetError } from '../common/errors.js';
import { bitsOf, parseCidr } from '../common/ip.js';
import { IpamErrors as E } from './errors.js';
import type { AllocationAttrs } from './types.js';

export const BLOCK_VERSION = 1;

export interface Allocation {
  readonly handle: string;
  readonly attrs: AllocationAttrs;
  /** When the address was assigned (ms since the epoch). */
  readonly since: number;
}

export interface Block {
  readonly cidr: string;
  readonly pool: string;
  readonly node: string;
  readonly cursor: number;
  readonly allocations: ReadonlyMap<number, Allocation>;
  /** Fields this version does not know, kept as they were. */
  readonly extra: Readonly<Record<string, unknown>>;
}

const KNOWN = new Set(['v', 'cidr', 'pool', 'node', 'cursor', 'allocations']);
const ATTR_STRINGS = ['containerId', 'ifname', 'node'] as const;
const ATTR_OPTIONAL_STRINGS = ['namespace', 'pod', 'network'] as const;

export function blockSizeOf(cidr: string): number {
  const c = parseCidr(cidr);
  if (!c) throw new RangeError(`bad block CIDR ${cidr}`);
  return 2 ** (bitsOf(c.family) - c.prefix);
}

export function newBlock(cidr: string, pool: string, node: string): Block {
  return { cidr, pool, node, cursor: -1, allocations: new Map(), extra: {} };
}

export function withAllocation(b: Block, ordinal: number, a: Allocation, advanceCursor: boolean): Block {
  if (b.allocations.has(ordinal)) throw new Error(`internal: ordinal ${ordinal} of ${b.cidr} is taken`);
  const allocations = new Map(b.allocations);
  allocations.set(ordinal, a);
  return { ...b, allocations, cursor: advanceCursor ? ordinal : b.cursor };
}

export function withoutOrdinals(b: Block, ordinals: Iterable<number>): Block {
  const allocations = new Map(b.allocations);
  for (const o of ordinals) allocations.delete(o);
  return { ...b, allocations };
}

export function ordinalsOf(b: Block, handle: string): number[] {
  const out: number[] = [];
  for (const [o, a] of b.allocations) if (a.handle === handle) out.push(o);
  return out;
}

export function serializeBlock(b: Block): string {
  const allocations: Record<string, unknown> = {};
  for (const o of [...b.allocations.keys()].sort((x, y) => x - y)) {
    const a = b.allocations.get(o) as Allocation;
    allocations[String(o)] = { handle: a.handle, since: a.since, attrs: a.attrs };
  }
  const known = { v: BLOCK_VERSION, cidr: b.cidr, pool: b.pool, node: b.node, cursor: b.cursor, allocations };
  return JSON.stringify({ ...known, ...Object.fromEntries(Object.entries(b.extra).filter(([k]) => !KNOWN.has(k))) });
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

export function validateAttrs(x: unknown): AllocationAttrs | string {
  if (!isObj(x)) return 'attrs is not an object';
  for (const f of ATTR_STRINGS) if (typeof x[f] !== 'string') return `attrs.${f} is not a string`;
  for (const f of ATTR_OPTIONAL_STRINGS) if (x[f] !== undefined && typeof x[f] !== 'string') return `attrs.${f} is not a string`;
  if (x.plugin !== undefined && x.plugin !== 'cni' && x.plugin !== 'ipam' && x.plugin !== 'tunnel') return `attrs.plugin is ${JSON.stringify(x.plugin)}`;
  return x as unknown as AllocationAttrs;
}

/** Parses a stored block; expect = what its key says. Throws IPAM_BLOCK_CORRUPT. */
export function parseBlock(value: string, expect: { readonly pool: string; readonly cidr: string }): Block {
  const bad = (why: string): PodnetError => new PodnetError(E.IPAM_BLOCK_CORRUPT, `block ${expect.cidr} of pool ${expect.pool}: ${why}`);
  let x: unknown;
  try {
    x = JSON.parse(value);
  } catch {
    throw bad('not JSON');
  }
  if (!isObj(x)) throw bad('not an object');
  if (x.v !== BLOCK_VERSION) throw bad(`unsupported record version ${JSON.stringify(x.v)} (written by a newer podnet?)`);
  if (x.cidr !== expect.cidr || x.pool !== expect.pool) throw bad(`record says ${String(x.cidr)} of ${String(x.pool)}`);
  if (typeof x.node !== 'string' || x.node === '') throw bad('no owner node');
  const size = blockSizeOf(expect.cidr);
  if (typeof x.cursor !== 'number' || !Number.isInteger(x.cursor) || x.cursor < -1 || x.cursor >= size) throw bad(`bad cursor ${String(x.cursor)}`);
  if (!isObj(x.allocations)) throw bad('allocations is not an object');
  const allocations = new Map<number, Allocation>();
  for (const [k, v] of Object.entries(x.allocations)) {
    const o = Number(k);
    if (!/^(0|[1-9]\d*)$/.test(k) || o >= size) throw bad(`ordinal ${k} outside 0..${size - 1}`);
    if (!isObj(v) || typeof v.handle !== 'string' || v.handle === '') throw bad(`ordinal ${k}: no handle`);
    if (typeof v.since !== 'number' || !Number.isSafeInteger(v.since) || v.since < 0) throw bad(`ordinal ${k}: bad since`);
    const attrs = validateAttrs(v.attrs);
    if (typeof attrs === 'string') throw bad(`ordinal ${k}: ${attrs}`);
    allocations.set(o, { handle: v.handle, attrs, since: v.since });
  }
  const extra: Obj = {};
  for (const [k, v] of Object.entries(x)) if (!KNOWN.has(k)) extra[k] = v;
  return { cidr: expect.cidr, pool: expect.pool, node: x.node, cursor: x.cursor, allocations, extra };
}
