import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../common/errors.js';
import { configVersion, decodeConfig, DEFAULT_AGENT_SOCKET, parseNetConf } from './config.js';
import type { JsonObject } from './json.js';
import type { PluginMode } from './backend.js';

const base = (extra: JsonObject = {}): JsonObject => ({ cniVersion: '1.1.0', name: 'podnet', type: 'podnet', ...extra });

function confError(obj: JsonObject, code: string, cni: number, re: RegExp, mode: PluginMode = 'cni'): void {
  assert.throws(
    () => parseNetConf(obj, mode),
    (e: unknown) => {
      assert.ok(isPodnetError(e, code), `expected ${code}, got ${String(e)}`);
      assert.equal(e.cni, cni);
      assert.match(e.message, re);
      return true;
    },
  );
}

test('decodeConfig: malformed or non-object JSON is a decode failure (6)', () => {
  for (const s of ['', '  ', '{', '{"a":}', 'null', '[]', '"x"', '42']) {
    assert.throws(() => decodeConfig(s), (e: unknown) => isPodnetError(e, 'CNI_DECODE_FAILURE') && e.cni === 6, s);
  }
  assert.deepEqual(decodeConfig('{"a":1}'), { a: 1 });
});

test('configVersion: missing or unsupported is code 1 and lists supported versions', () => {
  for (const v of [undefined, '', '0.2.0', '0.1.0', '1.2.0', '1.1', 110, null]) {
    assert.throws(
      () => configVersion(v === undefined ? {} : { cniVersion: v }),
      (e: unknown) => isPodnetError(e, 'CNI_INCOMPATIBLE_VERSION') && e.cni === 1 && e.message.includes('podnet supports 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0'),
      String(v),
    );
  }
  assert.equal(configVersion({ cniVersion: '0.4.0' }), '0.4.0');
});

test('minimal config gets defaults', () => {
  const c = parseNetConf(base(), 'cni');
  assert.equal(c.agentSocket, DEFAULT_AGENT_SOCKET);
  assert.deepEqual(c.runtimeConfig, {});
  assert.equal(c.mtu, undefined);
  assert.equal(c.pools, undefined);
  assert.equal(c.families, undefined);
  assert.equal(c.prevResult, undefined);
  assert.deepEqual(c.raw, base());
});

test('name and type are required and validated (7)', () => {
  confError({ cniVersion: '1.1.0', type: 'podnet' }, 'CNI_INVALID_CONFIG', 7, /name must be a non-empty string/);
  confError({ cniVersion: '1.1.0', name: 'n' }, 'CNI_INVALID_CONFIG', 7, /type must be a non-empty string/);
  for (const name of ['net;reboot', 'net$(id)', 'net`id`', 'my net', "n'", 'n"', '-n']) {
    confError(base({ name }), 'CNI_INVALID_CONFIG', 7, /^invalid network config: name /);
  }
  confError(base({ type: '../podnet' }), 'CNI_INVALID_CONFIG', 7, /type must be a file name/);
});

test("podnet's fields are validated with their path (7)", () => {
  const c = parseNetConf(base({ agentSocket: '/tmp/a.sock', mtu: 1450, pools: ['default', 'blue-1'], families: [6, 4] }), 'cni');
  assert.equal(c.agentSocket, '/tmp/a.sock');
  assert.equal(c.mtu, 1450);
  assert.deepEqual(c.pools, ['default', 'blue-1']);
  assert.deepEqual(c.families, [4, 6]);
  assert.deepEqual(parseNetConf(base({ families: [6] }), 'cni').families, [6]);
  confError(base({ mtu: 67 }), 'CNI_INVALID_CONFIG', 7, /mtu must be an integer between 68 and 65535 \(got 67\)/);
  confError(base({ mtu: 65536 }), 'CNI_INVALID_CONFIG', 7, /mtu must be/);
  confError(base({ mtu: 1500.5 }), 'CNI_INVALID_CONFIG', 7, /mtu must be/);
  confError(base({ mtu: '1500' }), 'CNI_INVALID_CONFIG', 7, /mtu must be/);
  confError(base({ agentSocket: 'relative.sock' }), 'CNI_INVALID_CONFIG', 7, /agentSocket must be an absolute path/);
  confError(base({ agentSocket: 5 }), 'CNI_INVALID_CONFIG', 7, /agentSocket must be a string/);
  confError(base({ pools: 'default' }), 'CNI_INVALID_CONFIG', 7, /pools must be a list/);
  confError(base({ pools: [] }), 'CNI_INVALID_CONFIG', 7, /pools must be a non-empty list/);
  confError(base({ pools: ['a', 'a'] }), 'CNI_INVALID_CONFIG', 7, /pools must be a list without duplicates/);
  confError(base({ pools: ['ok', 'bad;name'] }), 'CNI_INVALID_CONFIG', 7, /pools\[1\] must be a pool name/);
  for (const families of [[], [5], [4, 4], ['4'], 4]) {
    confError(base({ families }), 'CNI_INVALID_CONFIG', 7, /families must be/);
  }
});

test('unknown top-level fields are code 2 with key and value; spec and runtime keys pass', () => {
  confError(base({ bridge: 'cni0' }), 'CNI_UNSUPPORTED_FIELD', 2, /unsupported field in network config: bridge="cni0"/);
  confError(base({ foo: 1, plugins: [] }), 'CNI_UNSUPPORTED_FIELD', 2, /unsupported fields in network config: foo=1, plugins=\[\]/);
  const all = base({
    cniVersions: ['1.0.0', '1.1.0'],
    args: { cni: { labels: [{ key: 'app', value: 'x' }] } },
    runtimeConfig: {},
    capabilities: { portMappings: true, ips: true },
    ipMasq: true,
    ipam: { type: 'host-local' },
    dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
    disableCheck: false,
    disableGC: false,
    loadOnlyInlinedPlugins: false,
    'cni.dev/valid-attachments': [],
    'cni.dev/attachments': [],
    'cni.dev/future-key': 1,
  });
  const c = parseNetConf(all, 'cni');
  assert.deepEqual(c.args, { cni: { labels: [{ key: 'app', value: 'x' }] } });
  assert.deepEqual(c.dns, { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] });
  confError(base({ ipMasq: 'yes' }), 'CNI_INVALID_CONFIG', 7, /ipMasq must be true or false/);
  confError(base({ args: [] }), 'CNI_INVALID_CONFIG', 7, /args must be an object/);
  confError(base({ dns: { nameservers: ['not-an-ip'] } }), 'CNI_INVALID_CONFIG', 7, /dns\.nameservers\[0\] must be an IP address/);
});

test('runtimeConfig: containerd capitalised portMappings, bandwidth and dns', () => {
  const c = parseNetConf(
    base({
      runtimeConfig: {
        portMappings: [
          { HostPort: 8080, ContainerPort: 80, Protocol: 'tcp', HostIP: '' },
          { HostPort: 5353, ContainerPort: 53, Protocol: 'UDP', HostIP: '127.0.0.1' },
        ],
        bandwidth: { IngressRate: 1000000, IngressBurst: 2000, EgressRate: 0, EgressBurst: 0 },
        dns: { Servers: ['10.96.0.10'], Searches: ['default.svc.cluster.local'], Options: ['ndots:5'] },
        'io.kubernetes.cri.pod-annotations': { a: 'b' },
        cgroupPath: '/kubepods',
      },
    }),
    'cni',
  );
  assert.deepEqual(c.runtimeConfig, {
    portMappings: [
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' },
    ],
    bandwidth: { ingressRate: 1000000, ingressBurst: 2000 },
    dns: { nameservers: ['10.96.0.10'], search: ['default.svc.cluster.local'], options: ['ndots:5'] },
  });
});

test('runtimeConfig: lower-case (podman) forms, ips, mac, alias map and list', () => {
  const c = parseNetConf(
    base({
      runtimeConfig: {
        portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'sctp', hostIP: 'fd00::1' }, { hostPort: 1, containerPort: 2 }],
        ips: ['10.88.0.5', 'fd00::5/64'],
        mac: '0A:58:0A:58:00:05',
        aliases: { podnet: ['web', 'web.local'], other: ['x'] },
        bandwidth: { ingressRate: 1, egressRate: 2 },
        dns: { servers: ['1.1.1.1'], searches: ['example.com'] },
      },
    }),
    'cni',
  );
  assert.deepEqual(c.runtimeConfig, {
    ips: ['10.88.0.5', 'fd00::5/64'],
    mac: '0a:58:0a:58:00:05',
    portMappings: [
      { hostPort: 8080, containerPort: 80, protocol: 'sctp', hostIP: 'fd00::1' },
      { hostPort: 1, containerPort: 2, protocol: 'tcp' },
    ],
    bandwidth: { ingressRate: 1, egressRate: 2 },
    dns: { nameservers: ['1.1.1.1'], search: ['example.com'] },
    aliases: ['web', 'web.local'],
  });
  assert.deepEqual(parseNetConf(base({ runtimeConfig: { aliases: ['a', 'b'] } }), 'cni').runtimeConfig, { aliases: ['a', 'b'] });
  assert.deepEqual(parseNetConf(base({ runtimeConfig: { aliases: { other: ['a'] } } }), 'cni').runtimeConfig, {});
  assert.deepEqual(parseNetConf(base({ runtimeConfig: { ips: null, portMappings: null } }), 'cni').runtimeConfig, {});
});

test('runtimeConfig errors name the path (7)', () => {
  confError(base({ runtimeConfig: 'x' }), 'CNI_INVALID_CONFIG', 7, /runtimeConfig must be an object/);
  confError(base({ runtimeConfig: { portMappings: [{ HostPort: 0, ContainerPort: 80 }] } }), 'CNI_INVALID_CONFIG', 7, /runtimeConfig\.portMappings\[0\]\.HostPort must be an integer between 1 and 65535/);
  confError(base({ runtimeConfig: { portMappings: [{ hostPort: 80 }] } }), 'CNI_INVALID_CONFIG', 7, /runtimeConfig\.portMappings\[0\]\.containerPort must be a port number/);
  confError(base({ runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 80, protocol: 'icmp' }] } }), 'CNI_INVALID_CONFIG', 7, /protocol must be tcp, udp, sctp/);
  confError(base({ runtimeConfig: { portMappings: [{ hostPort: 80, HostPort: 81, containerPort: 80 }] } }), 'CNI_INVALID_CONFIG', 7, /HostPort must be equal to runtimeConfig\.portMappings\[0\]\.hostPort/);
  confError(base({ runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 80, hostIP: 'localhost' }] } }), 'CNI_INVALID_CONFIG', 7, /hostIP must be an IP address/);
  confError(base({ runtimeConfig: { ips: ['10.0.0.1/33'] } }), 'CNI_INVALID_CONFIG', 7, /runtimeConfig\.ips\[0\]/);
  confError(base({ runtimeConfig: { mac: 'zz' } }), 'CNI_INVALID_CONFIG', 7, /runtimeConfig\.mac must be a unicast MAC address/);
  confError(base({ runtimeConfig: { bandwidth: { ingressRate: -1 } } }), 'CNI_INVALID_CONFIG', 7, /runtimeConfig\.bandwidth\.ingressRate/);
  confError(base({ runtimeConfig: { aliases: { podnet: ['ok', 'x;y'] } } }), 'CNI_INVALID_CONFIG', 7, /runtimeConfig\.aliases\["podnet"\]\[1\]/);
  confError(base({ runtimeConfig: { dns: { Servers: ['nope'] } } }), 'CNI_INVALID_CONFIG', 7, /runtimeConfig\.dns\.Servers\[0\] must be an IP address/);
});

test('ipam mode: podnet fields under ipam, foreign top-level fields accepted', () => {
  const obj = base({
    type: 'bridge',
    bridge: 'cni0',
    isGateway: true,
    mtu: 9001,
    agentSocket: 'not-ours',
    ipam: { type: 'podnet-ipam', agentSocket: '/run/x.sock', pools: ['blue'], families: [4] },
  });
  const c = parseNetConf(obj, 'ipam');
  assert.equal(c.type, 'bridge');
  assert.equal(c.agentSocket, '/run/x.sock');
  assert.deepEqual(c.pools, ['blue']);
  assert.deepEqual(c.families, [4]);
  assert.equal(c.mtu, undefined);
  assert.equal(parseNetConf(base({ ipam: { type: 'podnet-ipam' } }), 'ipam').agentSocket, DEFAULT_AGENT_SOCKET);
  confError(base({ ipam: { type: 'podnet-ipam', subnet: '10.0.0.0/8' } }), 'CNI_UNSUPPORTED_FIELD', 2, /ipam\.subnet="10\.0\.0\.0\/8"/, 'ipam');
  confError(base({ ipam: { type: 'podnet-ipam', pools: [1] } }), 'CNI_INVALID_CONFIG', 7, /ipam\.pools\[0\]/, 'ipam');
  confError(base({ ipam: { type: 'podnet-ipam', families: [7] } }), 'CNI_INVALID_CONFIG', 7, /ipam\.families must be/, 'ipam');
  confError(base(), 'CNI_INVALID_CONFIG', 7, /^invalid network config: ipam must be an object/, 'ipam');
  confError(base({ ipam: {} }), 'CNI_INVALID_CONFIG', 7, /ipam\.type must be a non-empty string/, 'ipam');
  // In cni mode the same ipam keys are not podnet's and are ignored.
  assert.equal(parseNetConf(base({ ipam: { type: 'x', pools: ['blue'] } }), 'cni').pools, undefined);
});

test('prevResult is parsed; DEL may drop an invalid one', () => {
  const prev = { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.5/24' }] };
  const c = parseNetConf(base({ cniVersion: '0.4.0', prevResult: prev }), 'cni');
  assert.deepEqual(c.prevResult, { cniVersion: '0.4.0', ips: [{ address: '10.0.0.5/24' }] });
  const bad = base({ prevResult: { ips: [{ address: '10.0.0.5' }] } });
  confError(bad, 'CNI_INVALID_CONFIG', 7, /prevResult\.ips\[0\]\.address must be an address in CIDR notation/);
  assert.equal(parseNetConf(bad, 'cni', { lenientPrevResult: true }).prevResult, undefined);
});
