import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../common/errors.js';
import { convertResult, ipamResult, parseResult } from './result.js';
import { SUPPORTED_VERSIONS, type CniResult } from './types.js';

const FULL: CniResult = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'cali1234', mac: 'ee:ee:ee:ee:ee:ee' },
    { name: 'eth0', mac: '0a:58:0a:f4:00:05', mtu: 1450, sandbox: '/run/netns/x', socketPath: '/s', pciID: '0000:04:00.5' },
  ],
  ips: [
    { address: '10.244.0.5/32', gateway: '169.254.1.1', interface: 1 },
    { address: 'fd00:10:244::5/128', interface: 1 },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1', mtu: 1400, priority: 10, table: 100, scope: 0, advmss: 1360 }, { dst: '::/0' }],
  dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'], options: ['ndots:5'], domain: 'cluster.local' },
};

test('1.0.0 and 1.1.0 share the 1.x shape', () => {
  for (const v of ['1.0.0', '1.1.0'] as const) {
    assert.deepEqual(convertResult(FULL, v), { ...FULL, cniVersion: v });
  }
});

test('0.3.0, 0.3.1 and 0.4.0 add ips[].version and keep only their fields', () => {
  for (const v of ['0.3.0', '0.3.1', '0.4.0'] as const) {
    assert.deepEqual(convertResult(FULL, v), {
      cniVersion: v,
      interfaces: [
        { name: 'cali1234', mac: 'ee:ee:ee:ee:ee:ee' },
        { name: 'eth0', mac: '0a:58:0a:f4:00:05', sandbox: '/run/netns/x' },
      ],
      ips: [
        { version: '4', interface: 1, address: '10.244.0.5/32', gateway: '169.254.1.1' },
        { version: '6', interface: 1, address: 'fd00:10:244::5/128' },
      ],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }, { dst: '::/0' }],
      dns: FULL.dns,
    });
  }
});

test('empty lists and dns are omitted', () => {
  assert.deepEqual(convertResult({ cniVersion: '1.1.0', interfaces: [], ips: [], routes: [], dns: {} }, '0.4.0'), { cniVersion: '0.4.0' });
  assert.deepEqual(convertResult({ cniVersion: '1.1.0', interfaces: [], ips: [], routes: [], dns: {} }, '1.1.0'), { cniVersion: '1.1.0' });
});

test('round trip through every version keeps 0.x fields', () => {
  for (const v of SUPPORTED_VERSIONS) {
    const back = parseResult(JSON.parse(JSON.stringify(convertResult(FULL, v))), { path: 'prevResult', defaultVersion: '1.1.0' });
    assert.equal(back.cniVersion, v);
    assert.deepEqual(back.ips, FULL.ips?.map((ip) => ({ ...ip })));
    assert.equal(back.interfaces?.[1]?.sandbox, '/run/netns/x');
  }
});

test('parseResult takes the config version when the result has none, and drops unknown keys', () => {
  const r = parseResult({ ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1' }], routes: [{ dst: '0.0.0.0/0' }], extra: 1 }, { path: 'prevResult', defaultVersion: '1.0.0' });
  assert.deepEqual(r, { cniVersion: '1.0.0', ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1' }], routes: [{ dst: '0.0.0.0/0' }] });
});

test('parseResult validates every field with its path', () => {
  const cases: [unknown, RegExp][] = [
    ['x', /prevResult must be a result object/],
    [{ ips: [{ address: '10.0.0.1' }] }, /prevResult\.ips\[0\]\.address must be an address in CIDR notation/],
    [{ ips: [{ address: '10.0.0.1/24', gateway: 'x' }] }, /prevResult\.ips\[0\]\.gateway must be an IP address/],
    [{ ips: [{ version: '6', address: '10.0.0.1/24' }] }, /prevResult\.ips\[0\]\.version must be "4" for 10\.0\.0\.1\/24/],
    [{ ips: [{ address: '10.0.0.1/24', interface: 0 }] }, /prevResult\.ips\[0\]\.interface must be an index into interfaces \(which has 0\)/],
    [{ interfaces: [{ name: 'a' }], ips: [{ address: '10.0.0.1/24', interface: 1 }] }, /interface must be an index/],
    [{ interfaces: [{ mac: 'aa:bb:cc:dd:ee:ff' }] }, /prevResult\.interfaces\[0\]\.name must be a non-empty string/],
    [{ interfaces: [{ name: 'a', mac: 'nope' }] }, /prevResult\.interfaces\[0\]\.mac must be a hardware address/],
    [{ interfaces: [{ name: 'a', mtu: -1 }] }, /prevResult\.interfaces\[0\]\.mtu/],
    [{ routes: [{ gw: '10.0.0.1' }] }, /prevResult\.routes\[0\]\.dst must be a non-empty string/],
    [{ routes: [{ dst: '10.0.0.0/40' }] }, /prevResult\.routes\[0\]\.dst must be a destination in CIDR notation/],
    [{ routes: [{ dst: '10.0.0.0/8', table: 'main' }] }, /prevResult\.routes\[0\]\.table/],
    [{ dns: { nameservers: ['x'] } }, /prevResult\.dns\.nameservers\[0\] must be an IP address/],
    [{ ips: {} }, /prevResult\.ips must be a list/],
  ];
  for (const [v, re] of cases) {
    assert.throws(
      () => parseResult(v, { path: 'prevResult', defaultVersion: '1.1.0' }),
      (e: unknown) => isPodnetError(e, 'CNI_INVALID_CONFIG') && e.cni === 7 && re.test(e.message),
      JSON.stringify(v),
    );
  }
  assert.throws(
    () => parseResult({ cniVersion: '0.2.0', ip4: { ip: '10.0.0.1/24' } }, { path: 'prevResult', defaultVersion: '1.1.0' }),
    (e: unknown) => isPodnetError(e, 'CNI_INCOMPATIBLE_VERSION') && e.cni === 1 && /prevResult\.cniVersion "0\.2\.0"/.test(e.message),
  );
});

test('InfiniBand hardware addresses are accepted', () => {
  const mac = Array.from({ length: 20 }, () => 'a0').join(':');
  assert.equal(parseResult({ interfaces: [{ name: 'ib0', mac }] }, { path: 'r', defaultVersion: '1.1.0' }).interfaces?.[0]?.mac, mac);
});

test('ipamResult drops interfaces and ips[].interface', () => {
  assert.deepEqual(ipamResult(FULL), {
    cniVersion: '1.1.0',
    ips: [{ address: '10.244.0.5/32', gateway: '169.254.1.1' }, { address: 'fd00:10:244::5/128' }],
    routes: FULL.routes,
    dns: FULL.dns,
  });
});
