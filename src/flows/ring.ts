/**
 * A bounded ring of records with sequence numbers: the newest `capacity` records are kept, the
 * oldest overwritten (and counted). Readers page with a cursor ("records after seq N").
 */
export interface Sequenced {
  readonly seq: number;
}

export interface Page<T> {
  readonly records: readonly T[];
  /** Cursor for the next call: the last seq returned (or the given cursor when none). */
  readonly next: number;
  /** Records between the cursor and the oldest kept one that were overwritten before being read. */
  readonly missed: number;
}

export class Ring<T extends Sequenced> {
  private readonly buf: (T | undefined)[];
  private head = 0;
  private size = 0;
  private seq = 0;
  private overwritten = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 10_000_000) throw new RangeError(`ring capacity ${capacity} is not 1-10000000`);
    this.buf = new Array<T | undefined>(capacity);
  }

  /** The seq the next record gets. */
  nextSeq(): number {
    return this.seq + 1;
  }

  get length(): number {
    return this.size;
  }

  /** Records overwritten since start. */
  get dropped(): number {
    return this.overwritten;
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Adds a record made by `make(seq)`. */
  push(make: (seq: number) => T): T {
    const rec = make(++this.seq);
    if (this.size === this.capacity) this.overwritten++;
    else this.size++;
    this.buf[this.head] = rec;
    this.head = (this.head + 1) % this.capacity;
    return rec;
  }

  /** Up to `limit` records with seq > after that pass `keep`, oldest first. */
  after(after: number, limit: number, keep: (r: T) => boolean = () => true): Page<T> {
    const out: T[] = [];
    const oldest = this.seq - this.size + 1;
    const missed = Math.max(0, oldest - after - 1);
    let next = after;
    // The index of the first record with seq > after.
    const start = Math.max(after + 1, oldest);
    for (let s = start; s <= this.seq && out.length < limit; s++) {
      const idx = (this.head - (this.seq - s) - 1 + this.capacity * 2) % this.capacity;
      const r = this.buf[idx] as T;
      next = s;
      if (keep(r)) out.push(r);
    }
    return { records: out, next, missed };
  }

  /** The last `limit` records that pass `keep`, oldest first, and the cursor after them. */
  last(limit: number, keep: (r: T) => boolean = () => true): Page<T> {
    const out: T[] = [];
    for (let back = 0; back < this.size && out.length < limit; back++) {
      const r = this.buf[(this.head - 1 - back + this.capacity * 2) % this.capacity] as T;
      if (keep(r)) out.push(r);
    }
    return { records: out.reverse(), next: this.seq, missed: 0 };
  }
}
