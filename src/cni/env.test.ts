import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError, type PodnetError } from '../common/errors.js';
import { CNI_COMMANDS, ENV_RULES, readCommand, readEnv, splitCniPath } from './env.js';

const FULL = {
  CNI_CONTAINERID: 'ctr1',
  CNI_NETNS: '/run/netns/ctr1',
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'K8S_POD_NAME=p',
  CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
};

function envError(f: () => unknown): PodnetError {
  try {
    f();
  } catch (e) {
    assert.ok(isPodnetError(e, 'CNI_INVALID_ENV'), String(e));
    assert.equal(e.cni, 4);
    return e;
  }
  assert.fail('expected CNI_INVALID_ENV');
}

test('the table matches SPEC.md 1.1.0 required variables', () => {
  assert.deepEqual(ENV_RULES.ADD.required, ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME']);
  assert.deepEqual(ENV_RULES.CHECK.required, ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME']);
  assert.deepEqual(ENV_RULES.DEL.required, ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_IFNAME']);
  assert.deepEqual(ENV_RULES.GC.required, ['CNI_COMMAND', 'CNI_PATH']);
  assert.deepEqual(ENV_RULES.STATUS.required, ['CNI_COMMAND']);
  assert.deepEqual(ENV_RULES.VERSION.required, ['CNI_COMMAND']);
});

test('every required variable of every verb is checked and named', () => {
  for (const cmd of CNI_COMMANDS) {
    for (const name of ENV_RULES[cmd].required) {
      if (name === 'CNI_COMMAND') continue;
      const env: Record<string, string> = { ...FULL, CNI_COMMAND: cmd };
      delete env[name];
      const e = envError(() => readEnv(env));
      assert.match(e.message, new RegExp(`\\[${name}\\] missing for ${cmd}`));
      env[name] = '';
      assert.match(envError(() => readEnv(env)).message, new RegExp(name));
    }
  }
});

test('all missing variables are listed together', () => {
  const e = envError(() => readEnv({ CNI_COMMAND: 'ADD' }));
  assert.equal(e.message, 'required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME] missing for ADD');
});

test('CNI_COMMAND missing or unknown', () => {
  assert.match(envError(() => readCommand({})).message, /\[CNI_COMMAND\] missing/);
  assert.match(envError(() => readCommand({ CNI_COMMAND: 'add' })).message, /CNI_COMMAND "add" is not one of ADD, DEL, CHECK, STATUS, VERSION, GC/);
});

test('DEL without CNI_NETNS is fine; GC and STATUS ignore attachment variables', () => {
  const del = readEnv({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c', CNI_IFNAME: 'eth0' });
  assert.equal(del.netns, '');
  assert.deepEqual(del.path, []);
  // libcni sends empty (and here invalid) attachment variables on GC/STATUS; they are not validated.
  const gc = readEnv({ CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin', CNI_CONTAINERID: 'bad;id', CNI_IFNAME: 'bad name' });
  assert.equal(gc.containerId, '');
  assert.equal(gc.ifname, '');
  assert.deepEqual(gc.path, ['/opt/cni/bin']);
  const status = readEnv({ CNI_COMMAND: 'STATUS' });
  assert.equal(status.command, 'STATUS');
});

test('container ID and ifname with shell characters are rejected naming the variable', () => {
  for (const id of ['a;reboot', '$(reboot)', '`id`', 'a b', "a'b", 'a"b', '-x']) {
    const e = envError(() => readEnv({ ...FULL, CNI_COMMAND: 'ADD', CNI_CONTAINERID: id }));
    assert.match(e.message, /^invalid CNI_CONTAINERID /);
    assert.equal(e.details, 'CNI_CONTAINERID');
  }
  for (const ifname of ['eth0;ls', '$(x)', '`x`', 'eth 0', "'x'", '"x"', 'a/b', 'a:b', '.', '..', 'x'.repeat(16)]) {
    const e = envError(() => readEnv({ ...FULL, CNI_COMMAND: 'DEL', CNI_IFNAME: ifname }));
    assert.match(e.message, /^invalid CNI_IFNAME /);
    assert.equal(e.details, 'CNI_IFNAME');
  }
});

test('CNI_PATH is split on colons', () => {
  assert.deepEqual(splitCniPath('/a:/b::/c:'), ['/a', '/b', '/c']);
  assert.deepEqual(splitCniPath(''), []);
  assert.deepEqual(readEnv({ ...FULL, CNI_COMMAND: 'ADD' }).path, ['/opt/cni/bin', '/usr/lib/cni']);
});
