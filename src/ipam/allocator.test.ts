import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../common/errors.js';
import { parseIp } from '../common/ip.js';
import { IpamErrors as E } from './errors.js';
import { validatePool } from './pool.js';
import { addressOfOrdinal, blockCidrOf, firstUnclaimedBlock, geometry, nextFreeOrdinal, ordinalOf, poolUsableCount, usableCount } from './allocator.js';
import { newBlock, parseBlock, serializeBlock, withAllocation, withoutOrdinals, ordinalsOf, type Allocation } from './block.js';
import { blockKey, parseBlockKey } from './keys.js';
import { validateAssign } from './request.js';

const attrs = { containerId: 'c1', ifname: 'eth0', node: 'n1', namespace: 'default', pod: 'web-0' };
const alloc = (handle: string): Allocation => ({ handle, attrs: { ...attrs, containerId: handle }, since: 1_700_000_000_000 });
const code = (c: string) => (e: unknown) => isPodnetError(e, c);

test('pool validation: defaults, canonical CIDRs, block sizes, names', () => {
  assert.deepEqual(validatePool({ name: 'default-ipv4', cidr: '10.244.0.0/16' }), {
    name: 'default-ipv4', cidr: '10.244.0.0/16', blockSize: 26, natOutgoing: true, disabled: false,
  });
  assert.equal(validatePool({ name: 'v6', cidr: 'fd00:10:244::/56' }).blockSize, 122);
  assert.equal(validatePool({ name: 'p', cidr: '10.0.0.0/29', blockSize: 30, natOutgoing: false }).natOutgoing, false);
  const bad: [object, RegExp][] = [
    [{ name: 'p', cidr: '10.244.0.1/16' }, /not canonical; did you mean 10\.244\.0\.0\/16/],
    [{ name: 'p', cidr: 'FD00::/64' }, /not canonical/],
    [{ name: 'p', cidr: '10.0.0.0/33' }, /invalid CIDR/],
    [{ name: 'p', cidr: '10.0.0.0' }, /invalid CIDR/],
    [{ name: 'p', cidr: '10.0.0.0/24', blockSize: 23 }, /block size/],
    [{ name: 'p', cidr: '10.0.0.0/8', blockSize: 16 }, /block size/],
    [{ name: 'p', cidr: '10.0.0.0/24', blockSize: 33 }, /block size/],
    [{ name: 'p', cidr: '10.0.0.0/24', blockSize: 26.5 }, /block size/],
    [{ name: 'p', cidr: '10.0.0.0/31', blockSize: 31 }, /no usable address/],
    [{ name: 'p', cidr: 'fd00::/128', blockSize: 128 }, /no usable address/],
    [{ name: 'Default', cidr: '10.0.0.0/24' }, /invalid pool name/],
    [{ name: 'a/b', cidr: '10.0.0.0/24' }, /invalid pool name/],
    [{ name: '', cidr: '10.0.0.0/24' }, /invalid pool name/],
    [{ name: 'p', cidr: '10.0.0.0/24', disabled: 'yes' }, /disabled must be a boolean/],
  ];
  for (const [input, msg] of bad) {
    assert.throws(() => validatePool(input as never), (e: unknown) => isPodnetError(e, E.IPAM_INVALID_POOL) && msg.test((e as Error).message), JSON.stringify(input));
  }
});

test('geometry: the pool network (and IPv4 broadcast) ordinals are reserved, only where they fall', () => {
  const p = validatePool({ name: 'p', cidr: '10.0.0.0/29', blockSize: 30 });
  assert.deepEqual([...geometry(p, '10.0.0.0/30')!.reserved], [0]);
  assert.deepEqual([...geometry(p, '10.0.0.4/30')!.reserved], [3]);
  assert.equal(usableCount(geometry(p, '10.0.0.4/30')!), 3);
  assert.equal(poolUsableCount(p), 6n);
  const big = validatePool({ name: 'b', cidr: '10.244.0.0/16' });
  assert.deepEqual([...geometry(big, '10.244.1.0/26')!.reserved], [], 'inner blocks use every address');
  const v6 = validatePool({ name: 'v6', cidr: 'fd00::/120', blockSize: 122 });
  assert.deepEqual([...geometry(v6, 'fd00::/122')!.reserved], [0]);
  assert.deepEqual([...geometry(v6, 'fd00::c0/122')!.reserved], [], 'IPv6 has no broadcast');
  assert.equal(geometry(p, '10.0.0.8/30'), undefined, 'outside the pool');
  assert.equal(geometry(p, '10.0.0.0/29'), undefined, 'wrong block size');
  assert.equal(geometry(p, '10.0.0.2/30'), undefined, 'not a network address');
});

test('next free ordinal: after the cursor, wrapping, skipping reserved and used', () => {
  const p = validatePool({ name: 'p', cidr: '10.0.0.0/28', blockSize: 29 });
  const g = geometry(p, '10.0.0.0/29')!;
  let b = newBlock('10.0.0.0/29', 'p', 'n1');
  const got: number[] = [];
  for (let i = 0; i < 7; i++) {
    const o = nextFreeOrdinal(b, g)!;
    got.push(o);
    b = withAllocation(b, o, alloc(`h${i}`), true);
  }
  assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(nextFreeOrdinal(b, g), undefined, 'full');
  b = withoutOrdinals(b, [2, 5]);
  assert.equal(nextFreeOrdinal(b, g), 2, 'wraps past the end to the lowest free');
  b = withAllocation(b, 2, alloc('x'), true);
  assert.equal(nextFreeOrdinal(b, g), 5, 'continues after the cursor');
  assert.equal(addressOfOrdinal(g, 5), '10.0.0.5');
  assert.equal(ordinalOf(g, parseIp('10.0.0.6')!), 6);
  assert.equal(ordinalOf(g, parseIp('10.0.0.9')!), -1);
});

test('first unclaimed block: lowest free, skips blocks without a usable address, cheap on huge pools', () => {
  const p = validatePool({ name: 'p', cidr: '10.0.0.0/29', blockSize: 30 });
  assert.equal(firstUnclaimedBlock(p, new Set()), '10.0.0.0/30');
  assert.equal(firstUnclaimedBlock(p, new Set(['10.0.0.0/30'])), '10.0.0.4/30');
  assert.equal(firstUnclaimedBlock(p, new Set(['10.0.0.0/30', '10.0.0.4/30'])), undefined);
  const tiny = validatePool({ name: 't', cidr: '10.0.0.0/30', blockSize: 32 });
  assert.equal(firstUnclaimedBlock(tiny, new Set()), '10.0.0.1/32', 'the network-address-only block is skipped');
  assert.equal(firstUnclaimedBlock(tiny, new Set(['10.0.0.1/32', '10.0.0.2/32'])), undefined, 'the broadcast-only block is skipped');
  const huge = validatePool({ name: 'h', cidr: 'fd00::/48', blockSize: 122 });
  const taken = new Set(['fd00::/122', 'fd00::40/122', 'fd00::c0/122']);
  assert.equal(firstUnclaimedBlock(huge, taken), 'fd00::80/122');
  assert.equal(blockCidrOf(huge, parseIp('fd00::1:2:3')!), 'fd00::1:2:0/122');
  assert.equal(blockCidrOf(validatePool({ name: 'q', cidr: '10.244.0.0/16' }), parseIp('10.244.3.77')!), '10.244.3.64/26');
});

test('block record: round-trip, unknown fields preserved, damage rejected', () => {
  let b = newBlock('10.0.0.64/26', 'p', 'n1');
  b = withAllocation(b, 3, alloc('c3/eth0'), true);
  b = withAllocation(b, 1, { ...alloc('c1/eth0'), attrs: { ...attrs, network: 'podnet', plugin: 'cni' } }, false);
  const text = serializeBlock(b);
  assert.match(text, /"node":"n1"/);
  const back = parseBlock(text, { pool: 'p', cidr: '10.0.0.64/26' });
  assert.equal(serializeBlock(back), text);
  assert.equal(back.cursor, 3);
  assert.deepEqual(ordinalsOf(back, 'c1/eth0'), [1]);
  // A newer version's extra fields survive a rewrite by this version.
  const newer = JSON.parse(text) as Record<string, unknown>;
  newer.futureField = { x: 1 };
  (newer.allocations as Record<string, { attrs: Record<string, unknown> }>)['3']!.attrs.futureAttr = 'kept';
  const rewritten = serializeBlock(withAllocation(parseBlock(JSON.stringify(newer), { pool: 'p', cidr: '10.0.0.64/26' }), 9, alloc('c9'), true));
  assert.match(rewritten, /"futureField":\{"x":1\}/);
  assert.match(rewritten, /"futureAttr":"kept"/);
  const expect = { pool: 'p', cidr: '10.0.0.64/26' };
  const damaged: [string, RegExp][] = [
    ['not json', /not JSON/],
    [text.replace('"v":1', '"v":2'), /unsupported record version 2/],
    [text.replace('"cidr":"10.0.0.64/26"', '"cidr":"10.0.0.0/26"'), /record says/],
    [text.replace('"3":', '"64":'), /ordinal 64 outside/],
    [text.replace('"3":', '"03":'), /ordinal 03/],
    [text.replace('"handle":"c3/eth0"', '"handle":""'), /no handle/],
    [text.replace('"ifname":"eth0"', '"ifname":7'), /attrs\.ifname/],
    [text.replace('"node":"n1","cursor"', '"node":"","cursor"'), /no owner node/],
    [text.replace('"cursor":3', '"cursor":99'), /bad cursor/],
  ];
  for (const [t, msg] of damaged) {
    assert.throws(() => parseBlock(t, expect), (e: unknown) => isPodnetError(e, E.IPAM_BLOCK_CORRUPT) && msg.test((e as Error).message), t.slice(0, 80));
  }
});

test('block keys: escaped network, canonical only', () => {
  assert.equal(blockKey('p', '10.0.0.64/26'), '/podnet/ipam/v1/blocks/p/10.0.0.64-26');
  assert.deepEqual(parseBlockKey(blockKey('v6', 'fd00:10:244::40/122')), { pool: 'v6', cidr: 'fd00:10:244::40/122' });
  assert.equal(parseBlockKey('/podnet/ipam/v1/blocks/p/10.0.0.65-26'), undefined);
  assert.equal(parseBlockKey('/podnet/ipam/v1/blocks/p/FD00::-122'), undefined);
  assert.equal(parseBlockKey('/podnet/ipam/v1/pools/p'), undefined);
});

test('assign request validation', () => {
  const ok = { handle: 'c1/eth0', node: 'n1', families: [4, 6, 4] as const, attrs, requested: ['FD00::0005'] };
  const r = validateAssign(ok as never, 'n1');
  assert.deepEqual(r.dynamic, [4]);
  assert.deepEqual(r.requested.map((s) => s.text), ['fd00::5']);
  assert.throws(() => validateAssign({ ...ok, node: 'n2' } as never, 'n1'), code(E.IPAM_INVALID_REQUEST));
  assert.throws(() => validateAssign({ ...ok, attrs: { ...attrs, node: 'n2' } } as never, 'n1'), code(E.IPAM_INVALID_REQUEST));
  assert.throws(() => validateAssign({ ...ok, handle: '' } as never, 'n1'), code(E.IPAM_INVALID_REQUEST));
  assert.throws(() => validateAssign({ ...ok, handle: 'a\nb' } as never, 'n1'), code(E.IPAM_INVALID_REQUEST));
  assert.throws(() => validateAssign({ ...ok, requested: ['10.0.0.300'] } as never, 'n1'), code(E.IPAM_INVALID_REQUEST));
  assert.throws(() => validateAssign({ ...ok, requested: ['fd00::5', 'fd00:0::5'] } as never, 'n1'), code(E.IPAM_INVALID_REQUEST));
  assert.throws(() => validateAssign({ ...ok, families: [], requested: [] } as never, 'n1'), code(E.IPAM_INVALID_REQUEST));
  assert.throws(() => validateAssign({ ...ok, families: [5] } as never, 'n1'), code(E.IPAM_INVALID_REQUEST));
});

test('a pool gateway is reserved and never assigned', () => {
  const pool = validatePool({ name: 'br', cidr: '10.50.0.0/24', blockSize: 28, gateway: '10.50.0.1' });
  const g = geometry(pool, '10.50.0.0/28');
  assert.ok(g);
  assert.deepEqual([...g.reserved].sort(), [0, 1]);
  assert.equal(poolUsableCount(pool), 253n);
  assert.throws(() => validatePool({ name: 'br', cidr: '10.50.0.0/24', gateway: '10.51.0.1' }), /gateway/);
});
