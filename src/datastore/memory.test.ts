import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../common/errors.js';
import { DatastoreErrors as E } from './errors.js';
import { MemoryDatastore } from './memory.js';
import { EventLog, eventually, runDatastoreContract, sleep } from './contract.js';

runDatastoreContract('memory', async () => {
  const store = new MemoryDatastore();
  return { store, dispose: () => store.close() };
});

test('memory: watching from a compacted revision calls onError with DATASTORE_COMPACTED', async () => {
  const s = new MemoryDatastore({ historyLimit: 5 });
  try {
    const first = await s.create('/h/0', '0');
    for (let i = 1; i < 20; i++) await s.create(`/h/${i}`, String(i));
    const old = new EventLog();
    s.watch('/h/', first.revision, old.handlers);
    await eventually('compaction error', () => old.errors.length === 1);
    assert.ok(isPodnetError(old.errors[0], E.DATASTORE_COMPACTED));
    assert.equal(old.events.length, 0);
    // The newest 5 revisions are still there.
    const rev = (await s.list('/h/')).revision;
    const recent = new EventLog();
    const w = s.watch('/h/', rev - 5, recent.handlers);
    await eventually('5 events', () => recent.events.length === 5);
    assert.deepEqual(recent.errors, []);
    w.close();
  } finally {
    await s.close();
  }
});

test('memory: a throwing handler breaks only its own watch; close breaks all watches', async () => {
  const s = new MemoryDatastore();
  const bad = new EventLog();
  const good = new EventLog();
  s.watch('/', 0, {
    onEvents: () => {
      throw new Error('handler bug');
    },
    onError: bad.handlers.onError,
  });
  s.watch('/', 0, good.handlers);
  await s.create('/a', '1');
  await s.create('/b', '1');
  await eventually('error and events', () => bad.errors.length === 1 && good.events.length === 2);
  assert.match(bad.errors[0]!.message, /handler bug/);
  await s.close();
  await eventually('closed error', () => good.errors.length === 1);
  assert.ok(isPodnetError(good.errors[0], E.DATASTORE_CLOSED));
});

test('memory: handlers run after the write resolved, never inside it', async () => {
  const s = new MemoryDatastore();
  let inside = false;
  let sawInside = false;
  s.watch('/', 0, { onEvents: () => void (sawInside ||= inside), onError: () => undefined });
  inside = true;
  const p = s.create('/a', '1');
  inside = false;
  await p;
  await sleep(5);
  assert.equal(sawInside, false);
  await s.close();
});

test('memory: a lease whose deadline passed is refused even before its timer fires', async () => {
  const s = new MemoryDatastore();
  const lease = await s.grantLease(1);
  const t0 = Date.now();
  while (Date.now() - t0 < 1_050) {
    /* block the event loop past the deadline so the timer cannot fire */
  }
  await assert.rejects(s.create('/x', '1', { lease }), (e: unknown) => isPodnetError(e, E.DATASTORE_LEASE_NOT_FOUND));
  await s.close();
});
