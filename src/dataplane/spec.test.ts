import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../common/errors.js';
import { validatePodNetSpec, assertHostIfname, isValidIfname } from './spec.js';
import type { PodNetSpec } from './types.js';

const base: PodNetSpec = {
  netnsPath: '/run/netns/x',
  ifname: 'eth0',
  hostIfname: 'pn0123456789ab',
  addresses: [
    { family: 6, address: 'FD00::0005' },
    { family: 4, address: '10.244.0.5' },
  ],
  mtu: 1450,
};

const invalid = (s: Partial<PodNetSpec>, re: RegExp): void =>
  assert.throws(() => validatePodNetSpec({ ...base, ...s } as PodNetSpec), (e) => isPodnetError(e, 'DATAPLANE_INVALID_SPEC') && e.cni === 107 && re.test(e.message));

test('a good spec comes back canonical, IPv4 first, with family flags', () => {
  const v = validatePodNetSpec({ ...base, mac: '02:AA:00:00:00:01' });
  assert.deepEqual(v.addresses, [
    { family: 4, address: '10.244.0.5' },
    { family: 6, address: 'fd00::5' },
  ]);
  assert.equal(v.mac, '02:aa:00:00:00:01');
  assert.equal(v.hasV4 && v.hasV6, true);
});

test('interface names follow the kernel rules', () => {
  for (const n of ['eth0', 'net1', 'a', 'abcdefghijklmno']) assert.equal(isValidIfname(n), true, n);
  for (const n of ['', '.', '..', 'abcdefghijklmnop', 'a/b', 'a:b', 'a b', 'a\0']) assert.equal(isValidIfname(n), false, n);
  invalid({ ifname: 'eth0:1' }, /pod interface name/);
});

test('host names must be HOST_IF_PREFIX + 12 hex', () => {
  assertHostIfname('pn0123456789ab');
  for (const n of ['pn0123456789AB', 'pn0123456789a', 'eth0', 'up0', 'pnic0', 'xx0123456789ab']) {
    assert.throws(() => assertHostIfname(n), (e) => isPodnetError(e, 'DATAPLANE_INVALID_SPEC'), n);
  }
});

test('addresses: parse, family match, no duplicates, none special', () => {
  invalid({ addresses: [] }, /at least one/);
  invalid({ addresses: [{ family: 4, address: 'fd00::1' }] }, /IPv4/);
  invalid({ addresses: [{ family: 4, address: '10.0.0.256' }] }, /IPv4/);
  invalid({ addresses: [{ family: 4, address: '10.0.0.1' }, { family: 4, address: '10.0.0.1' }] }, /twice/);
  for (const a of ['0.0.0.0', '127.0.0.1', '169.254.1.1', '169.254.9.9', '224.0.0.1', '255.255.255.255']) invalid({ addresses: [{ family: 4, address: a }] }, /unspecified|link-local/);
  for (const a of ['::', '::1', 'fe80::1', 'febf::1', 'ff02::1']) invalid({ addresses: [{ family: 6, address: a }] }, /unspecified|link-local/);
  validatePodNetSpec({ ...base, addresses: [{ family: 6, address: 'fec0::1' }] }); // outside fe80::/10
});

test('MTU bounds, IPv6 needs 1280', () => {
  invalid({ mtu: 67 }, /MTU/);
  invalid({ mtu: 65536 }, /MTU/);
  invalid({ mtu: 1500.5 }, /MTU/);
  invalid({ mtu: 1279 }, /IPv6/);
  assert.equal(validatePodNetSpec({ ...base, mtu: 576, addresses: [{ family: 4, address: '10.0.0.1' }] }).mtu, 576);
});

test('MAC must be unicast, not zero, not the host veth MAC', () => {
  invalid({ mac: '01:00:5e:00:00:01' }, /MAC/);
  invalid({ mac: '00:00:00:00:00:00' }, /MAC/);
  invalid({ mac: 'ee:ee:ee:ee:ee:ee' }, /MAC/);
  invalid({ mac: '02:00:00:00:00' }, /MAC/);
});

test('netns path must be a non-empty string', () => {
  invalid({ netnsPath: '' }, /namespace path/);
  invalid({ netnsPath: 'a\0b' }, /namespace path/);
});
