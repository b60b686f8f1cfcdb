/**
 * The embedded store's journal: an append-only write-ahead log with group commit, and
 * compaction into a snapshot.
 *
 * Records appended while a batch is being written and fdatasync'ed form the next batch, so
 * concurrent writers share one fdatasync. A record's promise resolves only after the
 * fdatasync covering it returned. When the log grows past its limits, the whole state is
 * written to a snapshot (tmp file, fsync, rename, fsync of the directory) and the log is
 * truncated; the snapshot's seq tells recovery which log records it already contains.
 */
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import type { Journal } from './engine.js';
import type { KvRecord, StateSnapshot } from './kv-state.js';
import { encodeSnapshot, frameRecord } from './wal-format.js';
import { writeFileAtomic } from './fsutil.js';

const fsWrite = promisify(fs.write);
const fsFdatasync = promisify(fs.fdatasync);

/** The two asynchronous calls of the write path; tests substitute them to inject faults or observe ordering. */
export interface JournalIo {
  write(fd: number, buf: Buffer, offset: number, length: number): Promise<number>;
  fdatasync(fd: number): Promise<void>;
}

export const nodeJournalIo: JournalIo = {
  write: async (fd, buf, offset, length) => (await fsWrite(fd, buf, offset, length, null)).bytesWritten,
  fdatasync: (fd) => fsFdatasync(fd),
};

export const WAL_FILE = 'wal.log';
export const SNAPSHOT_FILE = 'snapshot.json';

export interface CompactionLimits {
  /** Compact once the log holds this many records. */
  readonly records: number;
  /** Compact once the log holds this many bytes. */
  readonly bytes: number;
}

export interface JournalStats {
  readonly walRecords: number;
  readonly walBytes: number;
  readonly batches: number;
  readonly compactions: number;
}

interface Pending {
  readonly rec: KvRecord;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

export class DiskJournal implements Journal {
  private queue: Pending[] = [];
  private waiters: { seq: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private running = false;
  private scheduled = false;
  private lastSeq: number;
  private durableSeq: number;
  private failure: Error | undefined;
  private closed = false;
  private walRecords: number;
  private walBytes: number;
  private batches = 0;
  private compactions = 0;

  constructor(
    private readonly dir: string,
    private readonly fd: number,
    start: { seq: number; walRecords: number; walBytes: number },
    private readonly snapshotOf: () => StateSnapshot,
    private readonly limits: CompactionLimits,
    private readonly io: JournalIo = nodeJournalIo,
  ) {
    this.lastSeq = start.seq;
    this.durableSeq = start.seq;
    this.walRecords = start.walRecords;
    this.walBytes = start.walBytes;
  }

  get stats(): JournalStats {
    return { walRecords: this.walRecords, walBytes: this.walBytes, batches: this.batches, compactions: this.compactions };
  }

  append(rec: KvRecord): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('journal is closed'));
    this.lastSeq = rec.seq;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rec, resolve, reject });
      this.kick();
    });
  }

  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.durableSeq >= this.lastSeq) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.waiters.push({ seq: this.lastSeq, resolve, reject }));
  }

  /** Writes a snapshot now and truncates the log (also used at open to bound recovery). */
  compactNow(): void {
    if (this.failure) throw this.failure;
    const snap = this.snapshotOf();
    writeFileAtomic(this.dir, SNAPSHOT_FILE, encodeSnapshot(snap));
    fs.ftruncateSync(this.fd, 0);
    fs.fsyncSync(this.fd);
    this.walRecords = 0;
    this.walBytes = 0;
    this.compactions++;
    // The snapshot holds every applied record, including those still queued: they are durable now.
    const covered = this.queue;
    this.queue = [];
    this.markDurable(snap.seq);
    for (const p of covered) p.resolve();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.sync();
    } catch {
      // the failure was reported to the writers already
    } finally {
      this.closed = true;
      fs.closeSync(this.fd);
    }
  }

  private kick(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.failure) {
        const batch = this.queue;
        this.queue = [];
        const first = (batch[0] as Pending).rec.seq;
        const buf = Buffer.from(batch.map((p) => frameRecord(p.rec, first)).join(''), 'utf8');
        try {
          let off = 0;
          while (off < buf.length) off += await this.io.write(this.fd, buf, off, buf.length - off);
          await this.io.fdatasync(this.fd);
        } catch (e) {
          this.failAll(e, batch);
          return;
        }
        this.batches++;
        this.walRecords += batch.length;
        this.walBytes += buf.length;
        this.markDurable((batch[batch.length - 1] as Pending).rec.seq);
        for (const p of batch) p.resolve();
        if (this.walRecords >= this.limits.records || this.walBytes >= this.limits.bytes) {
          try {
            this.compactNow();
          } catch (e) {
            this.failAll(e, []);
            return;
          }
        }
      }
    } finally {
      this.running = false;
    }
  }

  private markDurable(seq: number): void {
    this.durableSeq = Math.max(this.durableSeq, seq);
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.seq <= this.durableSeq) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  private failAll(e: unknown, batch: readonly Pending[]): void {
    const err = e instanceof Error ? e : new Error(String(e));
    this.failure = err;
    for (const p of batch) p.reject(err);
    for (const p of this.queue) p.reject(err);
    for (const w of this.waiters) w.reject(err);
    this.queue = [];
    this.waiters = [];
  }
}
