import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ifnameProblem, isValidContainerId, isValidIfname, isValidNetworkName, nameProblem } from './names.js';

const SHELLY = ['a;b', 'a$(id)', 'a`id`', 'a b', "a'b", 'a"b', 'a|b', 'a&b', 'a>b', 'a\\b', 'a\nb', 'a*', 'a?'];

test('container IDs and network names follow the CNI name rule', () => {
  for (const ok of ['a', '0', 'abc-DEF_1.2', '3f4e5d6c7b8a9', 'k8s_POD_x-y.z']) {
    assert.ok(isValidContainerId(ok), ok);
    assert.ok(isValidNetworkName(ok), ok);
  }
  for (const bad of ['', '-a', '_a', '.a', 'a/b', 'a:b', 'é', ...SHELLY]) {
    assert.equal(isValidContainerId(bad), false, bad);
    assert.equal(isValidNetworkName(bad), false, bad);
  }
  assert.equal(nameProblem(''), 'must not be empty');
});

test('interface names: libcni rules plus no shell metacharacters', () => {
  for (const ok of ['eth0', 'net1', 'a', 'veth-1.100', 'x'.repeat(15), 'e_0']) assert.ok(isValidIfname(ok), ok);
  assert.equal(ifnameProblem(''), 'must not be empty');
  assert.match(ifnameProblem('x'.repeat(16)) ?? '', /at most 15 bytes/);
  assert.match(ifnameProblem('ééééééééé') ?? '', /at most 15 bytes/); // 9 characters, 18 bytes
  assert.match(ifnameProblem('.') ?? '', /"\." or "\.\."/);
  assert.match(ifnameProblem('..') ?? '', /"\." or "\.\."/);
  for (const bad of ['a/b', 'a:b', 'a b', 'a\tb', 'a\u00a0b', 'a\u0085b']) assert.match(ifnameProblem(bad) ?? '', /'\/', ':' or whitespace/, bad);
  for (const bad of ['e;ls', 'e$(x)', 'e`x`', "e'x", 'e"x', 'eth%d', 'e|x', 'e&x', 'e\\x']) {
    assert.match(ifnameProblem(bad) ?? '', /only letters, digits/, bad);
  }
});
