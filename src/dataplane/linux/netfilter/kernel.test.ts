/**
 * Privileged: the readers against the real kernel, in a client/server pair of throw-away
 * namespaces with an nft table of our own in the server one. Nothing touches the root namespace.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isPodnetError } from '../../../common/errors.js';
import { NetnsPool, privilegedSkip } from '../netns-fixture.js';
import { openConntrackEvents } from './conntrack-events.js';
import type { FlowReaderError } from './errors.js';
import { openNflog } from './nflog.js';
import { enableConntrackAccounting, readConntrackAccounting } from './sysctl.js';
import { threadCount, threadPolicy } from './thread.js';

const SCHED_IDLE = 5;
import { type Pair, makePair, nftIn, pingOnce, reapExpired, shortTimeouts, sleep, startServer, stopChild, traffic, waitFor } from './topology-fixture.js';
import type { ConntrackEvent, NflogPacket } from './types.js';

const skip = privilegedSkip();
const pool = new NetnsPool();
let pair: Pair;
let server: ChildProcess | undefined;
const PORT = 8080;
const DROP_PORT = 9;

const RULES = `table inet pntest {
  chain input {
    type filter hook input priority 0; policy accept;
    ct state new counter
    tcp dport ${DROP_PORT} log prefix "pn drop " group 100 drop
    meta l4proto tcp log prefix "pn test " group 100
  }
}
`;

before(async () => {
  if (skip) return;
  pair = makePair(pool);
  const acct = await enableConntrackAccounting(pair.serverPath);
  assert.equal(acct.acct, true);
  assert.equal(acct.timestamp, true);
  shortTimeouts(pair.serverPath);
  nftIn(pair.server, RULES);
  server = await startServer(pair.server, PORT);
});

after(async () => {
  await stopChild(server);
  pool.cleanup();
});

const errorsOf = (): { errors: FlowReaderError[]; onError: (e: FlowReaderError) => void } => {
  const errors: FlowReaderError[] = [];
  return { errors, onError: (e) => errors.push(e) };
};

test('accounting is per namespace: the client namespace keeps its defaults', { skip }, () => {
  const client = readConntrackAccounting(pool.path(pair.client));
  assert.equal(client.acct, false);
  assert.equal(client.timestamp, false);
  assert.equal(readConntrackAccounting(pair.serverPath).acct, true);
});

test('conntrack: NEW then DESTROY (with counters and timestamps) for TCP, UDP, ICMP and TCP over IPv6', { skip }, async () => {
  const events: ConntrackEvent[] = [];
  const { errors, onError } = errorsOf();
  const h = await openConntrackEvents({ netns: pair.serverPath, events: ['new', 'destroy'], onEvents: (r) => events.push(...r), onError });
  try {
    assert.ok(h.tid > 0);
    const t0 = Date.now();
    assert.equal(traffic(pair.client, 'tcp', pair.serverIp, PORT, 3, 1).ok, 3);
    assert.equal(traffic(pair.client, 'udp', pair.serverIp, PORT, 2).answers, 2);
    pingOnce(pair.client, pair.serverIp);
    assert.equal(traffic(pair.client, 'tcp', pair.serverIp6, PORT, 1, 1).ok, 1);
    const isOurs = (e: ConntrackEvent): boolean => e.orig.src === pair.clientIp || e.orig.src === pair.clientIp6;
    const count = (type: string, proto: number): number => events.filter((e) => isOurs(e) && e.type === type && e.protocol === proto).length;
    assert.ok(await waitFor(() => count('new', 6) === 4 && count('new', 17) === 1 && count('new', 1) === 1, 5000), `NEW events: ${JSON.stringify(events)}`);
    // Timeouts are 1 s here; a table dump reaps what expired instead of waiting for conntrack's GC.
    await sleep(1200);
    assert.ok(await waitFor(() => count('destroy', 6) === 4 && count('destroy', 17) === 1 && count('destroy', 1) === 1, 10_000, () => reapExpired(pair.serverPath), 500), `DESTROY events: ${JSON.stringify(events.filter((e) => e.type === 'destroy'))}`);

    const tcpNew = events.find((e) => isOurs(e) && e.type === 'new' && e.protocol === 6 && e.family === 4)!;
    assert.deepEqual({ ...tcpNew.orig, sport: 0 }, { src: pair.clientIp, dst: pair.serverIp, protocol: 6, sport: 0, dport: PORT });
    assert.deepEqual(tcpNew.reply, { src: pair.serverIp, dst: pair.clientIp, protocol: 6, sport: PORT, dport: tcpNew.orig.sport });
    assert.equal(tcpNew.tcpState, 'SYN_SENT');
    assert.ok(tcpNew.id !== undefined);
    const tcpEnd = events.find((e) => e.type === 'destroy' && e.id === tcpNew.id && e.orig.sport === tcpNew.orig.sport)!;
    assert.ok(tcpEnd, 'the DESTROY of the same connection carries the same id');
    assert.ok(tcpEnd.counters?.orig && tcpEnd.counters.orig.packets >= 4 && tcpEnd.counters.orig.bytes > 200, JSON.stringify(tcpEnd.counters));
    assert.ok(tcpEnd.counters?.reply && tcpEnd.counters.reply.packets >= 3);
    assert.ok(tcpEnd.startMs! >= t0 - 1000 && tcpEnd.stopMs! > tcpEnd.startMs! && tcpEnd.stopMs! <= Date.now() + 1000, `${tcpEnd.startMs} ${tcpEnd.stopMs}`);

    const icmp = events.find((e) => isOurs(e) && e.type === 'destroy' && e.protocol === 1)!;
    assert.equal(icmp.orig.icmpType, 8);
    assert.equal(icmp.reply?.icmpType, 0);
    assert.equal(icmp.orig.icmpId, icmp.reply?.icmpId);
    assert.deepEqual(icmp.counters, { orig: { packets: 1, bytes: 84 }, reply: { packets: 1, bytes: 84 } });
    const udp = events.find((e) => isOurs(e) && e.type === 'destroy' && e.protocol === 17)!;
    assert.equal(udp.orig.dport, PORT);
    assert.equal(udp.counters?.orig?.packets, 2);
    const v6 = events.find((e) => e.type === 'destroy' && e.family === 6)!;
    assert.equal(v6.orig.src, pair.clientIp6);
    assert.equal(v6.orig.dst, pair.serverIp6);

    const s = h.stats();
    assert.equal(s.received, events.length);
    assert.deepEqual([s.lost, s.overruns, s.decodeErrors, s.dropped], [0, 0, 0, 0]);
    assert.deepEqual(errors, []);
  } finally {
    await h.close();
  }
});

test('conntrack: UPDATE events follow a TCP connection through its states', { skip }, async () => {
  const events: ConntrackEvent[] = [];
  const h = await openConntrackEvents({ netns: pair.serverPath, events: ['update'], flushMs: 10, onEvents: (r) => events.push(...r), onError: () => undefined });
  try {
    assert.equal(traffic(pair.client, 'tcp', pair.serverIp, PORT, 1, 1).ok, 1);
    assert.ok(await waitFor(() => events.some((e) => e.tcpState === 'ESTABLISHED'), 5000), JSON.stringify(events));
    assert.ok(events.every((e) => e.type === 'update'));
    assert.ok(events.some((e) => e.tcpState === 'TIME_WAIT' || e.tcpState === 'FIN_WAIT' || e.tcpState === 'CLOSE_WAIT' || e.tcpState === 'LAST_ACK'), JSON.stringify(events.map((e) => e.tcpState)));
  } finally {
    await h.close();
  }
});

test('NFLOG: prefix, 5-tuple, flags and input device of accepted and dropped packets', { skip }, async () => {
  const packets: NflogPacket[] = [];
  const { errors, onError } = errorsOf();
  const h = await openNflog({ netns: pair.serverPath, group: 100, copyRange: 128, onPackets: (r) => packets.push(...r), onError });
  try {
    assert.equal(traffic(pair.client, 'tcp', pair.serverIp, PORT, 1, 1).ok, 1);
    assert.equal(traffic(pair.client, 'tcp', pair.serverIp, DROP_PORT, 1, 1, 100, 300).failed, 1);
    assert.equal(traffic(pair.client, 'tcp', pair.serverIp6, PORT, 1, 1).ok, 1);
    const syn = (p: NflogPacket): boolean => p.packet?.tcpFlags === 0x02;
    assert.ok(await waitFor(() => packets.filter(syn).length >= 3, 5000), JSON.stringify(packets));
    const accepted = packets.find((p) => syn(p) && p.prefix === 'pn test ' && p.packet?.ipVersion === 4)!;
    assert.equal(accepted.group, 100);
    assert.equal(accepted.family, 2);
    assert.equal(accepted.hookName, 'input');
    assert.equal(accepted.indevName, 'vb');
    assert.ok(accepted.timestampMs! > Date.now() - 60_000);
    assert.deepEqual({ ...accepted.packet!, sport: 0, length: 0, ttl: 0 }, { ipVersion: 4, src: pair.clientIp, dst: pair.serverIp, protocol: 6, sport: 0, dport: PORT, tcpFlags: 2, length: 0, ttl: 0 });
    assert.ok(accepted.capturedLength <= 128 && accepted.capturedLength >= 40);
    const dropped = packets.filter((p) => p.prefix === 'pn drop ');
    assert.ok(dropped.length >= 1);
    assert.deepEqual([dropped[0]!.packet?.dst, dropped[0]!.packet?.dport, dropped[0]!.packet?.tcpFlags], [pair.serverIp, DROP_PORT, 2]);
    assert.ok(!packets.some((p) => p.prefix === 'pn test ' && p.packet?.dport === DROP_PORT), 'the drop rule ended evaluation');
    const v6 = packets.find((p) => syn(p) && p.packet?.ipVersion === 6)!;
    assert.deepEqual([v6.family, v6.packet?.src, v6.packet?.dst, v6.packet?.dport], [10, pair.clientIp6, pair.serverIp6, PORT]);
    const seqs = packets.map((p) => p.seq!);
    assert.deepEqual(seqs, seqs.map((_, i) => seqs[0]! + i), 'instance sequence numbers without gaps');
    assert.deepEqual([h.stats().lost, h.stats().decodeErrors], [0, 0]);
    assert.deepEqual(errors, []);
  } finally {
    await h.close();
  }
});

test('copy range 0 logs metadata only', { skip }, async () => {
  const packets: NflogPacket[] = [];
  const h = await openNflog({ netns: pair.serverPath, group: 100, copyRange: 0, resolveNames: false, onPackets: (r) => packets.push(...r), onError: () => undefined });
  try {
    traffic(pair.client, 'tcp', pair.serverIp, PORT, 1, 1);
    assert.ok(await waitFor(() => packets.length > 0, 5000));
    assert.equal(packets[0]!.capturedLength, 0);
    assert.equal(packets[0]!.packet, undefined);
    assert.equal(packets[0]!.indevName, undefined);
    assert.equal(packets[0]!.prefix, 'pn test ');
  } finally {
    await h.close();
  }
});

const fdCount = (): number => readdirSync('/proc/self/fd').length;

test('close() ends the reader thread and its socket, leaves no handles, and frees the NFLOG group', { skip }, async () => {
  const threads0 = threadCount();
  const fds0 = fdCount();
  const res0 = process.getActiveResourcesInfo().sort();
  const loop = monitorEventLoopDelay({ resolution: 5 });
  const ct = await openConntrackEvents({ netns: pair.serverPath, events: ['new', 'update', 'destroy'], onEvents: () => undefined, onError: () => undefined });
  const lg = await openNflog({ netns: pair.serverPath, group: 100, onPackets: () => undefined, onError: () => undefined });
  assert.ok(threadCount() >= threads0 + 2);
  assert.ok(fdCount() >= fds0 + 2);
  // Both threads sit in recv(2) meanwhile: the event loop must not notice.
  loop.enable();
  await sleep(600);
  loop.disable();
  assert.ok(loop.max / 1e6 < 100, `event loop delay max ${loop.max / 1e6} ms`);
  const t0 = Date.now();
  await Promise.all([ct.close(), lg.close()]);
  assert.ok(Date.now() - t0 < 2000, `close took ${Date.now() - t0} ms`);
  await ct.close(); // idempotent
  assert.ok(await waitFor(() => threadCount() <= threads0, 3000), `threads ${threadCount()} vs ${threads0}`);
  assert.equal(fdCount(), fds0);
  assert.deepEqual(process.getActiveResourcesInfo().sort(), res0);
  const again = await openNflog({ netns: pair.serverPath, group: 100, onPackets: () => undefined, onError: () => undefined });
  await again.close();
});

test('refusals: a bound NFLOG group, a missing namespace, bad options', { skip }, async () => {
  const first = await openNflog({ netns: pair.serverPath, group: 101, onPackets: () => undefined, onError: () => undefined });
  try {
    await assert.rejects(openNflog({ netns: pair.serverPath, group: 101, onPackets: () => undefined, onError: () => undefined }), (e) => isPodnetError(e, 'NETFILTER_GROUP_IN_USE'));
    // The same group in another namespace is another instance.
    const other = await openNflog({ netns: pool.path(pair.client), group: 101, onPackets: () => undefined, onError: () => undefined });
    await other.close();
  } finally {
    await first.close();
  }
  await assert.rejects(openConntrackEvents({ netns: `/run/netns/pnt-${pool.tag}-absent`, onEvents: () => undefined, onError: () => undefined }), (e) => isPodnetError(e, 'DATAPLANE_NETNS_NOT_FOUND'));
  await assert.rejects(openNflog({ group: 70000, onPackets: () => undefined, onError: () => undefined }), (e) => isPodnetError(e, 'NETFILTER_INVALID_OPTIONS'));
  await assert.rejects(openConntrackEvents({ events: [], onEvents: () => undefined, onError: () => undefined }), (e) => isPodnetError(e, 'NETFILTER_INVALID_OPTIONS'));
});

test('without CAP_NET_ADMIN both readers refuse to open with NETFILTER_OPEN_FAILED', { skip: skip || (existsSync('/usr/bin/setpriv') ? false : 'needs setpriv (util-linux)') }, () => {
  // A child process as nobody inside the client test namespace tries both and prints the codes.
  const script = `const d = ${JSON.stringify(__dirname)};
    const o = { onEvents() {}, onPackets() {}, onError() {} };
    Promise.all([require(d + '/conntrack-events.js').openConntrackEvents(o), require(d + '/nflog.js').openNflog({ ...o, group: 5 })].map((p) => p.then(async (h) => { await h.close(); return 'opened'; }, (e) => e.code + ' ' + e.errno)))
      .then((r) => console.log(JSON.stringify(r)));`;
  const out = execFileSync('ip', ['netns', 'exec', pair.client, 'setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.deepEqual(JSON.parse(out), ['NETFILTER_OPEN_FAILED EPERM', 'NETFILTER_OPEN_FAILED EPERM']);
});

test('overrun: a tiny receive buffer and a burst of 3000 new flows count ENOBUFS, and reading goes on', { skip }, async () => {
  const events: ConntrackEvent[] = [];
  const { errors, onError } = errorsOf();
  const h = await openConntrackEvents({ netns: pair.serverPath, events: ['new'], rcvbufBytes: 4096, onEvents: (r) => events.push(...r), onError });
  try {
    traffic(pair.client, 'udp', pair.serverIp, 20000, 3000, 3000);
    await waitFor(() => h.stats().overruns > 0 && h.stats().received === events.length, 3000);
    const s = h.stats();
    assert.ok(s.overruns > 0, JSON.stringify(s));
    assert.equal(s.lost, s.overruns, 'conntrack counts one lost event per overrun (a lower bound)');
    assert.ok(s.received < 3000 && s.received > 0, JSON.stringify(s));
    const before = events.length;
    pingOnce(pair.client, pair.serverIp);
    assert.ok(await waitFor(() => events.slice(before).some((e) => e.protocol === 1), 3000), 'still reading after overruns');
    assert.deepEqual(errors, []);
  } finally {
    await h.close();
  }
});

test('idlePriority: the reader thread runs in SCHED_IDLE and still delivers; by default it does not', { skip }, async () => {
  const events: ConntrackEvent[] = [];
  const { errors, onError } = errorsOf();
  const idle = await openConntrackEvents({ netns: pair.serverPath, events: ['new'], idlePriority: true, flushMs: 10, onEvents: (r) => events.push(...r), onError });
  const normal = await openConntrackEvents({ netns: pair.serverPath, events: ['new'], flushMs: 10, onEvents: () => undefined, onError });
  try {
    // The policy is set right after "ready": wait for it rather than race the thread.
    assert.ok(await waitFor(() => threadPolicy(idle.tid) === SCHED_IDLE, 2000), `policy of the idle reader: ${threadPolicy(idle.tid)}`);
    assert.equal(threadPolicy(normal.tid), 0, 'SCHED_OTHER by default');
    assert.equal(traffic(pair.client, 'udp', pair.serverIp, 21000, 5, 5).sent, 5);
    assert.ok(await waitFor(() => events.filter((e) => e.protocol === 17 && e.orig.dport !== undefined && e.orig.dport >= 21000 && e.orig.dport < 21005).length === 5, 5000), 'the idle reader delivers on an idle machine');
    assert.deepEqual(errors, []);
  } finally {
    await idle.close();
    await normal.close();
  }
});
