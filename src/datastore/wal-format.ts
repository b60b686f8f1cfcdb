/**
 * On-disk formats of the embedded store. Pure (no I/O).
 *
 * Write-ahead log: one line per record, `<crc32 of the JSON, 8 hex digits> <JSON>\n`.
 * Snapshot: a single line in the same framing holding the whole state.
 *
 * Recovery rule: damage inside the last fsync batch is a write torn by a crash (never
 * acknowledged, because a write is acknowledged only after fdatasync) and is cut off; damage
 * anywhere else is real corruption (see scanWal).
 */
import { crc32 } from 'node:zlib';
import type { KvEntry } from './types.js';
import type { KvRecord, LeaseSnapshot, StateSnapshot } from './kv-state.js';

const NL = 0x0a;

export function frameLine(obj: unknown): string {
  const json = JSON.stringify(obj);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

/** The JSON value of one framed line (without its newline), or undefined when damaged. */
export function unframeLine(line: string): unknown {
  if (line.length < 10 || line[8] !== ' ' || !/^[0-9a-f]{8}$/.test(line.slice(0, 8))) return undefined;
  const json = line.slice(9);
  if (crc32(json) !== parseInt(line.slice(0, 8), 16)) return undefined;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const isInt = (x: unknown, min: number): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= min;
const isStr = (x: unknown): x is string => typeof x === 'string' && x.length > 0;

/** Validates the shape of a log record; undefined when it is not one. */
export function toRecord(x: unknown): KvRecord | undefined {
  if (!isObj(x) || !isInt(x.seq, 1)) return undefined;
  const seq = x.seq;
  switch (x.t) {
    case 'put':
      if (!isInt(x.rev, 1) || !isStr(x.k) || typeof x.v !== 'string') return undefined;
      if (x.l !== undefined && !isStr(x.l)) return undefined;
      return x.l === undefined ? { t: 'put', seq, rev: x.rev, k: x.k, v: x.v } : { t: 'put', seq, rev: x.rev, k: x.k, v: x.v, l: x.l };
    case 'del':
      return isInt(x.rev, 1) && isStr(x.k) ? { t: 'del', seq, rev: x.rev, k: x.k } : undefined;
    case 'lease':
      return isStr(x.id) && isInt(x.ttl, 1) && isInt(x.exp, 0) ? { t: 'lease', seq, id: x.id, ttl: x.ttl, exp: x.exp } : undefined;
    case 'revoke':
      return isStr(x.id) && isInt(x.rev, 0) ? { t: 'revoke', seq, id: x.id, rev: x.rev } : undefined;
    default:
      return undefined;
  }
}

export interface WalScan {
  readonly records: readonly KvRecord[];
  /** Length of the valid prefix; the file is cut here when a torn tail was found. */
  readonly validBytes: number;
  /** Bytes of torn tail after validBytes (0 when the log ended cleanly). */
  readonly tornBytes: number;
}

export class WalCorruption extends Error {
  constructor(
    readonly line: number,
    readonly offset: number,
    reason: string,
  ) {
    super(`write-ahead log line ${line} (byte ${offset}): ${reason}`);
  }
}

/** Frames a log record of the fsync batch that starts at sequence number batch. */
export function frameRecord(rec: KvRecord, batch: number): string {
  return frameLine({ ...rec, b: batch });
}

interface Segment {
  readonly start: number;
  readonly end: number; // exclusive, without the newline
  readonly complete: boolean;
}

interface Line {
  readonly rec: KvRecord;
  /** seq of the first record of the line's fsync batch. */
  readonly batch: number;
}

function segments(buf: Buffer): Segment[] {
  const out: Segment[] = [];
  let start = 0;
  while (start < buf.length) {
    const nl = buf.indexOf(NL, start);
    if (nl < 0) {
      out.push({ start, end: buf.length, complete: false });
      break;
    }
    out.push({ start, end: nl, complete: true });
    start = nl + 1;
  }
  return out;
}

function parseLine(buf: Buffer, s: Segment): Line | undefined {
  if (!s.complete) return undefined;
  const x = unframeLine(buf.toString('utf8', s.start, s.end));
  const rec = toRecord(x);
  const batch = isObj(x) ? x.b : undefined;
  if (!rec || !isInt(batch, 1) || batch > rec.seq) return undefined;
  return { rec, batch };
}

/**
 * Parses a log; throws WalCorruption for damage that is not a torn tail. Records are written in
 * batches, each fdatasync'ed before the next is written, so only the last batch can be torn, and
 * in any order (pages reach the disk in any order). Damage is a torn tail when every valid line
 * after it belongs to one batch that started at or before the first damaged record.
 */
export function scanWal(buf: Buffer): WalScan {
  const segs = segments(buf);
  const records: KvRecord[] = [];
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i] as Segment;
    const line = parseLine(buf, s);
    if (line) {
      records.push(line.rec);
      continue;
    }
    const firstDamagedSeq = (records.at(-1)?.seq ?? 0) + 1;
    for (let j = i + 1; j < segs.length; j++) {
      const later = parseLine(buf, segs[j] as Segment);
      if (later && later.batch > firstDamagedSeq) {
        throw new WalCorruption(i + 1, s.start, `damaged record followed by a valid record of a later batch at line ${j + 1}`);
      }
    }
    return { records, validBytes: s.start, tornBytes: buf.length - s.start };
  }
  return { records, validBytes: buf.length, tornBytes: 0 };
}

const SNAPSHOT_FORMAT = 'podnet-kv-snapshot';
const SNAPSHOT_VERSION = 1;

export function encodeSnapshot(s: StateSnapshot): string {
  return frameLine({
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    seq: s.seq,
    revision: s.revision,
    entries: s.entries.map((e) => (e.lease === undefined ? { k: e.key, v: e.value, r: e.revision, c: e.createRevision } : { k: e.key, v: e.value, r: e.revision, c: e.createRevision, l: e.lease })),
    leases: s.leases.map((l) => ({ id: l.id, ttl: l.ttl, exp: l.exp })),
  });
}

/** Parses a snapshot file's text; throws an Error saying what is wrong. */
export function decodeSnapshot(text: string): StateSnapshot {
  if (!text.endsWith('\n')) throw new Error('snapshot is truncated');
  const x = unframeLine(text.slice(0, -1));
  if (!isObj(x)) throw new Error('snapshot checksum or JSON is invalid');
  if (x.format !== SNAPSHOT_FORMAT) throw new Error(`not a snapshot (format ${JSON.stringify(x.format)})`);
  if (x.version !== SNAPSHOT_VERSION) throw new Error(`unsupported snapshot version ${JSON.stringify(x.version)}`);
  if (!isInt(x.seq, 0) || !isInt(x.revision, 0) || !Array.isArray(x.entries) || !Array.isArray(x.leases)) {
    throw new Error('snapshot header fields are invalid');
  }
  const entries: KvEntry[] = x.entries.map((e: unknown, i: number) => {
    if (!isObj(e) || !isStr(e.k) || typeof e.v !== 'string' || !isInt(e.r, 1) || !isInt(e.c, 1) || (e.l !== undefined && !isStr(e.l))) {
      throw new Error(`snapshot entry ${i} is invalid`);
    }
    const base = { key: e.k, value: e.v, revision: e.r, createRevision: e.c };
    return e.l === undefined ? base : { ...base, lease: e.l };
  });
  const leases: LeaseSnapshot[] = x.leases.map((l: unknown, i: number) => {
    if (!isObj(l) || !isStr(l.id) || !isInt(l.ttl, 1) || !isInt(l.exp, 0)) throw new Error(`snapshot lease ${i} is invalid`);
    return { id: l.id, ttl: l.ttl, exp: l.exp };
  });
  return { seq: x.seq, revision: x.revision, entries, leases };
}
