import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp } from '../../common/ip.js';
import { buildPartition, lookupPartition, type RankedBox } from './partition.js';
import { ALL_SPANS, type AddrSet, ipBlockAddrSet, LINEAR_MAX, linear, mergeIntervals, protoSpan, spanBoxes, subtractIntervals } from './space.js';
import { unionOfRules } from './combine.js';

const v4 = (s: string): bigint => (parseIp(s) as { value: bigint }).value;
const iv = (lo: string, hi: string): { lo: bigint; hi: bigint } => ({ lo: v4(lo), hi: v4(hi) });

test('interval merge and subtraction', () => {
  assert.deepEqual(mergeIntervals([iv('10.0.0.5', '10.0.0.9'), iv('10.0.0.1', '10.0.0.4'), iv('10.0.0.20', '10.0.0.30'), iv('10.0.0.25', '10.0.0.26')]), [iv('10.0.0.1', '10.0.0.9'), iv('10.0.0.20', '10.0.0.30')]);
  assert.deepEqual(subtractIntervals([iv('10.0.0.0', '10.0.0.255')], [iv('10.0.0.0', '10.0.0.9'), iv('10.0.0.100', '10.0.0.100'), iv('10.0.0.250', '10.0.1.5')]), [iv('10.0.0.10', '10.0.0.99'), iv('10.0.0.101', '10.0.0.249')]);
});

test('ipBlock except becomes disjoint intervals', () => {
  assert.deepEqual(ipBlockAddrSet({ cidr: '10.0.0.0/24', except: ['10.0.0.64/26', '10.0.0.128/25'] }), { v4: [iv('10.0.0.0', '10.0.0.63')], v6: [] });
  const six = ipBlockAddrSet({ cidr: 'fd00::/64', except: ['fd00::/65'] });
  assert.equal(six.v4.length, 0);
  assert.equal(six.v6.length, 1);
});

test('the linear protocol/port space splits back into nft boxes', () => {
  assert.deepEqual(spanBoxes(protoSpan(6, 80, 81)), [{ protoLo: 6, protoHi: 6, portLo: 80, portHi: 81 }]);
  assert.deepEqual(spanBoxes({ lo: 0, hi: LINEAR_MAX }), [{ protoLo: 0, protoHi: 255, portLo: 0, portHi: 65535 }]);
  assert.deepEqual(spanBoxes({ lo: linear(6, 100), hi: linear(17, 5) }), [
    { protoLo: 6, protoHi: 6, portLo: 100, portHi: 65535 },
    { protoLo: 7, protoHi: 16, portLo: 0, portHi: 65535 },
    { protoLo: 17, protoHi: 17, portLo: 0, portHi: 5 },
  ]);
  assert.deepEqual(spanBoxes({ lo: linear(7, 0), hi: linear(16, 65535) }), [{ protoLo: 7, protoHi: 16, portLo: 0, portHi: 65535 }]);
});

test('partition: union keeps every allowing rule, merges equal neighbours, omits gaps', () => {
  const set = (...ivs: { lo: bigint; hi: bigint }[]): AddrSet => ({ v4: ivs, v6: [] });
  const items: RankedBox[] = [
    { rank: 0, box: { addresses: set(iv('10.0.0.0', '10.0.0.255')), spans: [protoSpan(6, 80, 80)] } },
    { rank: 1, box: { addresses: set(iv('10.0.0.128', '10.0.1.255')), spans: ALL_SPANS } },
  ];
  const p = buildPartition(items, unionOfRules);
  assert.equal(p.v6.length, 0);
  assert.deepEqual(p.v4.map((r) => [r.lo, r.hi, r.spans.length]), [
    [v4('10.0.0.0'), v4('10.0.0.127'), 1],
    [v4('10.0.0.128'), v4('10.0.0.255'), 3],
    [v4('10.0.1.0'), v4('10.0.1.255'), 1],
  ]);
  assert.deepEqual(lookupPartition(p, 4, v4('10.0.0.200'), linear(6, 80)), [0, 1]);
  assert.deepEqual(lookupPartition(p, 4, v4('10.0.0.200'), linear(6, 81)), [1]);
  assert.equal(lookupPartition(p, 4, v4('10.0.0.5'), linear(6, 81)), undefined);
  assert.equal(lookupPartition(p, 4, v4('10.0.2.0'), linear(6, 80)), undefined);
});

test('partition: touching but unmerged intervals of one box keep it active across the seam', () => {
  const items: RankedBox[] = [{ rank: 0, box: { addresses: { v4: [iv('10.0.0.0', '10.0.0.5'), iv('10.0.0.6', '10.0.0.9')], v6: [] }, spans: ALL_SPANS } }];
  const p = buildPartition(items, unionOfRules);
  assert.deepEqual(p.v4.map((r) => [r.lo, r.hi]), [[v4('10.0.0.0'), v4('10.0.0.9')]]);
});

test('partition equals brute force on random boxes (few and many boxes, touching and overlapping intervals)', () => {
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (const count of [2, 5, 12, 40]) {
    for (let round = 0; round < 20; round++) {
      const items: RankedBox[] = [];
      for (let k = 0; k < count; k++) {
        const ivs: { lo: bigint; hi: bigint }[] = [];
        let at = rnd(20);
        while (at < 256) {
          const len = 1 + rnd(30);
          ivs.push({ lo: v4('10.0.0.0') + BigInt(at), hi: v4('10.0.0.0') + BigInt(Math.min(255, at + len - 1)) });
          at += len + rnd(3); // sometimes touching (gap 0)
          if (rnd(4) === 0) break;
        }
        const proto = [6, 17, 132][rnd(3)] as number;
        const lo = rnd(100);
        const spans = rnd(5) === 0 ? ALL_SPANS : [protoSpan(proto, lo, lo + rnd(50))];
        items.push({ rank: rnd(count), box: { addresses: { v4: ivs, v6: [] }, spans } });
      }
      const p = buildPartition(items, unionOfRules);
      for (let a = 0; a < 256; a += 1) {
        const addr = v4('10.0.0.0') + BigInt(a);
        for (const lin of [linear(6, 10), linear(17, 60), linear(132, 120), linear(1, 0), linear(6, 99)]) {
          const want = [...new Set(items.filter((it) => it.box.addresses.v4.some((iv) => addr >= iv.lo && addr <= iv.hi) && it.box.spans.some((s) => lin >= s.lo && lin <= s.hi)).map((it) => it.rank))].sort((x, y) => x - y);
          const got = lookupPartition(p, 4, addr, lin) ?? [];
          assert.deepEqual(got, want, `count ${count} round ${round} addr .${a} lin ${lin}`);
        }
      }
      for (let i = 1; i < p.v4.length; i++) assert.ok((p.v4[i - 1] as { hi: bigint }).hi < (p.v4[i] as { lo: bigint }).lo, 'regions are disjoint and sorted');
    }
  }
});
