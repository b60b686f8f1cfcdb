/**
 * The single-node default datastore: the memory engine made durable in a directory.
 *
 *   <dir>/LOCK           exclusive lock (see dir-lock.ts)
 *   <dir>/snapshot.json  the state at some seq (absent until the first compaction)
 *   <dir>/wal.log        records after the snapshot, one fdatasync'ed line each
 *
 * A write's promise resolves only after its log line is on disk, so an acknowledged write
 * survives kill -9 and power loss. Open recovers snapshot + log, cuts a torn final batch,
 * refuses real corruption (DATASTORE_CORRUPT), and deletes the keys of leases whose persisted
 * deadline passed while the store was closed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PodnetError, errorMessage, isPodnetError } from '../common/errors.js';
import { DatastoreErrors as E } from './errors.js';
import { EngineStore, type EngineOptions } from './engine.js';
import { KvState } from './kv-state.js';
import { DiskJournal, SNAPSHOT_FILE, WAL_FILE, type JournalIo, type JournalStats } from './disk-journal.js';
import { acquireDirLock, type DirLock } from './dir-lock.js';
import { decodeSnapshot, scanWal } from './wal-format.js';
import { errnoCode, fsyncDir } from './fsutil.js';

export interface EmbeddedDatastoreOptions extends EngineOptions {
  /** Compact the log into the snapshot after this many records (default 10000). */
  readonly compactRecords?: number;
  /** ... or after this many bytes (default 64 MiB). */
  readonly compactBytes?: number;
  /** Test seam: the log's write and fdatasync calls. */
  readonly io?: JournalIo;
}

export interface RecoveryReport {
  /** seq of the snapshot loaded (0 when there was none). */
  readonly snapshotSeq: number;
  /** Log records applied on top of the snapshot. */
  readonly replayed: number;
  /** Bytes of torn tail cut from the log (a crash during a write). */
  readonly tornBytes: number;
  /** Leases found expired on open (their keys were deleted). */
  readonly expiredLeases: number;
}

function corrupt(dir: string, what: string, e: unknown): PodnetError {
  return new PodnetError(E.DATASTORE_CORRUPT, `embedded datastore ${dir}: ${what}: ${errorMessage(e)}`, { cause: e });
}

function readIfExists(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

export class EmbeddedDatastore extends EngineStore {
  private constructor(
    readonly dir: string,
    state: KvState,
    private readonly journalImpl: DiskJournal,
    private readonly lock: DirLock,
    private readonly report: { snapshotSeq: number; replayed: number; tornBytes: number; expiredLeases: number },
    opts: EngineOptions,
  ) {
    super('embedded', state, journalImpl, opts);
  }

  /** Opens (creating if needed) the store in dir. Throws DATASTORE_LOCKED, DATASTORE_CORRUPT. */
  static async open(dir: string, opts: EmbeddedDatastoreOptions = {}): Promise<EmbeddedDatastore> {
    const abs = path.resolve(dir);
    try {
      return await EmbeddedDatastore.openIn(abs, opts);
    } catch (e) {
      if (isPodnetError(e)) throw e;
      throw new PodnetError(E.DATASTORE_UNAVAILABLE, `cannot open embedded datastore ${abs}: ${errorMessage(e)}`, { cause: e });
    }
  }

  private static async openIn(abs: string, opts: EmbeddedDatastoreOptions): Promise<EmbeddedDatastore> {
    fs.mkdirSync(abs, { recursive: true, mode: 0o700 });
    const lock = acquireDirLock(abs);
    let fd: number | undefined;
    try {
      const snapText = readIfExists(path.join(abs, SNAPSHOT_FILE));
      let state: KvState;
      try {
        state = snapText ? KvState.fromSnapshot(decodeSnapshot(snapText.toString('utf8'))) : new KvState();
      } catch (e) {
        throw corrupt(abs, SNAPSHOT_FILE, e);
      }
      const snapshotSeq = state.seq;
      fs.rmSync(path.join(abs, `${SNAPSHOT_FILE}.tmp`), { force: true });

      const walPath = path.join(abs, WAL_FILE);
      const walBuf = readIfExists(walPath);
      let scan;
      try {
        scan = scanWal(walBuf ?? Buffer.alloc(0));
      } catch (e) {
        throw corrupt(abs, WAL_FILE, e);
      }
      let replayed = 0;
      for (const rec of scan.records) {
        if (rec.seq <= state.seq && replayed === 0) continue; // already in the snapshot
        try {
          state.apply(rec);
        } catch (e) {
          throw corrupt(abs, `${WAL_FILE} record seq ${rec.seq}`, e);
        }
        replayed++;
      }

      fd = fs.openSync(walPath, 'a', 0o600);
      if (scan.tornBytes > 0) fs.ftruncateSync(fd, scan.validBytes);
      fs.fsyncSync(fd);
      if (!walBuf) fsyncDir(abs);

      const journal = new DiskJournal(
        abs,
        fd,
        { seq: state.seq, walRecords: scan.records.length, walBytes: scan.validBytes },
        () => state.snapshot(),
        { records: opts.compactRecords ?? 10_000, bytes: opts.compactBytes ?? 64 * 1024 * 1024 },
        opts.io,
      );
      const report = { snapshotSeq, replayed, tornBytes: scan.tornBytes, expiredLeases: 0 };
      const store = new EmbeddedDatastore(abs, state, journal, lock, report, opts);
      const leasesBefore = state.leaseIds().length;
      await store.startLeases();
      report.expiredLeases = leasesBefore - state.leaseIds().length;
      return store;
    } catch (e) {
      if (fd !== undefined) fs.closeSync(fd);
      lock.release();
      throw e;
    }
  }

  get recovery(): RecoveryReport {
    return { ...this.report };
  }

  get journalStats(): JournalStats {
    return this.journalImpl.stats;
  }

  /** Writes a snapshot and truncates the log now (normally done automatically by size). */
  async compact(): Promise<void> {
    await this.journalImpl.sync();
    this.journalImpl.compactNow();
  }

  override async close(): Promise<void> {
    if (this.isClosed) return;
    try {
      await super.close();
    } finally {
      this.lock.release();
    }
  }
}
