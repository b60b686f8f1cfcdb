import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PodnetError, isPodnetError } from '../common/errors.js';
import { DatastoreErrors as E } from './errors.js';
import { MemoryDatastore } from './memory.js';
import { Syncer, type SyncStatus } from './syncer.js';
import { eventually, sleep } from './contract.js';
import type { Datastore, KvEntry, ListResult, Watch, WatchEvent, WatchHandlers } from './types.js';

/** A store whose watches the test can break and whose lists it can make fail. */
class FlakyStore {
  failLists = 0;
  lists = 0;
  private readonly live = new Set<WatchHandlers>();
  readonly store: Datastore;
  constructor(readonly inner: MemoryDatastore) {
    const self = this;
    this.store = Object.assign(Object.create(inner) as Datastore, {
      async list(prefix: string): Promise<ListResult> {
        self.lists++;
        if (self.failLists > 0) {
          self.failLists--;
          throw new PodnetError(E.DATASTORE_UNAVAILABLE, 'injected list failure');
        }
        return inner.list(prefix);
      },
      watch(prefix: string, from: number, h: WatchHandlers): Watch {
        const w = inner.watch(prefix, from, h);
        self.live.add(h);
        return {
          close: () => {
            self.live.delete(h);
            w.close();
          },
        };
      },
    });
  }
  breakWatches(): void {
    for (const h of [...this.live]) {
      this.live.delete(h);
      h.onError(new PodnetError(E.DATASTORE_UNAVAILABLE, 'injected watch break'));
    }
  }
}

/** A consumer that mirrors the prefix from snapshots and events. */
class Mirror {
  readonly state = new Map<string, string>();
  snapshots = 0;
  inSync = 0;
  statuses: SyncStatus[] = [];
  readonly handlers = {
    onSnapshot: (entries: readonly KvEntry[]): void => {
      this.snapshots++;
      this.state.clear();
      for (const e of entries) this.state.set(e.key, e.value);
    },
    onEvents: (events: readonly WatchEvent[]): void => {
      for (const ev of events) {
        if (ev.type === 'put') this.state.set(ev.entry.key, ev.entry.value);
        else this.state.delete(ev.key);
      }
    },
    onInSync: (): void => void this.inSync++,
    onStatus: (s: SyncStatus): void => void this.statuses.push(s),
  };
}

async function storeState(s: Datastore, prefix: string): Promise<Map<string, string>> {
  return new Map((await s.list(prefix)).entries.map((e) => [e.key, e.value]));
}

test('syncer: snapshot, in-sync, then updates', async () => {
  const s = new MemoryDatastore();
  await s.create('/p/a', '1');
  await s.create('/q/x', 'other prefix');
  const m = new Mirror();
  const sy = new Syncer(s, '/p/', m.handlers);
  sy.start();
  await sy.waitInSync(1_000);
  assert.equal(m.snapshots, 1);
  assert.equal(m.inSync, 1);
  assert.deepEqual([...m.state], [['/p/a', '1']]);
  await s.create('/p/b', '2');
  await s.delete('/p/a');
  await s.create('/q/y', 'other');
  await eventually('mirror follows', () => m.state.size === 1 && m.state.get('/p/b') === '2');
  sy.stop();
  await s.create('/p/c', 'after stop');
  await sleep(20);
  assert.equal(m.state.has('/p/c'), false, 'nothing delivered after stop');
  assert.deepEqual(m.statuses, ['syncing', 'in-sync', 'stopped']);
  await s.close();
});

test('syncer: a broken watch leads to a re-list (with backoff past failing lists) and a fresh snapshot', async () => {
  const f = new FlakyStore(new MemoryDatastore());
  const m = new Mirror();
  const sy = new Syncer(f.store, '/p/', m.handlers, { initialBackoffMs: 5, maxBackoffMs: 20, healthyAfterMs: 1 });
  sy.start();
  await sy.waitInSync(1_000);
  const writer = (async () => {
    for (let i = 0; i < 200; i++) {
      await f.inner.create(`/p/${i}`, String(i));
      if (i % 7 === 0) await f.inner.delete(`/p/${i}`);
      if (i % 50 === 25) {
        await eventually('in sync before the next break', () => sy.inSync);
        f.failLists = 3;
        f.breakWatches();
      }
      if (i % 10 === 0) await sleep(1);
    }
  })();
  await writer;
  await eventually('mirror converges', async () => sy.inSync && JSON.stringify([...m.state]) === JSON.stringify([...(await storeState(f.inner, '/p/'))]));
  assert.ok(m.snapshots >= 5, `snapshots: ${m.snapshots}`);
  assert.ok(f.lists >= 5 + 12, `lists: ${f.lists}`);
  assert.ok(m.statuses.includes('resyncing'));
  sy.stop();
  await f.inner.close();
});

test('syncer: gives up after maxFailures consecutive failures, within a bounded time', async () => {
  const f = new FlakyStore(new MemoryDatastore());
  f.failLists = 1_000;
  const m = new Mirror();
  const sy = new Syncer(f.store, '/p/', m.handlers, { initialBackoffMs: 2, maxBackoffMs: 10, maxFailures: 4 });
  const t0 = Date.now();
  sy.start();
  await assert.rejects(sy.waitInSync(5_000), (e: unknown) => isPodnetError(e, E.DATASTORE_UNAVAILABLE));
  assert.equal(sy.status, 'failed');
  assert.equal(f.lists, 5);
  assert.ok(Date.now() - t0 < 1_000);
  assert.equal(m.snapshots, 0);
  await f.inner.close();
});

test('syncer: a closed store stops it at once; waitInSync times out while unreachable', async () => {
  const s = new MemoryDatastore();
  const m = new Mirror();
  const sy = new Syncer(s, '/p/', m.handlers);
  sy.start();
  await sy.waitInSync(1_000);
  await s.close();
  await eventually('failed', () => sy.status === 'failed');
  await assert.rejects(sy.waitInSync(10), (e: unknown) => isPodnetError(e, E.DATASTORE_CLOSED));

  const f = new FlakyStore(new MemoryDatastore());
  f.failLists = 1_000;
  const sy2 = new Syncer(f.store, '/p/', new Mirror().handlers, { initialBackoffMs: 50 });
  sy2.start();
  await assert.rejects(sy2.waitInSync(30), (e: unknown) => isPodnetError(e, 'TIMEOUT') && /injected list failure/.test((e as Error).message));
  sy2.stop();
  await f.inner.close();
});
