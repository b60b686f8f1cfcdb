import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, encodeCniRequest, encodeRpcRequest, decodeCniAnswer, encodeCniAnswer, FrameError } from './protocol.js';

test('CNI frames round-trip env and stdin, including "=" in values and UTF-8', () => {
  const f = decodeFrame(encodeCniRequest({ CNI_COMMAND: 'ADD', CNI_ARGS: 'A=1;B=2', X: undefined }, '{"name":"ü"}'));
  assert.equal(f.kind, 'cni');
  if (f.kind !== 'cni') return;
  assert.deepEqual(f.env, { CNI_COMMAND: 'ADD', CNI_ARGS: 'A=1;B=2' });
  assert.equal(f.stdin, '{"name":"ü"}');
});

test('RPC frames carry method and params', () => {
  const f = decodeFrame(encodeRpcRequest('status', { a: 1 }));
  assert.deepEqual(f, { kind: 'rpc', method: 'status', params: { a: 1 } });
});

test('malformed frames are rejected', () => {
  assert.throws(() => decodeFrame(Buffer.from('GET / HTTP/1.1\r\n')), FrameError);
  assert.throws(() => decodeFrame(Buffer.from('PODNET-CNI/1\nCNI_COMMAND=ADD')), /unterminated/);
  assert.throws(() => decodeFrame(Buffer.from('PODNET-CNI/1\nNOEQUALS\0\0')), /malformed/);
  assert.throws(() => decodeFrame(Buffer.from('PODNET-RPC/1\n{oops')), /not JSON/);
  assert.throws(() => decodeCniAnswer(Buffer.from('')), /without an answer/);
});

test('answers decode', () => {
  assert.deepEqual(decodeCniAnswer(encodeCniAnswer(1, '{"code":11}\n')), { exitCode: 1, stdout: '{"code":11}\n' });
});
