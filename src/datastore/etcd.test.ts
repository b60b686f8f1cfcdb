/**
 * The etcd adapter against a real single-member etcd on loopback: the shared datastore contract
 * (each store gets its own key prefix, so it starts empty) and etcd-specific behaviour:
 * compaction, closed stores, an unreachable cluster, a stalled watch stream, and a compare-and-swap
 * whose reply was lost after etcd applied it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { isPodnetError } from '../common/errors.js';
import { EtcdCluster } from '../lab/etcd.js';
import { EventLog, eventually, expectCode, runDatastoreContract, sleep } from './contract.js';
import { EtcdDatastore, type EtcdDatastoreOptions } from './etcd.js';
import { TcpProxy, latencyLine } from './etcd-testkit.js';
import { EtcdWatch } from './etcd-watch.js';
import { DatastoreErrors as E } from './errors.js';

let cluster: Promise<EtcdCluster> | undefined;
const etcd = (): Promise<EtcdCluster> => (cluster ??= EtcdCluster.start({ hostIps: ['127.0.0.1'] }));
let seq = 0;
const stores: EtcdDatastore[] = [];

async function store(opts: Partial<EtcdDatastoreOptions> = {}): Promise<EtcdDatastore> {
  const c = await etcd();
  const s = new EtcdDatastore({ endpoints: c.endpoints, prefix: `/test-${process.pid}-${++seq}`, ...opts });
  stores.push(s);
  return s;
}

after(async () => {
  for (const s of stores) await s.close();
  if (cluster) {
    const c = await cluster.catch(() => undefined);
    const pid = c?.pid(0);
    await c?.stopAll();
    if (pid !== undefined) assert.throws(() => process.kill(pid, 0), 'etcd is gone after stopAll');
  }
});

runDatastoreContract('etcd', async () => {
  const s = await store();
  return { store: s, dispose: () => s.close() };
});

test('etcd: revision and createRevision are etcd mod_revision and create_revision', async () => {
  const s = await store();
  const c = new Etcd3({ hosts: (await etcd()).endpoints });
  try {
    const a = await s.create('/r/a', '1');
    const b = await s.update('/r/a', '2', a.revision);
    const raw = await c.kv.range({ key: Buffer.from(`${s.namespace}/r/a`) });
    const kv = raw.kvs[0];
    assert.ok(kv, 'stored under the namespace');
    assert.equal(Number(kv.mod_revision), b.revision);
    assert.equal(Number(kv.create_revision), a.revision);
    assert.equal(b.createRevision, a.revision);
    assert.equal((await s.list('/r/')).revision, Number(raw.header.revision));
  } finally {
    c.close();
  }
});

test('etcd: a watch from a compacted revision reports DATASTORE_COMPACTED', async () => {
  const s = await store();
  const c = new Etcd3({ hosts: (await etcd()).endpoints });
  try {
    const first = await s.create('/h/0', '0');
    let last = first;
    for (let i = 1; i < 5; i++) last = await s.create(`/h/${i}`, String(i));
    await c.kv.compact({ revision: last.revision, physical: true });
    const old = new EventLog();
    s.watch('/h/', first.revision, old.handlers);
    await eventually('compaction error', () => old.errors.length === 1);
    assert.ok(isPodnetError(old.errors[0], E.DATASTORE_COMPACTED), String(old.errors[0]));
    assert.equal(old.events.length, 0);
    const recent = new EventLog();
    const w = s.watch('/h/', last.revision, recent.handlers);
    await s.create('/h/new', 'x');
    await eventually('event after the compacted revision', () => recent.events.length === 1);
    assert.deepEqual(recent.errors, []);
    w.close();
  } finally {
    c.close();
  }
});

test('etcd: a throwing handler breaks only its own watch; close breaks all watches with DATASTORE_CLOSED', async () => {
  const s = await store();
  const rev = (await s.list('/')).revision;
  const bad = new EventLog();
  const good = new EventLog();
  s.watch('/', rev, {
    onEvents: () => {
      throw new Error('handler bug');
    },
    onError: bad.handlers.onError,
  });
  s.watch('/', rev, good.handlers);
  await s.create('/a', '1');
  await s.create('/b', '1');
  await eventually('error and events', () => bad.errors.length === 1 && good.events.length === 2);
  assert.match(bad.errors[0]!.message, /handler bug/);
  assert.equal(s.watchCount, 1);
  await s.close();
  await eventually('closed error', () => good.errors.length === 1);
  assert.ok(isPodnetError(good.errors[0], E.DATASTORE_CLOSED));
  const late = new EventLog();
  s.watch('/', 0, late.handlers);
  await eventually('a watch on a closed store fails', () => late.errors.length === 1);
  assert.ok(isPodnetError(late.errors[0], E.DATASTORE_CLOSED));
});

test('etcd: an unreachable cluster gives DATASTORE_UNAVAILABLE (CNI 11) within the request timeout', async () => {
  const dead = new TcpProxy('127.0.0.1', 1); // nothing listens on port 1: every connection is refused
  await dead.start();
  const port = dead.port;
  await dead.close(); // and now nothing listens on the proxy's port either
  const s = new EtcdDatastore({ endpoints: [`http://127.0.0.1:${port}`], requestTimeoutMs: 800, dialTimeoutMs: 300 });
  try {
    for (const [what, call] of [
      ['get', () => s.get('/a')],
      ['create', () => s.create('/a', '1')],
      ['update', () => s.update('/a', '1', 3)],
      ['delete', () => s.delete('/a')],
      ['list', () => s.list('/')],
      ['grantLease', () => s.grantLease(5)],
      ['keepAlive', () => s.keepAlive('12345')],
    ] as const) {
      const t0 = Date.now();
      await assert.rejects(call(), (e: unknown) => {
        assert.ok(isPodnetError(e, E.DATASTORE_UNAVAILABLE), `${what}: ${String(e)}`);
        assert.equal(e.cni, 11);
        return true;
      });
      const took = Date.now() - t0;
      assert.ok(took < 800 + 500, `${what} took ${took} ms`);
    }
    const log = new EventLog();
    s.watch('/', 0, log.handlers);
    await eventually('watch gives up', () => log.errors.length === 1, 5_000);
    assert.ok(isPodnetError(log.errors[0], E.DATASTORE_UNAVAILABLE), String(log.errors[0]));
  } finally {
    await s.close();
  }
});

test('etcd: invalid arguments and unknown leases', async () => {
  const s = await store();
  await expectCode(s.create('/k', 'x', { lease: 'not-a-lease' }), E.DATASTORE_LEASE_NOT_FOUND);
  await expectCode(s.create('/k', 'x', { lease: '424242' }), E.DATASTORE_LEASE_NOT_FOUND);
  await expectCode(s.keepAlive('424242'), E.DATASTORE_LEASE_NOT_FOUND);
  await expectCode(s.revokeLease('424242'), E.DATASTORE_LEASE_NOT_FOUND);
  await expectCode(s.delete('/k', -1), E.DATASTORE_INVALID_ARGUMENT);
  await expectCode(s.grantLease(1.5), E.DATASTORE_INVALID_ARGUMENT);
  assert.throws(() => new EtcdDatastore({ endpoints: [] }), (e: unknown) => isPodnetError(e, E.DATASTORE_INVALID_ARGUMENT));
  assert.throws(() => new EtcdDatastore({ endpoints: ['ftp://x'] }), (e: unknown) => isPodnetError(e, E.DATASTORE_INVALID_ARGUMENT));
  assert.equal(await s.get('/k'), undefined);
  const log = new EventLog();
  s.watch('/', -1, log.handlers);
  await eventually('invalid revision', () => log.errors.length === 1);
  assert.ok(isPodnetError(log.errors[0], E.DATASTORE_INVALID_ARGUMENT));
});

test('etcd: list pages through large prefixes at one revision', async () => {
  const s = await store();
  const keys = Array.from({ length: 1234 }, (_, i) => `/p/${String(i).padStart(5, '0')}`);
  for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((k) => s.create(k, k)));
  const r = await s.list('/p/');
  assert.deepEqual(r.entries.map((e) => e.key), keys);
  assert.ok(r.revision >= Math.max(...r.entries.map((e) => e.revision)));
});

test('etcd: a stalled watch stream is re-created from its last revision without losing events', async () => {
  const c = await etcd();
  const target = new URL(c.endpoints[0] as string);
  const proxy = new TcpProxy(target.hostname, Number(target.port));
  await proxy.start();
  const writer = await store();
  const prefix = writer.namespace.replace(/\/$/, '');
  const s = await store({ endpoints: [proxy.endpoint], prefix, watchIdleMs: 300, requestTimeoutMs: 1500, dialTimeoutMs: 500 });
  try {
    const from = (await writer.list('/s/')).revision;
    const log = new EventLog();
    const w = s.watch('/s/', from, log.handlers);
    await writer.create('/s/1', '1');
    await eventually('first event', () => log.events.length === 1);
    proxy.freezeExisting();
    // No writes yet: only the unanswered progress request can find this stall.
    await eventually('stream re-created', () => w instanceof EtcdWatch && w.restarts >= 1, 5_000);
    await writer.create('/s/2', '2');
    await writer.create('/s/3', '3');
    await eventually('events after the stall', () => log.events.length === 3, 10_000);
    assert.deepEqual(log.summary().map((x) => x.replace(/@\d+$/, '')), ['put /s/1=1', 'put /s/2=2', 'put /s/3=3']);
    assert.deepEqual(log.errors, []);
    assert.ok(w instanceof EtcdWatch && w.restarts >= 1, 'the stream was re-created');
    w.close();
  } finally {
    await s.close();
    await proxy.close();
  }
});

test('etcd: a CAS whose reply was lost after etcd applied it is reported as done, not as a conflict', async () => {
  const c = await etcd();
  const target = new URL(c.endpoints[0] as string);
  const proxy = new TcpProxy(target.hostname, Number(target.port));
  await proxy.start();
  const check = await store();
  const prefix = check.namespace.replace(/\/$/, '');
  const s = await store({ endpoints: [proxy.endpoint], prefix, requestTimeoutMs: 4000, dialTimeoutMs: 400 });
  try {
    assert.equal(await s.get('/amb/warm-up'), undefined);
    const opened = proxy.opened;
    proxy.swallowRepliesOfExisting();
    const a = await s.create('/amb/a', 'mine');
    assert.ok(proxy.opened > opened, 'the create was retried on a new connection');
    const stored = await check.get('/amb/a');
    assert.deepEqual(stored, a);
    assert.equal(a.createRevision, a.revision);
    proxy.swallowRepliesOfExisting();
    const b = await s.update('/amb/a', 'mine-2', a.revision);
    assert.deepEqual(await check.get('/amb/a'), b);
    assert.ok(b.revision > a.revision);
    proxy.swallowRepliesOfExisting();
    assert.equal(await s.delete('/amb/a', b.revision), true);
    assert.equal(await check.get('/amb/a'), undefined);
    // Without a lost reply, the same calls are a real conflict / already-exists.
    await check.create('/amb/x', 'theirs');
    await expectCode(s.create('/amb/x', 'theirs'), E.DATASTORE_ALREADY_EXISTS);
  } finally {
    await s.close();
    await proxy.close();
  }
});

test('etcd: lease ids round-trip and attach to keys; revoke deletes them with a watch event', async () => {
  const s = await store();
  const lease = await s.grantLease(30);
  assert.match(lease, /^[1-9][0-9]*$/);
  const from = (await s.list('/ls/')).revision;
  const e = await s.create('/ls/a', 'a', { lease });
  assert.equal(e.lease, lease);
  assert.equal((await s.get('/ls/a'))?.lease, lease);
  assert.equal((await s.list('/ls/')).entries[0]?.lease, lease);
  const log = new EventLog();
  const w = s.watch('/ls/', from, log.handlers);
  await s.keepAlive(lease);
  await s.revokeLease(lease);
  await eventually('put and delete events', () => log.events.length === 2);
  const [put, del] = log.events;
  assert.ok(put?.type === 'put' && put.entry.lease === lease);
  assert.ok(del?.type === 'delete' && del.key === '/ls/a');
  w.close();
  await sleep(10);
});

test('etcd: an idle but healthy watch is probed and answered, not re-created', async () => {
  const s = await store({ watchIdleMs: 100, requestTimeoutMs: 1000 });
  const log = new EventLog();
  const w = s.watch('/idle/', (await s.list('/idle/')).revision, log.handlers);
  await sleep(2_000);
  await s.create('/idle/a', '1');
  await eventually('event', () => log.events.length === 1);
  assert.ok(w instanceof EtcdWatch);
  assert.equal(w.restarts, 0, 'progress requests were answered');
  assert.deepEqual(log.errors, []);
  w.close();
});

test('etcd: single-member latencies (printed, not asserted)', async () => {
  const s = await store();
  const rev = (await s.list('/lat/')).revision;
  const arrived = new Map<number, number>();
  const w = s.watch('/lat/', rev, {
    onEvents: (evs) => {
      for (const e of evs) if (e.type === 'put') arrived.set(e.entry.revision, performance.now());
    },
    onError: () => undefined,
  });
  const put: number[] = [];
  const get: number[] = [];
  const cas: number[] = [];
  const toWatch: number[] = [];
  for (let i = 0; i < 200; i++) {
    let t = performance.now();
    const a = await s.create(`/lat/${i}`, 'a');
    put.push(performance.now() - t);
    t = performance.now();
    await s.get(`/lat/${i}`);
    get.push(performance.now() - t);
    t = performance.now();
    const b = await s.update(`/lat/${i}`, 'b', a.revision);
    cas.push(performance.now() - t);
    await eventually('event', () => arrived.has(b.revision), 5_000);
    toWatch.push((arrived.get(b.revision) as number) - t);
  }
  w.close();
  console.log(latencyLine('etcd 1 member: put (create txn)', put));
  console.log(latencyLine('etcd 1 member: get', get));
  console.log(latencyLine('etcd 1 member: CAS (update txn)', cas));
  console.log(latencyLine('etcd 1 member: CAS to watch event', toWatch));
});
