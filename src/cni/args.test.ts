import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../common/errors.js';
import { parseCniArgs } from './args.js';

function argsError(s: string, re: RegExp): void {
  assert.throws(
    () => parseCniArgs(s),
    (e: unknown) => isPodnetError(e, 'CNI_INVALID_ENV') && e.cni === 4 && e.message.startsWith('invalid CNI_ARGS: ') && re.test(e.message),
    s,
  );
}

test('empty CNI_ARGS', () => {
  assert.deepEqual(parseCniArgs(''), { extra: {} });
});

test('containerd-style Kubernetes arguments', () => {
  const a = parseCniArgs('IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=3f2a9c;K8S_POD_UID=5b1e2c44-1d0a-4b7e-9f7d-0a1b2c3d4e5f');
  assert.deepEqual(a, {
    extra: {},
    IgnoreUnknown: true,
    K8S_POD_NAMESPACE: 'default',
    K8S_POD_NAME: 'web-0',
    K8S_POD_INFRA_CONTAINER_ID: '3f2a9c',
    K8S_POD_UID: '5b1e2c44-1d0a-4b7e-9f7d-0a1b2c3d4e5f',
  });
});

test('IP lists (comma-separated, repeated pairs accumulate) and MAC', () => {
  const a = parseCniArgs('IP=10.0.0.5,fd00::5/64;IP=10.0.0.6;MAC=AA:bb:cc:dd:ee:01');
  assert.deepEqual(a.IP, ['10.0.0.5', 'fd00::5/64', '10.0.0.6']);
  assert.equal(a.MAC, 'aa:bb:cc:dd:ee:01');
  argsError('IP=10.0.0.256', /IP "10.0.0.256" is not an address/);
  argsError('IP=10.0.0.1,', /IP "" is not an address/);
  argsError('MAC=aa:bb', /MAC "aa:bb" is not a unicast MAC address/);
});

test('unknown keys fail unless IgnoreUnknown, wherever it appears', () => {
  argsError('FOO=bar', /unknown keys "FOO"/);
  argsError('FOO=bar;IgnoreUnknown=0', /unknown keys "FOO"/);
  argsError('ignoreunknown=1;FOO=bar', /unknown keys "ignoreunknown", "FOO"/); // keys are case-sensitive
  assert.deepEqual(parseCniArgs('FOO=bar;IgnoreUnknown=true').extra, { FOO: 'bar' });
  assert.deepEqual(parseCniArgs('IgnoreUnknown=True;FOO=bar;X=').extra, { FOO: 'bar', X: '' });
  assert.equal(parseCniArgs('IgnoreUnknown=false').IgnoreUnknown, false);
  argsError('IgnoreUnknown=yes', /IgnoreUnknown must be 1, true, 0 or false/);
});

test('malformed pairs', () => {
  for (const s of ['K8S_POD_NAME', 'K8S_POD_NAME=a=b', '=x', 'K8S_POD_NAME=a;', ';K8S_POD_NAME=a', 'a;;b']) {
    argsError(s, /malformed pair/);
  }
});

test('K8S values must be names; empty values are absent', () => {
  argsError('K8S_POD_NAME=$(reboot)', /K8S_POD_NAME "\$\(reboot\)"/);
  argsError('K8S_POD_NAMESPACE=a b', /K8S_POD_NAMESPACE/);
  const a = parseCniArgs('K8S_POD_NAME=x;K8S_POD_NAME=;K8S_POD_UID=');
  assert.equal(a.K8S_POD_NAME, undefined);
  assert.equal('K8S_POD_UID' in a, false);
  assert.equal(parseCniArgs('K8S_POD_NAME=a;K8S_POD_NAME=b').K8S_POD_NAME, 'b');
});

test('MAC= must be a unicast address', () => {
  assert.throws(() => parseCniArgs('MAC=01:00:5e:00:00:01'), (e: unknown) => isPodnetError(e) && e.cni === 4);
  assert.throws(() => parseCniArgs('MAC=00:00:00:00:00:00'), (e: unknown) => isPodnetError(e) && e.cni === 4);
  assert.equal(parseCniArgs('MAC=02:AA:bb:cc:dd:ee').MAC, '02:aa:bb:cc:dd:ee');
});
