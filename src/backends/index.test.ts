import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS as NAMES } from '../model/node.js';
import { BACKENDS, backendFor } from './index.js';

test('one backend per configuration value, in one table, each naming itself', () => {
  assert.deepEqual(Object.keys(BACKENDS).sort(), [...NAMES].sort());
  for (const [name, b] of Object.entries(BACKENDS)) assert.equal(b.name, name);
  assert.equal(BACKENDS['host-gw'].tunnels, false);
  assert.equal(BACKENDS.vxlan.tunnels, true);
  assert.equal(BACKENDS['cross-subnet'].tunnels, true);
  assert.equal(backendFor('toString'), undefined);
  assert.equal(backendFor('ipip'), undefined);
  assert.ok(Object.isFrozen(BACKENDS));
});
