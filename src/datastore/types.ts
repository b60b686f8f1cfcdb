/**
 * The datastore port: a revisioned key/value store in the shape of etcd v3. Values are JSON
 * text. Every write bumps a store-wide revision; an entry's `revision` is the store revision
 * of its last write and is the token for compare-and-swap.
 *
 * Adapters: memory (tests), embedded (single node, on disk; the default) and etcd (many nodes).
 */

export interface KvEntry {
  readonly key: string;
  readonly value: string;
  /** Store revision of the entry's last modification (etcd mod_revision). */
  readonly revision: number;
  /** Store revision at which the key was created (etcd create_revision). */
  readonly createRevision: number;
  /** Lease the key is attached to, if any. */
  readonly lease?: string;
}

export type WatchEvent =
  | { readonly type: 'put'; readonly entry: KvEntry }
  | { readonly type: 'delete'; readonly key: string; readonly revision: number };

export interface WatchHandlers {
  /** Events strictly after the watch's start revision, in revision order. */
  onEvents(events: readonly WatchEvent[]): void;
  /** The watch broke (compaction, connection loss); the caller re-lists and re-watches. */
  onError(err: Error): void;
}

export interface Watch {
  close(): void;
}

export interface ListResult {
  readonly entries: readonly KvEntry[];
  /** Store revision at which the list was taken: watch from here to miss nothing. */
  readonly revision: number;
}

export interface WriteOptions {
  /** Attach the key to a lease: it is deleted when the lease expires. */
  readonly lease?: string;
}

export interface Datastore {
  readonly kind: 'memory' | 'embedded' | 'etcd';
  get(key: string): Promise<KvEntry | undefined>;
  list(prefix: string): Promise<ListResult>;
  /** Creates key; throws DATASTORE_ALREADY_EXISTS if present. */
  create(key: string, value: string, opts?: WriteOptions): Promise<KvEntry>;
  /** Replaces key if its revision is still expectedRevision; throws DATASTORE_CONFLICT otherwise (DATASTORE_NOT_FOUND if gone). */
  update(key: string, value: string, expectedRevision: number, opts?: WriteOptions): Promise<KvEntry>;
  /** Deletes key (only at expectedRevision when given). Returns false if it did not exist. Throws DATASTORE_CONFLICT on a revision mismatch. */
  delete(key: string, expectedRevision?: number): Promise<boolean>;
  /** Watches keys under prefix for changes after fromRevision. */
  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch;
  /** Grants a lease of ttlSeconds; returns its id. */
  grantLease(ttlSeconds: number): Promise<string>;
  /** Renews a lease; throws DATASTORE_LEASE_NOT_FOUND when it has expired. */
  keepAlive(lease: string): Promise<void>;
  revokeLease(lease: string): Promise<void>;
  close(): Promise<void>;
}
