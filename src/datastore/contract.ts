/**
 * The behaviour every Datastore adapter must have, as a node:test suite. Each adapter's test
 * file calls runDatastoreContract(name, factory); the factory returns a fresh, empty store and
 * a dispose function (close plus removing any files).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../common/errors.js';
import { DatastoreErrors as E } from './errors.js';
import type { Datastore, KvEntry, WatchEvent } from './types.js';

export interface ContractStore {
  readonly store: Datastore;
  dispose(): Promise<void>;
}

export type ContractFactory = () => Promise<ContractStore>;

export async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isPodnetError(e, code), `expected ${code}, got ${e instanceof Error ? `${(e as { code?: string }).code}: ${e.message}` : String(e)}`);
    return true;
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls cond every 20 ms until true; fails after timeoutMs. */
export async function eventually(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Collects watch events and errors. */
export class EventLog {
  readonly events: WatchEvent[] = [];
  readonly errors: Error[] = [];
  readonly handlers = {
    onEvents: (evs: readonly WatchEvent[]): void => void this.events.push(...evs),
    onError: (err: Error): void => void this.errors.push(err),
  };
  summary(): string[] {
    return this.events.map((e) => (e.type === 'put' ? `put ${e.entry.key}=${e.entry.value}@${e.entry.revision}` : `del ${e.key}@${e.revision}`));
  }
}

async function withStore(factory: ContractFactory, fn: (s: Datastore) => Promise<void>): Promise<void> {
  const { store, dispose } = await factory();
  try {
    await fn(store);
  } finally {
    await dispose();
  }
}

export function runDatastoreContract(name: string, factory: ContractFactory): void {
  const t = (title: string, fn: (s: Datastore) => Promise<void>): void => {
    test(title, () => withStore(factory, fn));
  };

  describe(`datastore contract: ${name}`, () => {
    t('create-if-absent, get, and a store-wide revision', async (s) => {
      assert.equal(await s.get('/c/a'), undefined);
      const a = await s.create('/c/a', '{"n":1}');
      assert.equal(a.key, '/c/a');
      assert.equal(a.value, '{"n":1}');
      assert.ok(a.revision >= 1);
      assert.equal(a.createRevision, a.revision);
      assert.deepEqual(await s.get('/c/a'), a);
      await expectCode(s.create('/c/a', '{"n":2}'), E.DATASTORE_ALREADY_EXISTS);
      assert.equal((await s.get('/c/a'))?.value, '{"n":1}');
      const b = await s.create('/c/b', '{}');
      assert.ok(b.revision > a.revision, 'a write to another key bumps the store revision');
      const list = await s.list('/c/');
      assert.ok(list.revision >= b.revision);
    });

    t('update is a compare-and-swap on the revision', async (s) => {
      const a = await s.create('/u/a', '1');
      const a2 = await s.update('/u/a', '2', a.revision);
      assert.ok(a2.revision > a.revision);
      assert.equal(a2.createRevision, a.createRevision);
      assert.equal(a2.value, '2');
      await expectCode(s.update('/u/a', '3', a.revision), E.DATASTORE_CONFLICT);
      assert.equal((await s.get('/u/a'))?.value, '2', 'a failed CAS changes nothing');
      await expectCode(s.update('/u/missing', '1', a.revision), E.DATASTORE_NOT_FOUND);
      await expectCode(s.update('/u/a', '4', 0), E.DATASTORE_INVALID_ARGUMENT);
    });

    t('delete, with and without an expected revision', async (s) => {
      const a = await s.create('/d/a', '1');
      await expectCode(s.delete('/d/a', a.revision + 1000), E.DATASTORE_CONFLICT);
      assert.ok(await s.get('/d/a'), 'a conflicting delete keeps the key');
      assert.equal(await s.delete('/d/a', a.revision), true);
      assert.equal(await s.get('/d/a'), undefined);
      assert.equal(await s.delete('/d/a'), false);
      assert.equal(await s.delete('/d/a', a.revision), false);
      await s.create('/d/b', '1');
      assert.equal(await s.delete('/d/b'), true);
      const again = await s.create('/d/a', '2');
      assert.ok(again.createRevision > a.revision, 're-created key has a new create revision');
    });

    t('list: prefix boundaries, key order, revision', async (s) => {
      for (const k of ['/l/b', '/l', '/l/a/x', '/lz', '/l/a', '/l/', '/m/a', '/l/c']) await s.create(k, JSON.stringify(k));
      const r = await s.list('/l/');
      assert.deepEqual(
        r.entries.map((e) => e.key),
        ['/l/', '/l/a', '/l/a/x', '/l/b', '/l/c'],
      );
      assert.ok(r.entries.every((e: KvEntry) => e.value === JSON.stringify(e.key)));
      assert.ok(r.revision >= Math.max(...r.entries.map((e) => e.revision)));
      assert.deepEqual((await s.list('/l/a/')).entries.map((e) => e.key), ['/l/a/x']);
      assert.deepEqual((await s.list('/nothing/')).entries, []);
      assert.equal((await s.list('')).entries.length, 8);
    });

    t('values round-trip exactly (unicode, large)', async (s) => {
      const v = JSON.stringify({ s: 'ünï\u2028çødé 🚀 "quoted" \\ \n', big: 'x'.repeat(200_000) });
      await s.create('/v/a', v);
      assert.equal((await s.get('/v/a'))?.value, v);
      await expectCode(s.create('', 'x'), E.DATASTORE_INVALID_ARGUMENT);
    });

    t('watch from a revision: exactly the later events under the prefix, in order, then live ones', async (s) => {
      await s.create('/w/a', 'a1');
      await s.create('/x/a', 'other');
      const from = (await s.list('/w/')).revision;
      await s.update('/w/a', 'a2', (await s.get('/w/a'))!.revision);
      await s.create('/w/b', 'b1');
      await s.create('/wx', 'not-under-prefix');
      await s.delete('/w/a');
      const log = new EventLog();
      const w = s.watch('/w/', from, log.handlers);
      try {
        await eventually('3 historical events', () => log.events.length >= 3);
        await s.create('/w/c', 'c1');
        await s.create('/x/b', 'other');
        await eventually('live event', () => log.events.length >= 4);
        await sleep(50);
        const sum = log.summary().map((x) => x.replace(/@\d+$/, ''));
        assert.deepEqual(sum, ['put /w/a=a2', 'put /w/b=b1', 'del /w/a', 'put /w/c=c1']);
        const revs = log.events.map((e) => (e.type === 'put' ? e.entry.revision : e.revision));
        assert.ok(revs.every((r, i) => r > from && (i === 0 || r > (revs[i - 1] as number))), `revisions ${revs} ascend after ${from}`);
        assert.deepEqual(log.errors, []);
      } finally {
        w.close();
      }
      await s.create('/w/d', 'after close');
      await sleep(50);
      assert.equal(log.events.length, 4, 'a closed watch delivers nothing more');
    });

    t('list then watch from its revision misses nothing under concurrent writes', async (s) => {
      let n = 0;
      const writer = (async () => {
        for (; n < 60; n++) await s.create(`/lw/${String(n).padStart(3, '0')}`, String(n));
      })();
      await sleep(1);
      const { entries, revision } = await s.list('/lw/');
      const seen = new Set(entries.map((e) => e.key));
      const log = new EventLog();
      const w = s.watch('/lw/', revision, log.handlers);
      try {
        await writer;
        await eventually('all 60 keys seen', () => {
          for (const ev of log.events) if (ev.type === 'put') seen.add(ev.entry.key);
          return seen.size === 60;
        });
        const keys = log.events.map((e) => (e.type === 'put' ? e.entry.key : e.key));
        assert.equal(new Set(keys).size, keys.length, 'no event delivered twice');
        assert.ok(keys.every((k) => !entries.some((e) => e.key === k)), 'no listed entry repeated as an event');
      } finally {
        w.close();
      }
    });

    t('leases: keys expire with their lease, with a delete event; keepAlive of an expired lease fails', async (s) => {
      const lease = await s.grantLease(1);
      const a = await s.create('/lease/a', 'a', { lease });
      assert.equal(a.lease, lease);
      const b = await s.create('/lease/b', 'b', { lease });
      await s.update('/lease/b', 'b2', b.revision); // a put without the lease detaches the key (etcd semantics)
      await s.create('/lease/c', 'c');
      const log = new EventLog();
      const w = s.watch('/lease/', (await s.list('/lease/')).revision, log.handlers);
      try {
        await eventually('leased key deleted', async () => (await s.get('/lease/a')) === undefined, 15_000);
        await eventually('delete event', () => log.events.some((e) => e.type === 'delete' && e.key === '/lease/a'));
        assert.equal((await s.get('/lease/b'))?.value, 'b2');
        assert.ok(await s.get('/lease/c'));
        await expectCode(s.keepAlive(lease), E.DATASTORE_LEASE_NOT_FOUND);
        await expectCode(s.create('/lease/d', 'd', { lease }), E.DATASTORE_LEASE_NOT_FOUND);
      } finally {
        w.close();
      }
    });

    t('leases: keepAlive extends, revoke deletes at once', async (s) => {
      const lease = await s.grantLease(2);
      await s.create('/ka/a', 'a', { lease });
      const until = Date.now() + 3_000;
      while (Date.now() < until) {
        await s.keepAlive(lease);
        await sleep(400);
      }
      assert.ok(await s.get('/ka/a'), 'kept alive past its TTL');
      await s.revokeLease(lease);
      assert.equal(await s.get('/ka/a'), undefined);
      await expectCode(s.keepAlive(lease), E.DATASTORE_LEASE_NOT_FOUND);
      await expectCode(s.revokeLease(lease), E.DATASTORE_LEASE_NOT_FOUND);
      await expectCode(s.grantLease(0), E.DATASTORE_INVALID_ARGUMENT);
    });

    t('concurrency: 100 concurrent CAS increments give exactly 100', async (s) => {
      await s.create('/cnt', '0');
      let conflicts = 0;
      const inc = async (): Promise<void> => {
        for (let attempt = 0; attempt < 500; attempt++) {
          const cur = (await s.get('/cnt'))!;
          try {
            await s.update('/cnt', String(Number(cur.value) + 1), cur.revision);
            return;
          } catch (e) {
            if (!isPodnetError(e, E.DATASTORE_CONFLICT)) throw e;
            conflicts++;
          }
        }
        assert.fail('increment did not succeed in 500 attempts');
      };
      await Promise.all(Array.from({ length: 100 }, inc));
      assert.equal((await s.get('/cnt'))?.value, '100');
      assert.ok(conflicts > 0, 'the increments really raced');
    });

    t('concurrent create of one key: exactly one wins', async (s) => {
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => s.create('/once', String(i))));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(isPodnetError(r.reason, E.DATASTORE_ALREADY_EXISTS));
    });

    t('a closed store refuses calls', async (s) => {
      await s.create('/z', '1');
      await s.close();
      await expectCode(s.get('/z'), E.DATASTORE_CLOSED);
      await expectCode(s.create('/y', '1'), E.DATASTORE_CLOSED);
    });
  });
}
