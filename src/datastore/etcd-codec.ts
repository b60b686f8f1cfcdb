/**
 * Pure helpers of the etcd adapter: the key namespace, prefix range ends, argument checks and the
 * conversion of etcd's protobuf records (int64 fields arrive as decimal strings) to the port's types.
 *
 * A port key K is stored in etcd at `${prefix}/${K}` (prefix without trailing slashes, default
 * "/podnet"), so keys "a" and "/a" stay distinct and a list or watch of port prefix P is the etcd
 * prefix `${prefix}/${P}`.
 */
import type { IKeyValue } from 'etcd3';
import { PodnetError } from '../common/errors.js';
import { DatastoreErrors as E } from './errors.js';
import { MAX_VALUE_LENGTH, checkKey } from './kv-state.js';
import type { KvEntry } from './types.js';

export const DEFAULT_PREFIX = '/podnet';

export class KeySpace {
  /** `${prefix}/` as bytes: every stored key starts with it. */
  private readonly ns: Buffer;

  constructor(prefix: string = DEFAULT_PREFIX) {
    if (typeof prefix !== 'string' || prefix.includes('\0')) {
      throw new PodnetError(E.DATASTORE_INVALID_ARGUMENT, `invalid etcd key prefix ${JSON.stringify(prefix)}`);
    }
    this.ns = Buffer.from(`${prefix.replace(/\/+$/, '')}/`, 'utf8');
  }

  /** The namespace itself, e.g. "/podnet/". */
  get namespace(): string {
    return this.ns.toString('utf8');
  }

  key(key: string): Buffer {
    checkKey(key);
    return Buffer.concat([this.ns, Buffer.from(key, 'utf8')]);
  }

  /** [start, end) of the etcd keys that carry port prefix p. */
  range(prefix: string): { key: Buffer; rangeEnd: Buffer } {
    if (typeof prefix !== 'string') throw new PodnetError(E.DATASTORE_INVALID_ARGUMENT, 'prefix is not a string');
    const key = Buffer.concat([this.ns, Buffer.from(prefix, 'utf8')]);
    return { key, rangeEnd: prefixEnd(key) };
  }

  /** The port key of a stored key; undefined for keys outside the namespace. */
  unkey(raw: Buffer): string | undefined {
    if (raw.length < this.ns.length || !raw.subarray(0, this.ns.length).equals(this.ns)) return undefined;
    return raw.subarray(this.ns.length).toString('utf8');
  }
}

/** etcd's prefix range end: the key with its last byte below 0xff incremented, the rest dropped. */
export function prefixEnd(key: Buffer): Buffer {
  const end = Buffer.from(key);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** An int64 field (decimal string) as a safe integer. */
export function int(v: string | number | undefined, what: string): number {
  const n = typeof v === 'number' ? v : Number(v ?? 0);
  if (!Number.isSafeInteger(n)) throw new PodnetError(E.DATASTORE_UNAVAILABLE, `etcd returned a malformed ${what}: ${String(v)}`);
  return n;
}

export function entryOf(kv: IKeyValue, key: string): KvEntry {
  const base = {
    key,
    value: kv.value.toString('utf8'),
    revision: int(kv.mod_revision, 'mod_revision'),
    createRevision: int(kv.create_revision, 'create_revision'),
  };
  const lease = leaseOf(kv);
  return lease === undefined ? base : { ...base, lease };
}

/** The lease of a stored key as the port spells it (decimal id), undefined for none. */
export function leaseOf(kv: IKeyValue): string | undefined {
  return kv.lease === undefined || kv.lease === '0' || kv.lease === '' ? undefined : String(kv.lease);
}

export function checkValue(key: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new PodnetError(E.DATASTORE_INVALID_ARGUMENT, `value of ${key} is not a string`);
  if (value.length > MAX_VALUE_LENGTH) {
    throw new PodnetError(E.DATASTORE_INVALID_ARGUMENT, `value of ${key} is ${value.length} characters, over ${MAX_VALUE_LENGTH}`);
  }
}

export function checkRevision(rev: unknown): asserts rev is number {
  if (typeof rev !== 'number' || !Number.isSafeInteger(rev) || rev < 1) {
    throw new PodnetError(E.DATASTORE_INVALID_ARGUMENT, `invalid revision ${String(rev)}: want a positive integer`);
  }
}

const LEASE_RE = /^[1-9][0-9]{0,18}$/;

/**
 * A lease id as etcd's int64 (decimal string). Ids this adapter never handed out cannot name a
 * live lease: they are DATASTORE_LEASE_NOT_FOUND, like an expired one.
 */
export function leaseId(lease: unknown): string {
  if (typeof lease !== 'string' || !LEASE_RE.test(lease) || BigInt(lease) > 0x7fffffffffffffffn) {
    throw new PodnetError(E.DATASTORE_LEASE_NOT_FOUND, `lease ${String(lease)} not found or expired`);
  }
  return lease;
}
