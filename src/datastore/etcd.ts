/**
 * The etcd v3 adapter of the datastore port, for clusters of many nodes.
 *
 * It maps the port onto etcd directly: an entry's `revision` is etcd's mod_revision and its
 * `createRevision` etcd's create_revision; the store revision is etcd's. create is a txn on
 * create_revision == 0, update a txn on mod_revision == expected (its failure branch reads the
 * key, to tell DATASTORE_CONFLICT from DATASTORE_NOT_FOUND), delete optionally the same compare;
 * list reads a prefix (in pages, all at the first page's revision) and returns that revision;
 * watch streams a prefix from revision + 1 (see etcd-watch.ts); leases are etcd leases (ids are
 * etcd's int64 lease ids in decimal).
 *
 * Every call is bounded (`requestTimeoutMs`, failover between endpoints included; one endpoint is
 * given `dialTimeoutMs` per attempt) and ends in DATASTORE_UNAVAILABLE (CNI 11, try again later)
 * when no member can serve it, e.g. with the cluster's quorum lost.
 *
 * A compare-and-swap retried after an attempt that may have been applied (timeout or dropped
 * connection) and then failing its compare is checked against what is stored: when the key holds
 * exactly this write (same value and lease, and for create never modified since), the write is
 * reported as done rather than as a conflict. A delete in the same situation reports true.
 */
import { PodnetError } from '../common/errors.js';
import { DatastoreErrors as E } from './errors.js';
import { DEFAULT_PREFIX, KeySpace, checkRevision, checkValue, entryOf, int, leaseId, leaseOf } from './etcd-codec.js';
import { EtcdRpc, closedError } from './etcd-rpc.js';
import { EtcdWatch } from './etcd-watch.js';
import { checkTtl } from './kv-state.js';
import type { Datastore, KvEntry, ListResult, Watch, WatchHandlers, WriteOptions } from './types.js';
import { EtcdLeaseInvalidError, type IKeyValue, type IResponseOp } from 'etcd3';

export interface EtcdDatastoreOptions {
  /** Client URLs of the members, e.g. ["http://10.0.0.1:2379"]. */
  readonly endpoints: readonly string[];
  /** Key namespace: port key K is stored at `${prefix}/${K}` (default "/podnet"). */
  readonly prefix?: string;
  /** Bound on one attempt against one endpoint, connecting included; then the call fails over (default 2000 ms). */
  readonly dialTimeoutMs?: number;
  /** Bound on a whole call, failover included; then DATASTORE_UNAVAILABLE (default 5000 ms). */
  readonly requestTimeoutMs?: number;
  /** A watch that heard nothing (or no event) for this long is probed / checked for lag (default 10000 ms). */
  readonly watchIdleMs?: number;
  /** A broken watch that cannot be re-established for this long reports onError (default 2 x requestTimeoutMs). */
  readonly watchRetryMs?: number;
}

/** Entries read per page by list(). */
const PAGE = 500;

export class EtcdDatastore implements Datastore {
  readonly kind = 'etcd' as const;
  private readonly rpc: EtcdRpc;
  private readonly ks: KeySpace;
  private readonly watches = new Set<EtcdWatch>();
  private readonly watchIdleMs: number;
  private readonly watchRetryMs: number;
  private closed = false;

  constructor(opts: EtcdDatastoreOptions) {
    const requestMs = opts.requestTimeoutMs ?? 5000;
    this.ks = new KeySpace(opts.prefix ?? DEFAULT_PREFIX);
    this.rpc = new EtcdRpc({ endpoints: opts.endpoints, attemptMs: Math.min(opts.dialTimeoutMs ?? 2000, requestMs), requestMs });
    this.watchIdleMs = positive(opts.watchIdleMs ?? 10_000, 'watch idle time');
    this.watchRetryMs = positive(opts.watchRetryMs ?? 2 * requestMs, 'watch retry time');
  }

  /** The etcd key prefix under which this store keeps its keys, e.g. "/podnet/". */
  get namespace(): string {
    return this.ks.namespace;
  }

  /** Number of open watches. */
  get watchCount(): number {
    return this.watches.size;
  }

  async get(key: string): Promise<KvEntry | undefined> {
    this.checkOpen();
    const k = this.ks.key(key);
    const r = await this.rpc.call(`get ${key}`, (co) => this.rpc.client.kv.range({ key: k }, co));
    const kv = r.kvs[0];
    return kv ? entryOf(kv, key) : undefined;
  }

  async list(prefix: string): Promise<ListResult> {
    this.checkOpen();
    const range = this.ks.range(prefix);
    // A compaction between two pages invalidates the pinned revision: start again (twice at most).
    for (let i = 0; ; i++) {
      try {
        return await this.listOnce(prefix, range.key, range.rangeEnd);
      } catch (e) {
        if (i >= 2 || !(e instanceof PodnetError) || e.code !== E.DATASTORE_COMPACTED) throw e;
      }
    }
  }

  private async listOnce(prefix: string, key: Buffer, rangeEnd: Buffer): Promise<ListResult> {
    const entries: KvEntry[] = [];
    let revision = 0;
    let from = key;
    for (;;) {
      const rev = revision;
      const r = await this.rpc.call(`list ${prefix}`, (co) =>
        this.rpc.client.kv.range({ key: from, range_end: rangeEnd, limit: PAGE, revision: rev }, co),
      );
      if (revision === 0) revision = int(r.header.revision, 'revision');
      for (const kv of r.kvs) {
        const k = this.ks.unkey(kv.key);
        if (k !== undefined) entries.push(entryOf(kv, k));
      }
      const last = r.kvs[r.kvs.length - 1];
      if (!r.more || !last) break;
      from = Buffer.concat([last.key, Buffer.from([0])]);
    }
    return { entries, revision };
  }

  async create(key: string, value: string, opts: WriteOptions = {}): Promise<KvEntry> {
    this.checkOpen();
    const k = this.ks.key(key);
    checkValue(key, value);
    const lease = opts.lease === undefined ? undefined : leaseId(opts.lease);
    return this.rpc.call(`create ${key}`, async (co, at) => {
      const r = await this.rpc.client.kv.txn(
        {
          compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
          success: [{ request_put: { key: k, value: Buffer.from(value, 'utf8'), lease: lease ?? 0 } }],
          failure: [{ request_range: { key: k } }],
        },
        co,
      );
      if (r.succeeded) {
        const rev = int(r.header.revision, 'revision');
        return withLease({ key, value, revision: rev, createRevision: rev }, lease);
      }
      const cur = rangeKv(r.responses[0]);
      if (cur && at.ambiguous && sameWrite(cur, value, lease) && cur.create_revision === cur.mod_revision) return entryOf(cur, key);
      throw new PodnetError(E.DATASTORE_ALREADY_EXISTS, `key ${key} already exists`);
    });
  }

  async update(key: string, value: string, expectedRevision: number, opts: WriteOptions = {}): Promise<KvEntry> {
    this.checkOpen();
    const k = this.ks.key(key);
    checkValue(key, value);
    checkRevision(expectedRevision);
    const lease = opts.lease === undefined ? undefined : leaseId(opts.lease);
    return this.rpc.call(`update ${key}`, async (co, at) => {
      const r = await this.rpc.client.kv.txn(
        {
          compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedRevision }],
          success: [{ request_put: { key: k, value: Buffer.from(value, 'utf8'), lease: lease ?? 0, prev_kv: true } }],
          failure: [{ request_range: { key: k } }],
        },
        co,
      );
      if (r.succeeded) {
        const rev = int(r.header.revision, 'revision');
        const prev = r.responses[0]?.response_put?.prev_kv;
        const createRevision = prev ? int(prev.create_revision, 'create_revision') : rev;
        return withLease({ key, value, revision: rev, createRevision }, lease);
      }
      const cur = rangeKv(r.responses[0]);
      if (!cur) throw new PodnetError(E.DATASTORE_NOT_FOUND, `key ${key} does not exist`);
      const curRev = int(cur.mod_revision, 'mod_revision');
      if (at.ambiguous && sameWrite(cur, value, lease) && curRev > expectedRevision) return entryOf(cur, key);
      throw new PodnetError(E.DATASTORE_CONFLICT, `key ${key} is at revision ${curRev}, not ${expectedRevision}`);
    });
  }

  async delete(key: string, expectedRevision?: number): Promise<boolean> {
    this.checkOpen();
    const k = this.ks.key(key);
    if (expectedRevision === undefined) {
      return this.rpc.call(`delete ${key}`, async (co, at) => {
        const r = await this.rpc.client.kv.deleteRange({ key: k }, co);
        return int(r.deleted, 'deleted') > 0 || at.ambiguous;
      });
    }
    checkRevision(expectedRevision);
    return this.rpc.call(`delete ${key}`, async (co, at) => {
      const r = await this.rpc.client.kv.txn(
        {
          compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedRevision }],
          success: [{ request_delete_range: { key: k } }],
          failure: [{ request_range: { key: k } }],
        },
        co,
      );
      if (r.succeeded) return true;
      const cur = rangeKv(r.responses[0]);
      if (!cur) return at.ambiguous;
      const curRev = int(cur.mod_revision, 'mod_revision');
      throw new PodnetError(E.DATASTORE_CONFLICT, `key ${key} is at revision ${curRev}, not ${expectedRevision}`);
    });
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch {
    const w = new EtcdWatch(
      this.rpc,
      this.ks,
      prefix,
      fromRevision,
      handlers,
      { idleMs: this.watchIdleMs, requestMs: this.rpc.opts.requestMs, retryMs: this.watchRetryMs },
      (x) => this.watches.delete(x),
    );
    this.watches.add(w);
    if (this.closed) w.fail(closedError());
    return w;
  }

  async grantLease(ttlSeconds: number): Promise<string> {
    this.checkOpen();
    checkTtl(ttlSeconds);
    const r = await this.rpc.call('lease grant', (co) => this.rpc.client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 }, co));
    if (r.error) throw new PodnetError(E.DATASTORE_UNAVAILABLE, `etcd lease grant: ${r.error}`);
    return leaseId(String(r.ID));
  }

  async keepAlive(lease: string): Promise<void> {
    this.checkOpen();
    const id = leaseId(lease);
    const ttl = await this.rpc.call(`lease keep-alive ${id}`, async (co) => {
      const s = await this.rpc.client.leaseClient.leaseKeepAlive(co);
      return new Promise<number>((resolve, reject) => {
        s.on('data', (res) => {
          resolve(Number(res.TTL));
          s.end();
        });
        s.on('error', reject);
        s.on('end', () => reject(new Error('lease keep-alive stream ended without an answer')));
        s.write({ ID: id });
      });
    });
    if (!(ttl > 0)) throw new PodnetError(E.DATASTORE_LEASE_NOT_FOUND, `lease ${id} not found or expired`);
  }

  async revokeLease(lease: string): Promise<void> {
    this.checkOpen();
    const id = leaseId(lease);
    await this.rpc.call(`lease revoke ${id}`, async (co, at) => {
      try {
        await this.rpc.client.leaseClient.leaseRevoke({ ID: id }, co);
      } catch (e) {
        // An earlier attempt may have revoked it already.
        if (e instanceof EtcdLeaseInvalidError && at.ambiguous) return;
        throw e;
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watches]) w.fail(closedError());
    this.rpc.close();
  }

  private checkOpen(): void {
    if (this.closed) throw closedError();
  }
}

function positive(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 10) throw new PodnetError(E.DATASTORE_INVALID_ARGUMENT, `invalid etcd ${what} ${String(v)} ms`);
  return v;
}

function rangeKv(op: IResponseOp | undefined): IKeyValue | undefined {
  return op?.response_range?.kvs?.[0];
}

function sameWrite(kv: IKeyValue, value: string, lease: string | undefined): boolean {
  return kv.value.toString('utf8') === value && leaseOf(kv) === lease;
}

function withLease(base: KvEntry, lease: string | undefined): KvEntry {
  return lease === undefined ? base : { ...base, lease };
}
