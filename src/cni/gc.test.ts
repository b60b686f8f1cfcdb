import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../common/errors.js';
import { parseValidAttachments } from './gc.js';

test('reads cni.dev/valid-attachments and the older cni.dev/attachments, merged', () => {
  assert.deepEqual(parseValidAttachments({ 'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }] }), [{ containerId: 'a', ifname: 'eth0' }]);
  assert.deepEqual(parseValidAttachments({ 'cni.dev/attachments': [{ containerID: 'b', ifname: 'net1' }] }), [{ containerId: 'b', ifname: 'net1' }]);
  assert.deepEqual(
    parseValidAttachments({
      'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }],
      'cni.dev/attachments': [{ containerID: 'a', ifname: 'eth0' }, { containerID: 'c', ifname: 'eth0' }],
    }),
    [{ containerId: 'a', ifname: 'eth0' }, { containerId: 'c', ifname: 'eth0' }],
  );
});

test('null (a Go nil slice) and [] are empty lists', () => {
  assert.deepEqual(parseValidAttachments({ 'cni.dev/valid-attachments': null }), []);
  assert.deepEqual(parseValidAttachments({ 'cni.dev/valid-attachments': [] }), []);
});

test('absent key and malformed entries are invalid config (7)', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{}, /GC requires "cni\.dev\/valid-attachments"/],
    [{ 'cni.dev/valid-attachments': {} }, /cni\.dev\/valid-attachments must be a list/],
    [{ 'cni.dev/valid-attachments': ['a'] }, /cni\.dev\/valid-attachments\[0\] must be an object/],
    [{ 'cni.dev/valid-attachments': [{ containerID: 'a' }] }, /cni\.dev\/valid-attachments\[0\]\.ifname must be a non-empty string/],
    [{ 'cni.dev/attachments': [{ ifname: 'eth0' }] }, /cni\.dev\/attachments\[0\]\.containerID/],
  ];
  for (const [conf, re] of cases) {
    assert.throws(() => parseValidAttachments(conf), (e: unknown) => isPodnetError(e, 'CNI_INVALID_CONFIG') && e.cni === 7 && re.test(e.message), JSON.stringify(conf));
  }
});
