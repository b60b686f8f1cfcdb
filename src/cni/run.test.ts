import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PodnetError } from '../common/errors.js';
import { CniErrors } from './errors.js';
import { ENV_RULES } from './env.js';
import { runCni, type CniErrorReply } from './run.js';
import type { CniBackend, PluginMode } from './backend.js';
import { SUPPORTED_VERSIONS, type Attachment, type CniCommand, type CniRequest, type CniResult, type CniVersion, type PodnetNetConf } from './types.js';

/** Records every call; `fail` makes every verb throw it; `result` is ADD's answer. */
class RecordingBackend implements CniBackend {
  calls: { verb: string; mode: PluginMode; req?: CniRequest; conf?: PodnetNetConf; valid?: readonly Attachment[] }[] = [];
  fail: unknown = undefined;
  result: unknown = {
    cniVersion: '1.1.0',
    interfaces: [{ name: 'eth0', mac: '0a:58:0a:f4:00:05', mtu: 1450, sandbox: '/run/netns/ctr1' }],
    ips: [
      { address: '10.244.0.5/32', gateway: '169.254.1.1', interface: 0 },
      { address: 'fd00:10:244::5/128', interface: 0 },
    ],
    routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
  };

  private check_(): void {
    if (this.fail !== undefined) throw this.fail;
  }
  async add(req: CniRequest, mode: PluginMode): Promise<CniResult> {
    this.calls.push({ verb: 'add', req, mode });
    this.check_();
    return this.result as CniResult;
  }
  async del(req: CniRequest, mode: PluginMode): Promise<void> {
    this.calls.push({ verb: 'del', req, mode });
    this.check_();
  }
  async check(req: CniRequest, mode: PluginMode): Promise<void> {
    this.calls.push({ verb: 'check', req, mode });
    this.check_();
  }
  async status(conf: PodnetNetConf, mode: PluginMode): Promise<void> {
    this.calls.push({ verb: 'status', conf, mode });
    this.check_();
  }
  async gc(conf: PodnetNetConf, valid: readonly Attachment[], mode: PluginMode): Promise<void> {
    this.calls.push({ verb: 'gc', conf, valid, mode });
    this.check_();
  }
}

const ENV: Record<string, string> = {
  CNI_CONTAINERID: 'ctr1',
  CNI_NETNS: '/run/netns/ctr1',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
  CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=ctr1;K8S_POD_UID=uid-1',
};

const legacy = (v: CniVersion): boolean => v.startsWith('0.');

/** A prevResult written the way a runtime would for version v. */
function prevResultFor(v: CniVersion): Record<string, unknown> {
  return {
    cniVersion: v,
    interfaces: [{ name: 'eth0', sandbox: '/run/netns/ctr1' }],
    ips: [legacy(v) ? { version: '4', address: '10.244.0.5/32', interface: 0 } : { address: '10.244.0.5/32', interface: 0 }],
  };
}

function confFor(v: CniVersion, cmd: CniCommand, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const c: Record<string, unknown> = { cniVersion: v, name: 'podnet', type: 'podnet', ...extra };
  if (cmd === 'CHECK' && !('prevResult' in extra)) c['prevResult'] = prevResultFor(v);
  if (cmd === 'GC' && !('cni.dev/valid-attachments' in extra)) c['cni.dev/valid-attachments'] = [{ containerID: 'ctr1', ifname: 'eth0' }];
  return c;
}

async function run(cmd: string, conf: unknown, opts: { env?: Record<string, string | undefined>; backend?: RecordingBackend; mode?: PluginMode; netnsPath?: string } = {}) {
  const backend = opts.backend ?? new RecordingBackend();
  const env = { ...ENV, CNI_COMMAND: cmd, ...opts.env };
  const stdin = typeof conf === 'string' ? conf : JSON.stringify(conf);
  const out = await runCni(env, stdin, backend, opts.mode ?? 'cni', opts.netnsPath === undefined ? {} : { netnsPath: opts.netnsPath });
  return { ...out, backend, json: out.stdout === '' ? undefined : (JSON.parse(out.stdout) as Record<string, unknown>) };
}

async function runError(cmd: string, conf: unknown, code: number, opts: Parameters<typeof run>[2] = {}): Promise<CniErrorReply & { backend: RecordingBackend }> {
  const r = await run(cmd, conf, opts);
  assert.equal(r.exitCode, 1, r.stdout);
  const j = r.json as unknown as CniErrorReply;
  assert.deepEqual(Object.keys(j), ['cniVersion', 'code', 'msg', 'details']);
  assert.equal(j.code, code, r.stdout);
  assert.equal(typeof j.msg, 'string');
  return { ...j, backend: r.backend };
}

const VERBS: CniCommand[] = ['ADD', 'DEL', 'CHECK', 'STATUS', 'VERSION', 'GC'];
const SINCE: Partial<Record<CniCommand, CniVersion>> = { CHECK: '0.4.0', STATUS: '1.1.0', GC: '1.1.0' };
const ORDER = [...SUPPORTED_VERSIONS];
const allowed = (cmd: CniCommand, v: CniVersion): boolean => SINCE[cmd] === undefined || ORDER.indexOf(v) >= ORDER.indexOf(SINCE[cmd]!);

test('every supported version × every verb', async () => {
  for (const v of SUPPORTED_VERSIONS) {
    for (const cmd of VERBS) {
      const label = `${cmd} ${v}`;
      const r = await run(cmd, confFor(v, cmd));
      if (cmd === 'VERSION') {
        assert.equal(r.exitCode, 0, label);
        assert.deepEqual(r.json, { cniVersion: v, supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] }, label);
        assert.equal(r.backend.calls.length, 0, label);
        continue;
      }
      if (!allowed(cmd, v)) {
        assert.equal(r.exitCode, 1, label);
        assert.equal(r.json?.['code'], 1, label);
        assert.equal(r.json?.['cniVersion'], v, label);
        assert.match(String(r.json?.['msg']), new RegExp(`config version ${v.replace(/\./g, '\\.')} does not allow ${cmd}`), label);
        assert.equal(r.backend.calls.length, 0, label);
        continue;
      }
      assert.equal(r.exitCode, 0, `${label}: ${r.stdout}`);
      assert.equal(r.backend.calls.length, 1, label);
      const call = r.backend.calls[0]!;
      assert.equal(call.verb, cmd.toLowerCase(), label);
      assert.equal(call.mode, 'cni', label);
      if (cmd !== 'ADD') {
        assert.equal(r.stdout, '', label);
        continue;
      }
      const out = r.json!;
      assert.equal(out['cniVersion'], v, label);
      const ips = out['ips'] as Record<string, unknown>[];
      if (legacy(v)) {
        assert.deepEqual(ips, [
          { version: '4', interface: 0, address: '10.244.0.5/32', gateway: '169.254.1.1' },
          { version: '6', interface: 0, address: 'fd00:10:244::5/128' },
        ], label);
        assert.deepEqual(out['interfaces'], [{ name: 'eth0', mac: '0a:58:0a:f4:00:05', sandbox: '/run/netns/ctr1' }], label);
      } else {
        assert.deepEqual(ips, [
          { address: '10.244.0.5/32', gateway: '169.254.1.1', interface: 0 },
          { address: 'fd00:10:244::5/128', interface: 0 },
        ], label);
        assert.deepEqual(out['interfaces'], [{ name: 'eth0', mac: '0a:58:0a:f4:00:05', mtu: 1450, sandbox: '/run/netns/ctr1' }], label);
      }
      assert.deepEqual(out['routes'], [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }], label);
    }
  }
});

test('ADD builds the request from env, CNI_ARGS and config', async () => {
  const r = await run('ADD', confFor('1.1.0', 'ADD', { mtu: 1400, pools: ['default'], runtimeConfig: { mac: '0a:58:00:00:00:01' } }), { netnsPath: '/proc/self/fd/5' });
  const req = r.backend.calls[0]!.req!;
  assert.equal(req.command, 'ADD');
  assert.equal(req.containerId, 'ctr1');
  assert.equal(req.netns, '/run/netns/ctr1');
  assert.equal(req.netnsPath, '/proc/self/fd/5');
  assert.equal(req.ifname, 'eth0');
  assert.deepEqual(req.path, ['/opt/cni/bin']);
  assert.deepEqual(req.args, { extra: {}, IgnoreUnknown: true, K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'web-0', K8S_POD_INFRA_CONTAINER_ID: 'ctr1', K8S_POD_UID: 'uid-1' });
  assert.equal(req.conf.mtu, 1400);
  assert.deepEqual(req.conf.pools, ['default']);
  assert.equal(req.conf.runtimeConfig.mac, '0a:58:00:00:00:01');
  assert.equal(req.conf.prevResult, undefined);
  const plain = await run('ADD', confFor('1.1.0', 'ADD'));
  assert.equal(plain.backend.calls[0]!.req!.netnsPath, '/run/netns/ctr1');
});

test('ADD chained after another plugin passes prevResult (any version) through as 1.x', async () => {
  const prev = { cniVersion: '0.4.0', interfaces: [{ name: 'eth0', sandbox: '/run/netns/ctr1' }], ips: [{ version: '4', address: '10.1.0.5/16', interface: 0 }] };
  const r = await run('ADD', confFor('0.4.0', 'ADD', { prevResult: prev }));
  assert.equal(r.exitCode, 0, r.stdout);
  assert.deepEqual(r.backend.calls[0]!.req!.conf.prevResult, { cniVersion: '0.4.0', interfaces: [{ name: 'eth0', sandbox: '/run/netns/ctr1' }], ips: [{ address: '10.1.0.5/16', interface: 0 }] });
  assert.deepEqual(r.backend.calls[0]!.req!.conf.raw['prevResult'], prev);
});

test('DEL with empty CNI_NETNS and no prevResult reaches the backend', async () => {
  for (const netns of ['', undefined]) {
    const r = await run('DEL', confFor('1.1.0', 'DEL'), { env: { CNI_NETNS: netns } });
    assert.equal(r.exitCode, 0, r.stdout);
    assert.equal(r.stdout, '');
    const req = r.backend.calls[0]!.req!;
    assert.equal(req.netns, '');
    assert.equal(req.netnsPath, '');
    assert.equal(req.conf.prevResult, undefined);
  }
});

test('DEL with a malformed prevResult still reaches the backend, without it', async () => {
  const r = await run('DEL', confFor('1.1.0', 'DEL', { prevResult: { ips: [{ address: 'garbage' }] } }));
  assert.equal(r.exitCode, 0, r.stdout);
  assert.equal(r.backend.calls[0]!.req!.conf.prevResult, undefined);
});

test('CHECK requires prevResult and passes it parsed', async () => {
  const e = await runError('CHECK', confFor('1.0.0', 'CHECK', { prevResult: undefined }), 7);
  assert.match(e.msg, /CHECK requires prevResult/);
  assert.equal(e.backend.calls.length, 0);
  const r = await run('CHECK', confFor('0.4.0', 'CHECK'));
  assert.deepEqual(r.backend.calls[0]!.req!.conf.prevResult?.ips, [{ address: '10.244.0.5/32', interface: 0 }]);
  await runError('CHECK', confFor('1.1.0', 'CHECK', { prevResult: { ips: [{ address: '10.0.0.1' }] } }), 7);
});

test('GC reads both attachment keys; STATUS gets the config', async () => {
  const gc = await run('GC', confFor('1.1.0', 'GC', {
    'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }],
    'cni.dev/attachments': [{ containerID: 'a', ifname: 'eth0' }, { containerID: 'b', ifname: 'net1' }],
  }), { env: { CNI_CONTAINERID: '', CNI_IFNAME: '', CNI_NETNS: '', CNI_ARGS: '' } });
  assert.equal(gc.exitCode, 0, gc.stdout);
  assert.deepEqual(gc.backend.calls[0]!.valid, [{ containerId: 'a', ifname: 'eth0' }, { containerId: 'b', ifname: 'net1' }]);
  assert.equal(gc.backend.calls[0]!.conf!.name, 'podnet');
  const old = await run('GC', { cniVersion: '1.1.0', name: 'podnet', type: 'podnet', 'cni.dev/attachments': [{ containerID: 'c', ifname: 'eth0' }] });
  assert.deepEqual(old.backend.calls[0]!.valid, [{ containerId: 'c', ifname: 'eth0' }]);
  const none = await runError('GC', { cniVersion: '1.1.0', name: 'podnet', type: 'podnet' }, 7);
  assert.equal(none.backend.calls.length, 0);
  const st = await run('STATUS', confFor('1.1.0', 'STATUS', { agentSocket: '/tmp/p.sock' }), { env: { CNI_CONTAINERID: undefined, CNI_IFNAME: undefined, CNI_NETNS: undefined, CNI_PATH: undefined } });
  assert.equal(st.exitCode, 0, st.stdout);
  assert.equal(st.backend.calls[0]!.conf!.agentSocket, '/tmp/p.sock');
});

test('VERSION echoes the requested version and needs nothing but CNI_COMMAND', async () => {
  const empty = new RecordingBackend();
  for (const [stdin, want] of [['', '1.1.0'], ['{"cniVersion":"1.2.0"}', '1.2.0'], ['not json', '1.1.0'], ['{"cniVersion":"x"}', '1.1.0'], ['{}', '1.1.0']] as const) {
    const out = await runCni({ CNI_COMMAND: 'VERSION' }, stdin, empty, 'cni');
    assert.equal(out.exitCode, 0);
    assert.deepEqual(JSON.parse(out.stdout), { cniVersion: want, supportedVersions: [...SUPPORTED_VERSIONS] });
  }
  assert.equal(empty.calls.length, 0);
});

test('missing env per verb is code 4 naming the variable', async () => {
  for (const cmd of VERBS) {
    for (const name of ENV_RULES[cmd].required) {
      if (name === 'CNI_COMMAND') continue;
      const e = await runError(cmd, confFor('1.1.0', cmd), 4, { env: { [name]: undefined } });
      assert.match(e.msg, new RegExp(`\\[${name}\\] missing for ${cmd}`));
      assert.equal(e.cniVersion, '1.1.0');
      assert.equal(e.backend.calls.length, 0);
    }
  }
  const noCmd = await runCni({ ...ENV }, JSON.stringify(confFor('0.4.0', 'ADD')), new RecordingBackend(), 'cni');
  assert.equal(noCmd.exitCode, 1);
  assert.deepEqual(JSON.parse(noCmd.stdout), { cniVersion: '0.4.0', code: 4, msg: 'required env variables [CNI_COMMAND] missing', details: 'CNI_INVALID_ENV' });
  const e = await runError('FROB', confFor('1.1.0', 'ADD'), 4);
  assert.match(e.msg, /CNI_COMMAND "FROB"/);
});

test('container IDs, ifnames and network names with shell characters are rejected', async () => {
  const shelly = ['x;reboot', 'x$(reboot)', 'x`id`', 'x y', "x'y", 'x"y'];
  for (const id of shelly) {
    const e = await runError('ADD', confFor('1.1.0', 'ADD'), 4, { env: { CNI_CONTAINERID: id } });
    assert.match(e.msg, /^invalid CNI_CONTAINERID /);
    assert.equal(e.details, 'CNI_INVALID_ENV: CNI_CONTAINERID');
    assert.equal(e.backend.calls.length, 0);
  }
  for (const ifname of [...shelly, 'a/b', 'a:b', '..', 'abcdefghijklmnop']) {
    const e = await runError('DEL', confFor('1.1.0', 'DEL'), 4, { env: { CNI_IFNAME: ifname } });
    assert.match(e.msg, /^invalid CNI_IFNAME /);
    assert.equal(e.backend.calls.length, 0);
  }
  for (const name of shelly) {
    const e = await runError('ADD', confFor('1.1.0', 'ADD', { name }), 7);
    assert.match(e.msg, /^invalid network config: name /);
    assert.equal(e.backend.calls.length, 0);
  }
});

test('stdin errors: malformed JSON 6, unknown field 2, bad version 1', async () => {
  for (const stdin of ['{"cniVersion":', '', '[1]']) {
    const e = await runError('ADD', stdin, 6);
    assert.equal(e.cniVersion, '1.1.0');
    assert.equal(e.backend.calls.length, 0);
  }
  const unk = await runError('ADD', confFor('0.3.1', 'ADD', { hairpinMode: true }), 2);
  assert.equal(unk.msg, 'unsupported field in network config: hairpinMode=true');
  assert.equal(unk.cniVersion, '0.3.1');
  const bad = await runError('ADD', { cniVersion: '0.2.0', name: 'n', type: 'podnet' }, 1);
  assert.match(bad.msg, /cniVersion "0\.2\.0" is not supported; podnet supports 0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0/);
  assert.equal(bad.cniVersion, '1.1.0');
  const none = await runError('DEL', { name: 'n', type: 'podnet' }, 1);
  assert.match(none.msg, /no cniVersion/);
  const mtu = await runError('ADD', confFor('1.1.0', 'ADD', { mtu: 20 }), 7);
  assert.match(mtu.msg, /mtu must be an integer between 68 and 65535/);
});

test('bad CNI_ARGS is code 4; IgnoreUnknown lets unknown keys through', async () => {
  const e = await runError('ADD', confFor('1.1.0', 'ADD'), 4, { env: { CNI_ARGS: 'K8S_POD_NAME=a;FOO=bar' } });
  assert.match(e.msg, /^invalid CNI_ARGS: unknown keys "FOO"/);
  assert.equal(e.details, 'CNI_INVALID_ENV: CNI_ARGS');
  await runError('DEL', confFor('1.1.0', 'DEL'), 4, { env: { CNI_ARGS: 'K8S_POD_NAME' } });
  await runError('CHECK', confFor('1.1.0', 'CHECK'), 4, { env: { CNI_ARGS: 'IP=1.2.3' } });
  const ok = await run('ADD', confFor('1.1.0', 'ADD'), { env: { CNI_ARGS: 'FOO=bar;IgnoreUnknown=1;IP=10.0.0.9' } });
  assert.equal(ok.exitCode, 0, ok.stdout);
  assert.deepEqual(ok.backend.calls[0]!.req!.args, { extra: { FOO: 'bar' }, IgnoreUnknown: true, IP: ['10.0.0.9'] });
  // GC and STATUS do not read CNI_ARGS.
  const gc = await run('GC', confFor('1.1.0', 'GC'), { env: { CNI_ARGS: 'FOO=bar' } });
  assert.equal(gc.exitCode, 0, gc.stdout);
});

test('containerd capitalised portMappings and podman alias map reach the backend normalised', async () => {
  const r = await run('ADD', confFor('1.0.0', 'ADD', {
    capabilities: { portMappings: true, aliases: true },
    runtimeConfig: {
      portMappings: [{ HostPort: 8080, ContainerPort: 80, Protocol: 'tcp', HostIP: '' }],
      aliases: { podnet: ['web'] },
    },
  }));
  assert.equal(r.exitCode, 0, r.stdout);
  assert.deepEqual(r.backend.calls[0]!.req!.conf.runtimeConfig, {
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    aliases: ['web'],
  });
});

test('ipam mode: foreign top-level fields, ipam fields, abbreviated result', async () => {
  const conf = confFor('0.4.0', 'ADD', { type: 'bridge', bridge: 'cni0', isGateway: true, ipam: { type: 'podnet-ipam', pools: ['blue'], families: [4] } });
  const r = await run('ADD', conf, { mode: 'ipam' });
  assert.equal(r.exitCode, 0, r.stdout);
  assert.equal(r.backend.calls[0]!.mode, 'ipam');
  assert.deepEqual(r.backend.calls[0]!.req!.conf.pools, ['blue']);
  assert.deepEqual(r.json, {
    cniVersion: '0.4.0',
    ips: [{ version: '4', address: '10.244.0.5/32', gateway: '169.254.1.1' }, { version: '6', address: 'fd00:10:244::5/128' }],
    routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
  });
  const e = await runError('ADD', confFor('1.1.0', 'ADD', { ipam: { type: 'podnet-ipam', rangeStart: '10.0.0.1' } }), 2, { mode: 'ipam' });
  assert.match(e.msg, /ipam\.rangeStart="10\.0\.0\.1"/);
  for (const cmd of ['DEL', 'CHECK', 'STATUS', 'GC'] as const) {
    const x = await run(cmd, confFor('1.1.0', cmd, { type: 'ptp', ipMasq: true, ipam: { type: 'podnet-ipam' } }), { mode: 'ipam' });
    assert.equal(x.exitCode, 0, `${cmd}: ${x.stdout}`);
    assert.equal(x.backend.calls[0]!.mode, 'ipam');
  }
});

test('backend errors: PodnetError keeps its code, anything else is 100', async () => {
  const b = new RecordingBackend();
  b.fail = new PodnetError(CniErrors.CNI_UNKNOWN_CONTAINER, 'no such container ctr1', { details: 'checked the datastore' });
  const e3 = await runError('CHECK', confFor('1.0.0', 'CHECK'), 3, { backend: b });
  assert.deepEqual({ ...e3, backend: undefined }, { cniVersion: '1.0.0', code: 3, msg: 'no such container ctr1', details: 'CNI_UNKNOWN_CONTAINER: checked the datastore', backend: undefined });
  b.fail = new Error('boom');
  const e100 = await runError('ADD', confFor('0.3.0', 'ADD'), 100, { backend: b });
  assert.equal(e100.msg, 'boom');
  assert.equal(e100.details, 'INTERNAL');
  assert.equal(e100.cniVersion, '0.3.0');
  b.fail = 'a string';
  assert.equal((await runError('DEL', confFor('1.1.0', 'DEL'), 100, { backend: b })).msg, 'a string');
  b.fail = new PodnetError(CniErrors.CNI_LIMITED_CONNECTIVITY, 'uplink down');
  assert.equal((await runError('STATUS', confFor('1.1.0', 'STATUS'), 51, { backend: b })).msg, 'uplink down');
  b.fail = new PodnetError(CniErrors.CNI_TRY_AGAIN_LATER, 'busy');
  await runError('GC', confFor('1.1.0', 'GC'), 11, { backend: b });
});

test('an invalid result from the backend is not sent to the runtime', async () => {
  const b = new RecordingBackend();
  b.result = { ips: [{ address: '10.0.0.5' }] };
  const e = await runError('ADD', confFor('1.1.0', 'ADD'), 100, { backend: b });
  assert.match(e.msg, /^podnet agent returned an invalid ADD result: invalid network config: result\.ips\[0\]\.address/);
  assert.equal(e.details, 'CNI_INVALID_RESULT');
  b.result = undefined;
  await runError('ADD', confFor('1.1.0', 'ADD'), 100, { backend: b });
});
