import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp, formatIp, parseCidr, formatCidr, networkOf, cidrContains, addressAt, subnetAt, cidrsOverlap, canonicalIp, offsetOf } from './ip.js';

test('IPv4 parse and format round-trip; rejects junk', () => {
  for (const s of ['0.0.0.0', '10.244.1.7', '255.255.255.255']) assert.equal(formatIp(parseIp(s)!), s);
  for (const s of ['256.1.1.1', '1.2.3', '01.2.3.4', '1.2.3.4 ', '', 'a.b.c.d', '1.2.3.4/32']) assert.equal(parseIp(s), undefined, s);
});

test('IPv6 parse and RFC 5952 format', () => {
  assert.equal(canonicalIp('fd00:0:0:0:0:0:0:1'), 'fd00::1');
  assert.equal(canonicalIp('FD00::A'), 'fd00::a');
  assert.equal(canonicalIp('::'), '::');
  assert.equal(canonicalIp('::ffff:10.1.2.3'), '::ffff:a01:203');
  assert.equal(canonicalIp('1:0:0:2:0:0:0:3'), '1:0:0:2::3');
  assert.equal(canonicalIp('fe80::1:0:0:1'), 'fe80::1:0:0:1');
  for (const s of [':::', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', 'fe80::1%eth0']) assert.equal(parseIp(s), undefined, s);
});

test('CIDR math', () => {
  const c = parseCidr('10.244.0.5/24')!;
  assert.equal(formatCidr(networkOf(c)), '10.244.0.0/24');
  assert.ok(cidrContains(c, parseIp('10.244.0.255')!));
  assert.ok(!cidrContains(c, parseIp('10.244.1.0')!));
  assert.ok(!cidrContains(c, parseIp('fd00::1')!));
  assert.equal(formatIp(addressAt(c, 3n)), '10.244.0.3');
  assert.throws(() => addressAt(c, 256n));
  assert.equal(formatCidr(subnetAt(parseCidr('10.244.0.0/16')!, 26, 5n)), '10.244.1.64/26');
  assert.equal(formatCidr(subnetAt(parseCidr('fd00:10:244::/56')!, 122, 1n)), 'fd00:10:244::40/122');
  assert.ok(cidrsOverlap(parseCidr('10.0.0.0/8')!, parseCidr('10.1.0.0/16')!));
  assert.ok(!cidrsOverlap(parseCidr('10.0.0.0/16')!, parseCidr('10.1.0.0/16')!));
  assert.equal(offsetOf(c, parseIp('10.244.0.9')!), 9n);
  assert.equal(parseCidr('10.0.0.0/33'), undefined);
  assert.equal(parseCidr('10.0.0.0'), undefined);
});
