/** Argument parsing of policy.explain (--from, --to, --port). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../common/errors.js';
import { parseEndpoint, parsePort } from './rpc-policy.js';

test('endpoints: NS/POD, POD (default namespace), IPv4, IPv6', () => {
  assert.deepEqual(parseEndpoint('x/a', 'from'), { ns: 'x', pod: 'a' });
  assert.deepEqual(parseEndpoint('a', 'from'), { ns: 'default', pod: 'a' });
  assert.deepEqual(parseEndpoint('10.0.0.1', 'from'), { ip: '10.0.0.1' });
  assert.deepEqual(parseEndpoint('fd00::1', 'from'), { ip: 'fd00::1' });
  for (const bad of ['', 'a/b/c', '/a', 'x/', 7]) assert.throws(() => parseEndpoint(bad, '--from'), (e: unknown) => isPodnetError(e, 'INVALID_ARGUMENT'));
});

test('ports: number, N/PROTO in any case; bad ones are refused', () => {
  assert.deepEqual(parsePort('80'), { port: 80, protocol: 'TCP' });
  assert.deepEqual(parsePort('53/udp'), { port: 53, protocol: 'UDP' });
  assert.deepEqual(parsePort('9/SCTP'), { port: 9, protocol: 'SCTP' });
  assert.deepEqual(parsePort(443), { port: 443, protocol: 'TCP' });
  for (const bad of ['0', '65536', '80/ICMP', 'http', '80/', undefined]) assert.throws(() => parsePort(bad), (e: unknown) => isPodnetError(e, 'INVALID_ARGUMENT'));
});
