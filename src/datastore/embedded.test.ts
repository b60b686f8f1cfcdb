import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { isPodnetError } from '../common/errors.js';
import { DatastoreErrors as E } from './errors.js';
import { EmbeddedDatastore } from './embedded.js';
import { processStartTime, LOCK_FILE } from './dir-lock.js';
import { frameRecord } from './wal-format.js';
import { nodeJournalIo, type JournalIo } from './disk-journal.js';
import { expectCode, runDatastoreContract, sleep } from './contract.js';
import type { Datastore, KvEntry } from './types.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'podnet-embedded-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => path.join(root, `s${++dirs}`);
const wal = (dir: string): string => path.join(dir, 'wal.log');

async function dump(s: Datastore): Promise<readonly KvEntry[]> {
  return (await s.list('')).entries;
}

runDatastoreContract('embedded', async () => {
  const dir = freshDir();
  const store = await EmbeddedDatastore.open(dir);
  return {
    store,
    dispose: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

test('embedded: state, revisions and create revisions survive close and reopen', async () => {
  const dir = freshDir();
  let s = await EmbeddedDatastore.open(dir);
  const a = await s.create('/a', '1');
  await s.update('/a', '2', a.revision);
  await s.create('/b', 'b');
  await s.create('/c', 'c');
  await s.delete('/b');
  const before = await dump(s);
  const rev = (await s.list('')).revision;
  await s.close();
  s = await EmbeddedDatastore.open(dir);
  assert.deepEqual(await dump(s), before);
  assert.equal((await s.list('')).revision, rev);
  assert.equal(s.recovery.replayed, 5);
  const d = await s.create('/d', 'd');
  assert.equal(d.revision, rev + 1);
  await s.close();
});

test('embedded: compaction into a snapshot, and recovery when the log was not truncated after it', async () => {
  const dir = freshDir();
  let s = await EmbeddedDatastore.open(dir, { compactRecords: 50 });
  for (let i = 0; i < 230; i++) {
    const e = await s.create(`/k/${i}`, String(i));
    if (i % 3 === 0) await s.update(`/k/${i}`, `${i}!`, e.revision);
    if (i % 5 === 0) await s.delete(`/k/${i}`);
  }
  assert.ok(s.journalStats.compactions >= 5, `compactions: ${s.journalStats.compactions}`);
  assert.ok(fs.existsSync(path.join(dir, 'snapshot.json')));
  const savedWal = fs.readFileSync(wal(dir));
  await s.compact();
  assert.equal(fs.statSync(wal(dir)).size, 0);
  const before = await dump(s);
  await s.close();
  // Crash between the snapshot's rename and the log's truncation: the log still holds records
  // that the snapshot contains. They must be skipped, not applied twice.
  fs.writeFileSync(wal(dir), savedWal);
  s = await EmbeddedDatastore.open(dir, { compactRecords: 50 });
  assert.deepEqual(await dump(s), before);
  assert.equal(s.recovery.replayed, 0);
  await s.create('/after', 'x');
  await s.close();
  s = await EmbeddedDatastore.open(dir);
  assert.equal((await s.get('/after'))?.value, 'x');
  await s.close();
});

test('embedded: a torn final line is cut off; the store then works and reopens cleanly', async () => {
  const dir = freshDir();
  let s = await EmbeddedDatastore.open(dir);
  for (let i = 0; i < 10; i++) await s.create(`/t/${i}`, String(i));
  const before = await dump(s);
  await s.close();
  const torn = frameRecord({ t: 'put', seq: 11, rev: 11, k: '/t/torn', v: 'never acknowledged' }, 11).slice(0, 37);
  fs.appendFileSync(wal(dir), torn);
  s = await EmbeddedDatastore.open(dir);
  assert.equal(s.recovery.tornBytes, 37);
  assert.deepEqual(await dump(s), before);
  await s.create('/t/new', 'n');
  await s.close();
  s = await EmbeddedDatastore.open(dir);
  assert.equal(s.recovery.tornBytes, 0);
  assert.equal((await s.get('/t/new'))?.value, 'n');
  assert.equal(await s.get('/t/torn'), undefined);
  await s.close();
});

test('embedded: damage inside the last batch is a torn write; damage before a later batch is corruption', async () => {
  const lines = (recs: [number, number][]): string[] =>
    recs.map(([seq, batch]) => frameRecord({ t: 'put', seq, rev: seq, k: `/b/${seq}`, v: String(seq) }, batch));
  // Batch 1 = seq 1, batch 2 = seq 2..4; the page holding seq 3 never reached the disk.
  let dir = freshDir();
  fs.mkdirSync(dir);
  const l = lines([[1, 1], [2, 2], [3, 2], [4, 2]]);
  fs.writeFileSync(wal(dir), l[0]! + l[1]! + '\0'.repeat(l[2]!.length - 1) + '\n' + l[3]!);
  let s = await EmbeddedDatastore.open(dir);
  assert.deepEqual((await dump(s)).map((e) => e.key), ['/b/1', '/b/2']);
  await s.close();
  // Same damage, but followed by a record of a later batch: seq 3 had been acknowledged.
  dir = freshDir();
  fs.mkdirSync(dir);
  const m = lines([[1, 1], [2, 2], [3, 2], [4, 4]]);
  fs.writeFileSync(wal(dir), m[0]! + m[1]! + m[2]!.replace('"v":"3"', '"v":"X"') + m[3]!);
  await expectCode(EmbeddedDatastore.open(dir), E.DATASTORE_CORRUPT);
  // The failed open released the lock: fixing the file makes the store open again.
  fs.writeFileSync(wal(dir), m.join(''));
  s = await EmbeddedDatastore.open(dir);
  assert.equal((await dump(s)).length, 4);
  await s.close();
});

test('embedded: a damaged snapshot or a gap in the log is DATASTORE_CORRUPT', async () => {
  const dir = freshDir();
  let s = await EmbeddedDatastore.open(dir);
  await s.create('/a', '1');
  await s.compact();
  await s.create('/b', '2');
  await s.close();
  const snap = path.join(dir, 'snapshot.json');
  const good = fs.readFileSync(snap, 'utf8');
  fs.writeFileSync(snap, good.replace('"v":"1"', '"v":"7"'));
  await expectCode(EmbeddedDatastore.open(dir), E.DATASTORE_CORRUPT);
  fs.writeFileSync(snap, good);
  const goodWal = fs.readFileSync(wal(dir), 'utf8');
  fs.writeFileSync(wal(dir), frameRecord({ t: 'put', seq: 9, rev: 9, k: '/gap', v: '' }, 9) + goodWal);
  await expectCode(EmbeddedDatastore.open(dir), E.DATASTORE_CORRUPT);
  fs.writeFileSync(wal(dir), goodWal);
  s = await EmbeddedDatastore.open(dir);
  assert.deepEqual((await dump(s)).map((e) => e.value), ['1', '2']);
  await s.close();
});

test('embedded: the directory lock', async () => {
  const dir = freshDir();
  const a = await EmbeddedDatastore.open(dir);
  await expectCode(EmbeddedDatastore.open(dir), E.DATASTORE_LOCKED);
  await a.close();
  assert.equal(fs.existsSync(path.join(dir, LOCK_FILE)), false, 'close removes the lock');

  const writeLock = (o: object): void => fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify(o));
  const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  // A live owner (our parent process) keeps the lock.
  writeLock({ pid: process.ppid, host: os.hostname(), boot, start: processStartTime(process.ppid) });
  await assert.rejects(EmbeddedDatastore.open(dir), (e: unknown) => isPodnetError(e, E.DATASTORE_LOCKED) && e.message.includes(`pid ${process.ppid}`));
  // The same pid with another start time is a reused pid: stale.
  writeLock({ pid: process.ppid, host: os.hostname(), boot, start: '1' });
  await (await EmbeddedDatastore.open(dir)).close();
  // A pid that no longer exists: stale.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  writeLock({ pid: dead, host: os.hostname(), boot });
  await (await EmbeddedDatastore.open(dir)).close();
  // Written before a reboot: stale.
  writeLock({ pid: process.ppid, host: os.hostname(), boot: 'another-boot' });
  await (await EmbeddedDatastore.open(dir)).close();
  // Not a directory: a typed error, not a raw errno.
  const file = path.join(root, 'plain-file');
  fs.writeFileSync(file, '');
  await expectCode(EmbeddedDatastore.open(file), E.DATASTORE_UNAVAILABLE);
  // Another host's lock is never taken over.
  writeLock({ pid: 1, host: 'some-other-host' });
  await expectCode(EmbeddedDatastore.open(dir), E.DATASTORE_LOCKED);
  fs.rmSync(path.join(dir, LOCK_FILE));
});

test('embedded: lease deadlines persist; a lease that expired while closed deletes its keys on open', async () => {
  const dir = freshDir();
  let s = await EmbeddedDatastore.open(dir);
  const short = await s.grantLease(1);
  const long = await s.grantLease(60);
  await s.create('/l/short', 's', { lease: short });
  await s.create('/l/long', 'l', { lease: long });
  await s.close();
  await sleep(1_200);
  s = await EmbeddedDatastore.open(dir);
  assert.equal(s.recovery.expiredLeases, 1);
  assert.equal(await s.get('/l/short'), undefined);
  assert.equal((await s.get('/l/long'))?.lease, long);
  await s.keepAlive(long);
  await expectCode(s.keepAlive(short), E.DATASTORE_LEASE_NOT_FOUND);
  await s.close();
  s = await EmbeddedDatastore.open(dir);
  assert.equal(await s.get('/l/short'), undefined, 'the expiry itself was logged');
  await s.revokeLease(long);
  await s.close();
});

interface Acks {
  readonly values: Map<string, string>;
  counter: number;
  readonly lines: string[];
}

/** Runs the writer child until it acknowledged at least `want` writes, then kill -9s it. */
async function killRound(dir: string, round: number, want: number, acks: Acks): Promise<void> {
  const script = path.join(__dirname, 'testing', 'kill-writer.js');
  const child = spawn(process.execPath, [script, dir, '4', String(round)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let buf = '';
  let stderr = '';
  let acked = 0;
  let ready = false;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`writer made ${acked} acks in 30 s; stderr: ${stderr}`)), 30_000);
    const early = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`writer exited early (${code}): ${stderr}`));
    };
    child.on('exit', early);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('ready')) {
          ready = true;
          acks.lines.push(line);
        } else if (line.startsWith('ack ')) {
          const sp = line.indexOf(' ', 4);
          const key = line.slice(4, sp);
          const value = line.slice(sp + 1);
          if (key === '/kill/counter') acks.counter = Math.max(acks.counter, Number(value));
          else acks.values.set(key, value);
          acked++;
        }
        if (ready && acked >= want) {
          clearTimeout(timer);
          child.off('exit', early);
          resolve();
          return;
        }
      }
    });
  });
  if (round === 1) {
    // While the writer runs, nobody else may open its directory.
    await assert.rejects(EmbeddedDatastore.open(dir), (e: unknown) => isPodnetError(e, E.DATASTORE_LOCKED) && e.message.includes(`pid ${child.pid}`));
  }
  child.kill('SIGKILL');
  await exited;
}

test('embedded: kill -9 of a writing process loses no acknowledged write', async () => {
  const dir = freshDir();
  const acks: Acks = { values: new Map(), counter: 0, lines: [] };
  for (let round = 1; round <= 4; round++) await killRound(dir, round, 150 + round * 97, acks);
  const s = await EmbeddedDatastore.open(dir);
  try {
    let missing = 0;
    for (const [key, value] of acks.values) if ((await s.get(key))?.value !== value) missing++;
    assert.equal(missing, 0, `${missing} of ${acks.values.size} acknowledged writes lost`);
    const counter = Number((await s.get('/kill/counter'))?.value ?? 0);
    assert.ok(counter >= acks.counter, `counter ${counter} below acknowledged ${acks.counter}`);
    console.log(`# kill -9: ${acks.values.size} acknowledged creates + counter ${acks.counter} survived 4 kills; recoveries: ${acks.lines.slice(1).join(' | ')}`);
  } finally {
    await s.close();
  }
});

function pct(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

test('embedded: cost of one durable write (printed, not asserted)', async () => {
  const dir = freshDir();
  const s = await EmbeddedDatastore.open(dir);
  const value = JSON.stringify({ pad: 'x'.repeat(2000) });
  const times: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t0 = process.hrtime.bigint();
    await s.create(`/perf/${i}`, value);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const batchesBefore = s.journalStats.batches;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: 200 }, (_, i) => s.create(`/perf/c/${i}`, value)));
  const concMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const batches = s.journalStats.batches - batchesBefore;
  console.log(
    `# embedded write (2 KB value, sequential): p50 ${pct(times, 50).toFixed(2)} ms, p90 ${pct(times, 90).toFixed(2)} ms, p99 ${pct(times, 99).toFixed(2)} ms; ` +
      `200 concurrent: ${concMs.toFixed(1)} ms total in ${batches} fdatasync batches`,
  );
  await s.close();
});

test('embedded: simulated power loss keeps every acknowledged write (acks follow fdatasync)', async () => {
  const dir = freshDir();
  let synced = 0; // bytes of the log that the last completed fdatasync made durable
  const io: JournalIo = {
    write: nodeJournalIo.write,
    fdatasync: async (fd) => {
      const size = fs.fstatSync(fd).size;
      await nodeJournalIo.fdatasync(fd);
      synced = size;
    },
  };
  const s = await EmbeddedDatastore.open(dir, { io, compactRecords: 1e9 });
  const acked = new Map<string, string>();
  let crash: Buffer | undefined;
  const writers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = 0; i < 60; i++) {
      const key = `/pl/${w}/${i}`;
      await s.create(key, `${w}.${i}`);
      acked.set(key, `${w}.${i}`);
      // Power fails right now: the disk holds the synced prefix plus part of an unsynced write.
      if (w === 3 && i === 41) crash = Buffer.concat([fs.readFileSync(wal(dir)).subarray(0, synced), Buffer.from('3f2a91c0 {"t":"put","se')]);
    }
  });
  await Promise.all(writers);
  const ackedAtCrash = new Map([...acked].slice(0, [...acked.keys()].indexOf('/pl/3/41') + 1));
  await s.close();
  const copy = freshDir();
  fs.mkdirSync(copy);
  fs.writeFileSync(wal(copy), crash!);
  const r = await EmbeddedDatastore.open(copy);
  try {
    for (const [k, v] of ackedAtCrash) assert.equal((await r.get(k))?.value, v, `acknowledged ${k} lost in the power cut`);
    assert.ok(r.recovery.tornBytes > 0);
  } finally {
    await r.close();
  }
});

test('embedded: a failed fdatasync fails the write and every later call; reopening recovers the durable state', async () => {
  const dir = freshDir();
  let failNext = false;
  const io: JournalIo = {
    write: nodeJournalIo.write,
    fdatasync: async (fd) => {
      if (failNext) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      await nodeJournalIo.fdatasync(fd);
    },
  };
  let s = await EmbeddedDatastore.open(dir, { io });
  await s.create('/f/ok', '1');
  failNext = true;
  await expectCode(s.create('/f/bad', '2'), E.DATASTORE_UNAVAILABLE);
  failNext = false;
  // The in-memory state may be ahead of the disk now: the store must not serve it.
  await expectCode(s.get('/f/bad'), E.DATASTORE_UNAVAILABLE);
  await expectCode(s.create('/f/later', '3'), E.DATASTORE_UNAVAILABLE);
  await s.close();
  s = await EmbeddedDatastore.open(dir);
  assert.equal((await s.get('/f/ok'))?.value, '1');
  await s.close();
});
