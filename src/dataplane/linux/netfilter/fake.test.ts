/** The in-memory FlowSources behaves like the real readers where flow logic can tell (no root). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../../../common/errors.js';
import type { FlowReaderError } from './errors.js';
import { FakeFlowSources, makeConntrackEvent, makeNflogPacket } from './fake.js';
import type { ConntrackEvent, FlowSources, NflogPacket } from './types.js';

test('conntrack: delivered asynchronously, in batches of batchMax, filtered by subscribed type and namespace', async () => {
  const fake = new FakeFlowSources();
  const src: FlowSources = fake;
  const batches: (readonly ConntrackEvent[])[] = [];
  const h = await src.openConntrackEvents({ netns: '/run/netns/n1', events: ['destroy'], batchMax: 2, onEvents: (r) => batches.push(r), onError: () => undefined });
  fake.emitConntrack([makeConntrackEvent({ type: 'new' }), ...[1, 2, 3].map((id) => makeConntrackEvent({ type: 'destroy', id }))], '/run/netns/n1');
  fake.emitConntrack([makeConntrackEvent({ type: 'destroy', id: 9 })], '/run/netns/other');
  assert.equal(batches.length, 0, 'nothing synchronously');
  await fake.idle();
  assert.deepEqual(batches.map((b) => b.map((e) => e.id)), [[1, 2], [3]]);
  assert.deepEqual(h.stats(), { received: 3, lost: 0, overruns: 0, decodeErrors: 0, dropped: 0, batches: 2 });
  fake.overrun(5, '/run/netns/n1');
  assert.equal(h.stats().lost, 5);
  assert.equal(h.stats().overruns, 1);
  await h.close();
  fake.emitConntrack([makeConntrackEvent({ type: 'destroy' })], '/run/netns/n1');
  await fake.idle();
  assert.equal(batches.length, 2, 'nothing after close');
  assert.deepEqual(fake.openCount(), { conntrack: 0, nflog: 0 });
});

test('nflog: one reader per group and namespace; packets go to their group only', async () => {
  const fake = new FakeFlowSources();
  const got: NflogPacket[] = [];
  const h = await fake.openNflog({ group: 100, onPackets: (r) => got.push(...r), onError: () => undefined });
  await assert.rejects(fake.openNflog({ group: 100, onPackets: () => undefined, onError: () => undefined }), (e) => isPodnetError(e, 'NETFILTER_GROUP_IN_USE'));
  const other = await fake.openNflog({ group: 100, netns: '/run/netns/x', onPackets: () => undefined, onError: () => undefined });
  fake.emitNflog([makeNflogPacket({ prefix: 'pn drop a ' }), makeNflogPacket({ group: 5 })]);
  await fake.idle();
  assert.deepEqual(got.map((p) => p.prefix), ['pn drop a ']);
  await h.close();
  await other.close();
  const again = await fake.openNflog({ group: 100, onPackets: () => undefined, onError: () => undefined });
  await again.close();
});

test('same option validation as the real readers; injected open failures, decode errors and crashes', async () => {
  const fake = new FakeFlowSources();
  await assert.rejects(fake.openNflog({ group: -1, onPackets: () => undefined, onError: () => undefined }), (e) => isPodnetError(e, 'NETFILTER_INVALID_OPTIONS'));
  await assert.rejects(fake.openConntrackEvents({ events: ['bogus' as 'new'], onEvents: () => undefined, onError: () => undefined }), (e) => isPodnetError(e, 'NETFILTER_INVALID_OPTIONS'));
  fake.failNextOpen();
  await assert.rejects(fake.openConntrackEvents({ onEvents: () => undefined, onError: () => undefined }), (e) => isPodnetError(e, 'NETFILTER_INJECTED'));
  const errors: FlowReaderError[] = [];
  const got: ConntrackEvent[] = [];
  const h = await fake.openConntrackEvents({ onEvents: (r) => got.push(...r), onError: (e) => errors.push(e) });
  fake.decodeError('bad message');
  assert.deepEqual(errors.map((e) => [e.code, e.fatal]), [['NETFILTER_DECODE_FAILED', false]]);
  assert.equal(h.stats().decodeErrors, 1);
  fake.crash();
  assert.deepEqual(errors.map((e) => [e.code, e.fatal]).at(-1), ['NETFILTER_INJECTED', true]);
  fake.emitConntrack([makeConntrackEvent()]);
  await fake.idle();
  assert.equal(got.length, 0, 'a crashed reader delivers nothing');
  assert.deepEqual(fake.openCount(), { conntrack: 0, nflog: 0 });
});

test('backlog beyond batchMax x maxPendingBatches is dropped and counted', async () => {
  const fake = new FakeFlowSources();
  let n = 0;
  const h = await fake.openConntrackEvents({ batchMax: 10, maxPendingBatches: 2, onEvents: (r) => (n += r.length), onError: () => undefined });
  fake.emitConntrack(Array.from({ length: 50 }, (_, i) => makeConntrackEvent({ id: i })));
  await fake.idle();
  assert.equal(n, 20);
  assert.deepEqual([h.stats().received, h.stats().dropped], [50, 30]);
  await h.close();
});

test('accounting is recorded per namespace', async () => {
  const fake = new FakeFlowSources();
  assert.equal(fake.accountingOf('/run/netns/a'), undefined);
  assert.deepEqual(await fake.enableConntrackAccounting('/run/netns/a'), { acct: true, timestamp: true, events: 1 });
  assert.equal(fake.accountingOf('/run/netns/a')?.acct, true);
  assert.equal(fake.accountingOf(), undefined);
});

test('record builders default to a consistent TCP flow', () => {
  const e = makeConntrackEvent({ type: 'destroy' });
  assert.deepEqual([e.orig.sport, e.reply?.dport, e.family, e.protocol], [40000, 40000, 4, 6]);
  assert.equal(makeConntrackEvent({ orig: { src: 'fd00::1', dst: 'fd00::2', protocol: 58, icmpType: 128 } }).family, 6);
  assert.equal(makeNflogPacket().packet?.dport, 80);
});
