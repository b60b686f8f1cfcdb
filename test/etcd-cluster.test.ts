/**
 * The etcd adapter against a real 3-member etcd cluster on loopback ports: writes and CAS, then
 * each member in turn SIGKILLed (reads, writes, CAS, leases and one long-lived watch keep working
 * through the other endpoints), restarted and seen to catch up; then two of three members down,
 * where every call must fail with DATASTORE_UNAVAILABLE within the request timeout, and recovery
 * once quorum is back. Latencies are printed, not asserted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { isPodnetError } from '../src/common/errors.js';
import { EventLog, eventually, expectCode } from '../src/datastore/contract.js';
import { EtcdDatastore } from '../src/datastore/etcd.js';
import { latencyLine } from '../src/datastore/etcd-testkit.js';
import { EtcdWatch } from '../src/datastore/etcd-watch.js';
import { DatastoreErrors as E } from '../src/datastore/errors.js';
import type { WatchEvent } from '../src/datastore/types.js';
import { EtcdCluster } from '../src/lab/etcd.js';
import { addNetns, delNetns, execIn } from '../src/lab/netns.js';

const REQUEST_MS = 3000;

const revOf = (e: WatchEvent): number => (e.type === 'put' ? e.entry.revision : e.revision);
const keyOf = (e: WatchEvent): string => (e.type === 'put' ? e.entry.key : e.key);

/** The revision member i has applied locally (a serializable read answered by that member alone). */
/** True when the member at endpoint answers its status and believes itself the leader. */
async function isLeader(endpoint: string): Promise<boolean> {
  const c = new Etcd3({ hosts: [endpoint], defaultCallOptions: () => ({ deadline: Date.now() + 1000 }) });
  try {
    const st = await c.maintenance.status();
    return st.leader === st.header.member_id;
  } catch {
    return false;
  } finally {
    c.close();
  }
}

async function memberRevision(endpoint: string): Promise<number> {
  const c = new Etcd3({ hosts: [endpoint], defaultCallOptions: () => ({ deadline: Date.now() + 1000 }) });
  try {
    const r = await c.kv.range({ key: Buffer.from('/'), serializable: true });
    return Number(r.header.revision);
  } catch {
    return -1;
  } finally {
    c.close();
  }
}

test('etcd cluster: 3 members, member loss and restart, quorum loss', { timeout: 300_000 }, async () => {
  const cluster = await EtcdCluster.start({ hostIps: ['127.0.0.1', '127.0.0.1', '127.0.0.1'] });
  const s = new EtcdDatastore({ endpoints: cluster.endpoints, prefix: '/cluster-test', requestTimeoutMs: REQUEST_MS, dialTimeoutMs: 1000, watchIdleMs: 1000 });
  const pids = [0, 1, 2].map((i) => cluster.pid(i));
  const log = new EventLog();
  const arrived = new Map<number, number>();
  let watch: ReturnType<EtcdDatastore['watch']> | undefined;
  try {
    const start = (await s.list('/k/')).revision;
    watch = s.watch('/k/', start, {
      onEvents: (evs) => {
        const now = performance.now();
        for (const e of evs) if (!arrived.has(revOf(e))) arrived.set(revOf(e), now);
        log.handlers.onEvents(evs);
      },
      onError: log.handlers.onError,
    });
    const writes: { key: string; rev: number }[] = [];

    // Latencies with all members up.
    const put: number[] = [];
    const get: number[] = [];
    const cas: number[] = [];
    const toWatch: number[] = [];
    for (let i = 0; i < 200; i++) {
      const key = `/k/lat/${i}`;
      let t = performance.now();
      const a = await s.create(key, `v${i}`);
      put.push(performance.now() - t);
      writes.push({ key, rev: a.revision });
      t = performance.now();
      assert.equal((await s.get(key))?.value, `v${i}`);
      get.push(performance.now() - t);
      t = performance.now();
      const b = await s.update(key, `w${i}`, a.revision);
      cas.push(performance.now() - t);
      writes.push({ key, rev: b.revision });
      await eventually('event of the CAS', () => arrived.has(b.revision), 5_000);
      toWatch.push((arrived.get(b.revision) as number) - t);
    }
    console.log(latencyLine('etcd 3 members: put (create txn)', put));
    console.log(latencyLine('etcd 3 members: get', get));
    console.log(latencyLine('etcd 3 members: CAS (update txn)', cas));
    console.log(latencyLine('etcd 3 members: CAS to watch event', toWatch));

    // Each member in turn: SIGKILL, keep working, restart, catch up.
    for (const victim of [0, 1, 2]) {
      await cluster.stopMember(victim);
      const lease = await s.grantLease(30);
      const t0 = performance.now();
      for (let i = 0; i < 25; i++) {
        const key = `/k/loss${victim}/${i}`;
        const a = await s.create(key, 'a', i % 5 === 0 ? { lease } : {});
        writes.push({ key, rev: a.revision });
        const b = await s.update(key, 'b', a.revision);
        writes.push({ key, rev: b.revision });
        await expectCode(s.update(key, 'stale', a.revision), E.DATASTORE_CONFLICT);
        assert.equal((await s.get(key))?.value, 'b');
        if (i % 10 === 0) await s.keepAlive(lease);
      }
      const listed = await s.list(`/k/loss${victim}/`);
      assert.equal(listed.entries.length, 25);
      console.log(`etcd member ${victim} down: 25 x (create, CAS, stale CAS, get) in ${(performance.now() - t0).toFixed(0)} ms`);
      const last = writes[writes.length - 1]!.rev;
      await eventually(`watch caught up with member ${victim} down`, () => arrived.has(last), 10_000);
      const t1 = performance.now();
      await cluster.startMember(victim);
      assert.notEqual(cluster.pid(victim), pids[victim], 'a new process');
      await eventually(`member ${victim} caught up to revision ${last}`, async () => (await memberRevision(cluster.endpoints[victim]!)) >= last, 20_000);
      console.log(`etcd member ${victim} restarted and caught up in ${(performance.now() - t1).toFixed(0)} ms`);
    }

    // A hung member (SIGSTOP: connections open, no answers): attempts on it time out and fail over.
    // A follower is hung: a hung leader adds an election (1 s timeout, longer on a loaded machine)
    // on top of the attempts on the hung member, which is the kill loop's case above, not this one.
    // Member 0 when it is a follower (its restart is the oldest, so the client's circuit breaker for
    // it has long closed and calls really reach the hung process), else member 1.
    let hung = -1;
    await eventually('a leader is elected', async () => {
      for (const i of [0, 1, 2]) if (await isLeader(cluster.endpoints[i]!)) hung = i === 0 ? 1 : 0;
      return hung >= 0;
    }, 10_000);
    cluster.pauseMember(hung, true);
    try {
      const t0 = performance.now();
      for (let i = 0; i < 10; i++) {
        const key = `/k/hung/${i}`;
        const a = await s.create(key, 'a');
        writes.push({ key, rev: a.revision });
        const b = await s.update(key, 'b', a.revision);
        writes.push({ key, rev: b.revision });
        assert.equal((await s.get(key))?.value, 'b');
      }
      console.log(`etcd member ${hung} (a follower) hung: 10 x (create, CAS, get) in ${(performance.now() - t0).toFixed(0)} ms`);
      const last = writes[writes.length - 1]!.rev;
      await eventually(`watch caught up with member ${hung} hung`, () => arrived.has(last), 15_000);
    } finally {
      cluster.pauseMember(hung, false);
    }

    // The watch's member was killed at least once, so its stream failed over.
    assert.ok(watch instanceof EtcdWatch && watch.restarts >= 1, 'the watch stream was re-created on another member');
    // The watch saw every write exactly once, in revision order, and never broke.
    const last = writes[writes.length - 1]!.rev;
    await eventually('all events', () => arrived.has(last), 10_000);
    assert.deepEqual(log.errors, []);
    assert.deepEqual(
      log.events.map((e) => `${keyOf(e)}@${revOf(e)}`),
      writes.map((w) => `${w.key}@${w.rev}`),
    );

    // Two of three members down: bounded DATASTORE_UNAVAILABLE, no hang.
    await cluster.stopMember(1);
    await cluster.stopMember(2);
    const calls: [string, () => Promise<unknown>][] = [
      ['get', () => s.get('/k/lat/1')],
      ['list', () => s.list('/k/lat/')],
      ['create', () => s.create('/k/noquorum', 'x')],
      ['update', () => s.update('/k/lat/1', 'x', 1)],
      ['delete', () => s.delete('/k/lat/2')],
      ['grantLease', () => s.grantLease(10)],
    ];
    for (const [what, call] of calls) {
      const t = performance.now();
      await assert.rejects(call(), (e: unknown) => {
        assert.ok(isPodnetError(e, E.DATASTORE_UNAVAILABLE), `${what}: ${String(e)}`);
        assert.equal(e.cni, 11);
        return true;
      });
      const took = performance.now() - t;
      console.log(`etcd 2 of 3 down: ${what} failed with DATASTORE_UNAVAILABLE after ${took.toFixed(0)} ms`);
      assert.ok(took < REQUEST_MS + 1000, `${what} took ${took.toFixed(0)} ms (limit ${REQUEST_MS})`);
    }

    // Quorum back: writes succeed again and the same watch delivers them.
    await cluster.startMember(1);
    let after = 0;
    await eventually('a write succeeds with quorum back', async () => {
      try {
        after = (await s.create('/k/after', 'ok')).revision;
        return true;
      } catch (e) {
        // An earlier attempt that timed out may still have been committed.
        if (isPodnetError(e, E.DATASTORE_ALREADY_EXISTS)) {
          after = (await s.get('/k/after'))?.revision ?? 0;
          return after > 0;
        }
        if (isPodnetError(e, E.DATASTORE_UNAVAILABLE)) return false;
        throw e;
      }
    }, 20_000);
    await eventually('watch delivers after quorum is back', () => arrived.has(after), 10_000);
    assert.deepEqual(log.errors, []);
  } finally {
    watch?.close();
    await s.close();
    await cluster.stopAll();
  }
  for (const pid of pids) if (pid !== undefined) assert.throws(() => process.kill(pid, 0), `etcd pid ${pid} is gone`);
});

test('etcd cluster inside a network namespace: members on the namespace addresses, kill and restart', { timeout: 120_000 }, async () => {
  const ns = `pnetcd${process.pid}`;
  await delNetns(ns);
  await addNetns(ns);
  let cluster: EtcdCluster | undefined;
  try {
    // 127.0.0.0/8 is on lo in every namespace: three member addresses inside this one.
    const ips = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
    cluster = await EtcdCluster.start({ hostIps: ips, netns: [ns, ns, ns], clientPort: 2379, peerPort: 2380 });
    assert.deepEqual(cluster.endpoints, ips.map((ip) => `http://${ip}:2379`));
    const listening = (await execIn(ns, 'ss', ['-Htln'])).stdout;
    for (const ip of ips) assert.match(listening, new RegExp(`${ip.replace(/\./g, '\\.')}:2379`), 'listens inside the namespace');
    const root = await new Promise<boolean>((resolve) => {
      const sock = connect({ host: '127.0.0.11', port: 2379 }, () => {
        sock.destroy();
        resolve(true);
      });
      sock.on('error', () => resolve(false));
    });
    assert.equal(root, false, 'nothing of it is reachable from the root namespace');
    await cluster.stopMember(1);
    await cluster.startMember(1);
    assert.ok(cluster.isRunning(1));
  } finally {
    const pids = cluster ? [0, 1, 2].map((i) => cluster?.pid(i)) : [];
    await cluster?.stopAll();
    await delNetns(ns);
    for (const pid of pids) if (pid !== undefined) assert.throws(() => process.kill(pid, 0), `etcd pid ${pid} is gone`);
  }
});

test('etcd lab: refuses to listen on a non-loopback address outside a namespace', async () => {
  await assert.rejects(EtcdCluster.start({ hostIps: ['192.0.2.2'] }), /not a loopback address/);
  await assert.rejects(EtcdCluster.start({ hostIps: ['127.0.0.1'], netns: ['x'] }), /fixed client and peer ports/);
  await assert.rejects(EtcdCluster.start({ hostIps: ['127.0.0.1', '127.0.0.1'], clientPort: 2379, peerPort: 2380 }), /share the address/);
});
