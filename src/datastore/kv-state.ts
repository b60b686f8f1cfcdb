/**
 * The state machine behind the memory and embedded adapters: keys, the store-wide revision and
 * leases. Pure and synchronous. Every change is first planned (validated against the current
 * state, which throws the datastore's PodnetErrors) into a KvRecord, then applied. The embedded
 * adapter writes the same records to its write-ahead log and replays them on open, so apply()
 * is strict: a record that does not follow the state is a corruption, not a user error.
 */
import { PodnetError } from '../common/errors.js';
import { DatastoreErrors as E } from './errors.js';
import type { KvEntry, WatchEvent } from './types.js';

export type KvRecord =
  | { readonly t: 'put'; readonly seq: number; readonly rev: number; readonly k: string; readonly v: string; readonly l?: string }
  | { readonly t: 'del'; readonly seq: number; readonly rev: number; readonly k: string }
  /** Grant or renewal: the lease's TTL and its absolute deadline (ms since the epoch). */
  | { readonly t: 'lease'; readonly seq: number; readonly id: string; readonly ttl: number; readonly exp: number }
  /** Revocation or expiry: deletes the lease and its keys at revision `rev` (unchanged when it had no keys). */
  | { readonly t: 'revoke'; readonly seq: number; readonly id: string; readonly rev: number };

export interface LeaseSnapshot {
  readonly id: string;
  readonly ttl: number;
  readonly exp: number;
}

export interface StateSnapshot {
  /** Sequence number of the last record reflected. */
  readonly seq: number;
  readonly revision: number;
  readonly entries: readonly KvEntry[];
  readonly leases: readonly LeaseSnapshot[];
}

interface LeaseState {
  readonly id: string;
  ttl: number;
  exp: number;
  readonly keys: Set<string>;
}

export const MAX_KEY_LENGTH = 4096;
/** etcd's default request limit is 1.5 MiB; stay below it so every adapter accepts the same values. */
export const MAX_VALUE_LENGTH = 1_400_000;
/** setTimeout's limit is 2^31-1 ms; a lease never needs to be longer than a week. */
export const MAX_LEASE_TTL_SECONDS = 7 * 24 * 3600;

export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new PodnetError(E.DATASTORE_INVALID_ARGUMENT, `invalid key ${JSON.stringify(key)}: want 1-${MAX_KEY_LENGTH} characters`);
  }
}

function checkValue(key: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new PodnetError(E.DATASTORE_INVALID_ARGUMENT, `value of ${key} is not a string`);
  if (value.length > MAX_VALUE_LENGTH) {
    throw new PodnetError(E.DATASTORE_INVALID_ARGUMENT, `value of ${key} is ${value.length} characters, over ${MAX_VALUE_LENGTH}`);
  }
}

function checkRevision(rev: unknown): asserts rev is number {
  if (typeof rev !== 'number' || !Number.isSafeInteger(rev) || rev < 1) {
    throw new PodnetError(E.DATASTORE_INVALID_ARGUMENT, `invalid revision ${String(rev)}: want a positive integer`);
  }
}

export function checkTtl(ttl: unknown): asserts ttl is number {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_LEASE_TTL_SECONDS) {
    throw new PodnetError(E.DATASTORE_INVALID_ARGUMENT, `invalid lease TTL ${String(ttl)}: want 1-${MAX_LEASE_TTL_SECONDS} seconds`);
  }
}

export class KvState {
  private rev = 0;
  private lastSeq = 0;
  private readonly entries = new Map<string, KvEntry>();
  private readonly leases = new Map<string, LeaseState>();

  get revision(): number {
    return this.rev;
  }

  get seq(): number {
    return this.lastSeq;
  }

  get(key: string): KvEntry | undefined {
    return this.entries.get(key);
  }

  /** Entries whose key starts with prefix, sorted by key. */
  list(prefix: string): KvEntry[] {
    const out: KvEntry[] = [];
    for (const e of this.entries.values()) if (e.key.startsWith(prefix)) out.push(e);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  get size(): number {
    return this.entries.size;
  }

  lease(id: string): LeaseSnapshot | undefined {
    const l = this.leases.get(id);
    return l && { id: l.id, ttl: l.ttl, exp: l.exp };
  }

  leaseIds(): string[] {
    return [...this.leases.keys()];
  }

  // ---- planning: validate against the current state, return the record to apply ----

  planCreate(key: string, value: string, lease?: string): KvRecord {
    checkKey(key);
    checkValue(key, value);
    if (this.entries.has(key)) throw new PodnetError(E.DATASTORE_ALREADY_EXISTS, `key ${key} already exists`);
    this.checkLease(lease);
    return this.put(key, value, lease);
  }

  planUpdate(key: string, value: string, expectedRevision: number, lease?: string): KvRecord {
    checkKey(key);
    checkValue(key, value);
    checkRevision(expectedRevision);
    const cur = this.entries.get(key);
    if (!cur) throw new PodnetError(E.DATASTORE_NOT_FOUND, `key ${key} does not exist`);
    if (cur.revision !== expectedRevision) {
      throw new PodnetError(E.DATASTORE_CONFLICT, `key ${key} is at revision ${cur.revision}, not ${expectedRevision}`);
    }
    this.checkLease(lease);
    return this.put(key, value, lease);
  }

  /** undefined when the key does not exist. */
  planDelete(key: string, expectedRevision?: number): KvRecord | undefined {
    checkKey(key);
    if (expectedRevision !== undefined) checkRevision(expectedRevision);
    const cur = this.entries.get(key);
    if (!cur) return undefined;
    if (expectedRevision !== undefined && cur.revision !== expectedRevision) {
      throw new PodnetError(E.DATASTORE_CONFLICT, `key ${key} is at revision ${cur.revision}, not ${expectedRevision}`);
    }
    return { t: 'del', seq: this.lastSeq + 1, rev: this.rev + 1, k: key };
  }

  planGrant(id: string, ttl: number, now: number): KvRecord {
    checkTtl(ttl);
    if (this.leases.has(id)) throw new PodnetError(E.DATASTORE_ALREADY_EXISTS, `lease ${id} already exists`);
    return { t: 'lease', seq: this.lastSeq + 1, id, ttl, exp: now + ttl * 1000 };
  }

  planRenew(id: string, now: number): KvRecord {
    const l = this.leases.get(id);
    if (!l || l.exp <= now) throw new PodnetError(E.DATASTORE_LEASE_NOT_FOUND, `lease ${id} not found or expired`);
    return { t: 'lease', seq: this.lastSeq + 1, id, ttl: l.ttl, exp: now + l.ttl * 1000 };
  }

  /** undefined when the lease does not exist. */
  planRevoke(id: string): KvRecord | undefined {
    const l = this.leases.get(id);
    if (!l) return undefined;
    return { t: 'revoke', seq: this.lastSeq + 1, id, rev: l.keys.size > 0 ? this.rev + 1 : this.rev };
  }

  private put(key: string, value: string, lease?: string): KvRecord {
    const base = { t: 'put' as const, seq: this.lastSeq + 1, rev: this.rev + 1, k: key, v: value };
    return lease === undefined ? base : { ...base, l: lease };
  }

  private checkLease(lease: string | undefined): void {
    if (lease === undefined) return;
    if (typeof lease !== 'string' || !this.leases.has(lease)) {
      throw new PodnetError(E.DATASTORE_LEASE_NOT_FOUND, `lease ${String(lease)} not found or expired`);
    }
  }

  // ---- applying ----

  /** Applies a record planned on this state (or replayed from a log). Throws a plain Error when it does not follow. */
  apply(rec: KvRecord): WatchEvent[] {
    if (rec.seq !== this.lastSeq + 1) throw new Error(`record seq ${rec.seq} does not follow ${this.lastSeq}`);
    let events: WatchEvent[];
    switch (rec.t) {
      case 'put':
        events = this.applyPut(rec.k, rec.v, rec.rev, rec.l);
        break;
      case 'del':
        events = this.applyDelete(rec.k, rec.rev);
        break;
      case 'lease':
        events = this.applyLease(rec.id, rec.ttl, rec.exp);
        break;
      case 'revoke':
        events = this.applyRevoke(rec.id, rec.rev);
        break;
      default:
        throw new Error(`unknown record type ${JSON.stringify((rec as { t?: unknown }).t)}`);
    }
    this.lastSeq = rec.seq;
    return events;
  }

  private applyPut(key: string, value: string, rev: number, lease: string | undefined): WatchEvent[] {
    if (rev !== this.rev + 1) throw new Error(`put of ${key} at revision ${rev} does not follow ${this.rev}`);
    const prev = this.entries.get(key);
    if (lease !== undefined && !this.leases.has(lease)) throw new Error(`put of ${key} names unknown lease ${lease}`);
    if (prev?.lease !== undefined) this.leases.get(prev.lease)?.keys.delete(key);
    if (lease !== undefined) this.leases.get(lease)?.keys.add(key);
    const base = { key, value, revision: rev, createRevision: prev ? prev.createRevision : rev };
    const entry: KvEntry = lease === undefined ? base : { ...base, lease };
    this.entries.set(key, entry);
    this.rev = rev;
    return [{ type: 'put', entry }];
  }

  private applyDelete(key: string, rev: number): WatchEvent[] {
    if (rev !== this.rev + 1) throw new Error(`delete of ${key} at revision ${rev} does not follow ${this.rev}`);
    const prev = this.entries.get(key);
    if (!prev) throw new Error(`delete of missing key ${key}`);
    if (prev.lease !== undefined) this.leases.get(prev.lease)?.keys.delete(key);
    this.entries.delete(key);
    this.rev = rev;
    return [{ type: 'delete', key, revision: rev }];
  }

  private applyLease(id: string, ttl: number, exp: number): WatchEvent[] {
    if (typeof id !== 'string' || id === '') throw new Error('lease record without id');
    if (!Number.isInteger(ttl) || ttl < 1 || !Number.isSafeInteger(exp)) throw new Error(`lease ${id}: bad ttl/deadline`);
    const l = this.leases.get(id);
    if (l) {
      l.ttl = ttl;
      l.exp = exp;
    } else {
      this.leases.set(id, { id, ttl, exp, keys: new Set() });
    }
    return [];
  }

  private applyRevoke(id: string, rev: number): WatchEvent[] {
    const l = this.leases.get(id);
    if (!l) throw new Error(`revoke of unknown lease ${id}`);
    const expected = l.keys.size > 0 ? this.rev + 1 : this.rev;
    if (rev !== expected) throw new Error(`revoke of ${id} at revision ${rev}, expected ${expected}`);
    const events: WatchEvent[] = [];
    for (const key of [...l.keys].sort()) {
      this.entries.delete(key);
      events.push({ type: 'delete', key, revision: rev });
    }
    this.leases.delete(id);
    this.rev = rev;
    return events;
  }

  // ---- snapshots ----

  snapshot(): StateSnapshot {
    return {
      seq: this.lastSeq,
      revision: this.rev,
      entries: [...this.entries.values()],
      leases: [...this.leases.values()].map((l) => ({ id: l.id, ttl: l.ttl, exp: l.exp })),
    };
  }

  /** Rebuilds a state; throws a plain Error describing the first inconsistency. */
  static fromSnapshot(s: StateSnapshot): KvState {
    const st = new KvState();
    if (!Number.isSafeInteger(s.seq) || s.seq < 0) throw new Error(`bad snapshot seq ${String(s.seq)}`);
    if (!Number.isSafeInteger(s.revision) || s.revision < 0) throw new Error(`bad snapshot revision ${String(s.revision)}`);
    st.lastSeq = s.seq;
    st.rev = s.revision;
    for (const l of s.leases) {
      if (typeof l.id !== 'string' || l.id === '' || st.leases.has(l.id)) throw new Error(`bad or duplicate lease ${String(l.id)}`);
      if (!Number.isInteger(l.ttl) || l.ttl < 1 || !Number.isSafeInteger(l.exp)) throw new Error(`lease ${l.id}: bad ttl/deadline`);
      st.leases.set(l.id, { id: l.id, ttl: l.ttl, exp: l.exp, keys: new Set() });
    }
    for (const e of s.entries) {
      if (typeof e.key !== 'string' || e.key === '' || st.entries.has(e.key)) throw new Error(`bad or duplicate key ${String(e.key)}`);
      if (typeof e.value !== 'string') throw new Error(`key ${e.key}: value is not a string`);
      const okRev = Number.isSafeInteger(e.revision) && e.revision >= 1 && e.revision <= s.revision;
      const okCreate = Number.isSafeInteger(e.createRevision) && e.createRevision >= 1 && e.createRevision <= e.revision;
      if (!okRev || !okCreate) throw new Error(`key ${e.key}: revisions ${e.createRevision}/${e.revision} outside 1..${s.revision}`);
      const base = { key: e.key, value: e.value, revision: e.revision, createRevision: e.createRevision };
      if (e.lease !== undefined) {
        const l = st.leases.get(e.lease);
        if (!l) throw new Error(`key ${e.key} names unknown lease ${e.lease}`);
        l.keys.add(e.key);
        st.entries.set(e.key, { ...base, lease: e.lease });
      } else {
        st.entries.set(e.key, base);
      }
    }
    return st;
  }
}
