/** Flow filters: parsing (strict, clear errors) and matching either side. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../common/errors.js';
import { matchesFilter, parseFilter, parseSince } from './filter.js';
import type { FlowRecord } from './types.js';

const rec: FlowRecord = {
  seq: 1, node: 'n1', time: '2026-11-23T10:00:00.000Z', event: 'drop', verdict: 'dropped', family: 4, protocol: 'TCP',
  src: { ip: '10.0.0.1', port: 40000, namespace: 'x', pod: 'a' }, dst: { ip: '10.0.0.2', port: 80, namespace: 'y', pod: 'b' },
  policies: [], reason: 'r',
};

test('parse: lists, case, numbers; bad values are refused', () => {
  assert.deepEqual(parseFilter({ verdict: 'Dropped,audit', protocol: 'tcp', port: '80', pod: 'x/a' }), { verdict: ['dropped', 'audit'], protocol: 'TCP', port: 80, pod: 'x/a' });
  assert.deepEqual(parseFilter({ protocol: 'icmpv6' }), { protocol: 'ICMPv6' });
  for (const bad of [{ verdict: 'allowed' }, { event: 'start' }, { port: '70000' }, { port: 'http' }, { pod: 3 }]) assert.throws(() => parseFilter(bad), (e: unknown) => isPodnetError(e, 'INVALID_ARGUMENT'));
  assert.equal(parseSince('5m', 1_000_000), 700_000);
  assert.equal(parseSince('2026-11-23T10:00:00Z'), Date.parse('2026-11-23T10:00:00Z'));
  assert.throws(() => parseSince('yesterday'), (e: unknown) => isPodnetError(e, 'INVALID_ARGUMENT'));
});

test('match: pod and namespace on either side, port on either side, verdict, protocol, time, node', () => {
  const m = (f: Record<string, unknown>): boolean => matchesFilter(parseFilter(f), rec);
  assert.equal(m({}), true);
  assert.equal(m({ pod: 'x/a' }), true);
  assert.equal(m({ pod: 'b' }), true);
  assert.equal(m({ pod: 'x/b' }), false);
  assert.equal(m({ namespace: 'y' }), true);
  assert.equal(m({ namespace: 'z' }), false);
  assert.equal(m({ port: '80' }), true);
  assert.equal(m({ port: '40000' }), true);
  assert.equal(m({ port: '81' }), false);
  assert.equal(m({ verdict: 'forwarded' }), false);
  assert.equal(m({ protocol: 'udp' }), false);
  assert.equal(m({ sinceMs: Date.parse(rec.time) }), true);
  assert.equal(m({ sinceMs: Date.parse(rec.time) + 1 }), false);
  assert.equal(m({ node: 'n2' }), false);
});
