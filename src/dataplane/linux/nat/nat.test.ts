/** The NAT table's script text and the parsing of nft's JSON, without nft. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../../../common/errors.js';
import { elementCidr, parseNatTable } from './observe.js';
import { deleteScript, elementScript, fullScript, natSets, ruleComment } from './ruleset.js';

const sets = natSets({ natCidrs: ['10.244.0.0/16', 'fd10:244::/64'], clusterCidrs: ['10.244.0.0/16', '10.250.0.0/16', 'fd10:244::/64'] });

test('sets split by family; only canonical network CIDRs get into a script', () => {
  assert.deepEqual(sets, { nat4: ['10.244.0.0/16'], cluster4: ['10.244.0.0/16', '10.250.0.0/16'], nat6: ['fd10:244::/64'], cluster6: ['fd10:244::/64'] });
  for (const bad of ['10.244.0.1/16', '10.0.0.0/8 }', 'FD10::/64', '10.0.0.0', '"; flush ruleset']) {
    assert.throws(() => natSets({ natCidrs: [bad], clusterCidrs: [] }), (e) => isPodnetError(e, 'CLUSTER_INVALID_DESIRED'), bad);
  }
});

test('the full script replaces the table in one transaction; empty sets have no elements line', () => {
  const s = fullScript({ ...sets, nat6: [], cluster6: [] });
  assert.match(s, /^add table inet podnet-nat\ndelete table inet podnet-nat\ntable inet podnet-nat \{\n/);
  assert.match(s, /set cluster4 \{\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = \{ 10\.244\.0\.0\/16, 10\.250\.0\.0\/16 \}\n\t\}/);
  assert.match(s, /set nat6 \{\n\t\ttype ipv6_addr\n\t\tflags interval\n\t\}/);
  assert.match(s, /type nat hook postrouting priority srcnat; policy accept;/);
  assert.match(s, /ip saddr @nat4 ip daddr != @cluster4 counter masquerade fully-random comment "podnet egress masquerade v1 ipv4"/);
  assert.match(s, /ip6 saddr @nat6 ip6 daddr != @cluster6 counter masquerade fully-random comment "podnet egress masquerade v1 ipv6"/);
  assert.equal(deleteScript(), 'add table inet podnet-nat\ndelete table inet podnet-nat\n');
});

test('pool changes are element updates; equal sets need no script', () => {
  assert.equal(elementScript(sets, sets), undefined);
  const next = { ...sets, cluster4: ['10.244.0.0/16', '10.251.0.0/16'] };
  assert.equal(elementScript(sets, next), 'delete element inet podnet-nat cluster4 { 10.250.0.0/16 }\nadd element inet podnet-nat cluster4 { 10.251.0.0/16 }\n');
});

/** What nft 1.0.6 prints for the table fullScript makes (handles and counters vary). */
function nftJson(over: { comments?: unknown[]; elem4?: unknown[]; prio?: number; extraSet?: boolean } = {}): string {
  const set = (name: string, type: string, elem?: unknown[]) => ({ set: { family: 'inet', name, table: 'podnet-nat', type, handle: 1, flags: ['interval'], ...(elem ? { elem } : {}) } });
  const items: unknown[] = [
    { metainfo: { version: '1.0.6', json_schema_version: 1 } },
    { table: { family: 'inet', name: 'podnet-nat', handle: 7 } },
    set('nat4', 'ipv4_addr', over.elem4 ?? [{ prefix: { addr: '10.244.0.0', len: 16 } }]),
    set('cluster4', 'ipv4_addr', [{ prefix: { addr: '10.244.0.0', len: 16 } }, '10.9.9.9']),
    set('nat6', 'ipv6_addr'),
    set('cluster6', 'ipv6_addr', [{ prefix: { addr: 'fd10:244::', len: 64 } }]),
    ...(over.extraSet ? [set('other', 'ipv4_addr')] : []),
    { chain: { family: 'inet', table: 'podnet-nat', name: 'postrouting', handle: 5, type: 'nat', hook: 'postrouting', prio: over.prio ?? 100, policy: 'accept' } },
    ...(over.comments ?? [ruleComment(4), ruleComment(6)]).map((comment) => ({ rule: { family: 'inet', table: 'podnet-nat', chain: 'postrouting', handle: 9, comment, expr: [] } })),
  ];
  return JSON.stringify({ nftables: items });
}

test('parseNatTable: our table with its elements; anything else is foreign or absent', () => {
  assert.deepEqual(parseNatTable(nftJson()), {
    state: 'ours',
    sets: { nat4: ['10.244.0.0/16'], cluster4: ['10.244.0.0/16', '10.9.9.9/32'], nat6: [], cluster6: ['fd10:244::/64'] },
  });
  assert.deepEqual(parseNatTable(nftJson({ comments: ['podnet egress masquerade v0 ipv4', ruleComment(6)] })), { state: 'foreign' });
  assert.deepEqual(parseNatTable(nftJson({ comments: [ruleComment(4)] })), { state: 'foreign' });
  assert.deepEqual(parseNatTable(nftJson({ prio: 0 })), { state: 'foreign' });
  assert.deepEqual(parseNatTable(nftJson({ extraSet: true })), { state: 'foreign' });
  assert.deepEqual(parseNatTable(nftJson({ elem4: [{ range: ['10.0.0.1', '10.0.0.9'] }] })), { state: 'foreign' });
  assert.deepEqual(parseNatTable('{"nftables":[{"metainfo":{}}]}'), { state: 'absent' });
  assert.deepEqual(parseNatTable('not json'), { state: 'foreign' });
  assert.equal(elementCidr('fd10::1'), 'fd10::1/128');
  assert.equal(elementCidr({ prefix: { addr: '10.1.2.3', len: 8 } }), '10.0.0.0/8');
});
