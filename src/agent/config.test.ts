/**
 * The agent's configuration file: defaults, the policy and flows sections, and the errors (code
 * AGENT_CONFIG, the field path, the reason) for bad values and unknown keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../common/errors.js';
import { DEFAULT_CONFIG, DEFAULT_FLOWS, DEFAULT_POLICY, parseAgentConfig, parseAgentConfigText } from './config.js';

function refused(input: unknown, path: string): void {
  assert.throws(
    () => parseAgentConfig(input),
    (e: unknown) => isPodnetError(e) && e.code === 'AGENT_CONFIG' && e.message.includes(path),
    `refused at ${path}`,
  );
}

test('defaults: flow readers at idle priority with a 32 MiB buffer, policy on with drop records', () => {
  const c = parseAgentConfig({});
  assert.deepEqual(c.flows, { enabled: true, capacity: 16384, readerPriority: 'idle', bufferBytes: 32 << 20 });
  assert.deepEqual(c.flows, DEFAULT_FLOWS);
  assert.deepEqual(c.policy, DEFAULT_POLICY);
  assert.equal(parseAgentConfig(undefined), DEFAULT_CONFIG);
});

test('flows: each key alone keeps the others\' defaults', () => {
  assert.deepEqual(parseAgentConfig({ flows: { readerPriority: 'normal' } }).flows, { ...DEFAULT_FLOWS, readerPriority: 'normal' });
  assert.deepEqual(parseAgentConfig({ flows: { bufferBytes: 1 << 20, capacity: 100 } }).flows, { ...DEFAULT_FLOWS, bufferBytes: 1 << 20, capacity: 100 });
  assert.deepEqual(parseAgentConfigText('flows: {enabled: false}\n', 'agent.yaml').flows, { ...DEFAULT_FLOWS, enabled: false });
});

test('flows: bad values and unknown keys are refused with their path', () => {
  refused({ flows: { readerPriority: 'low' } }, '.flows.readerPriority');
  refused({ flows: { bufferBytes: 1024 } }, '.flows.bufferBytes');
  refused({ flows: { bufferBytes: 1 << 30 } }, '.flows.bufferBytes');
  refused({ flows: { bufferBytes: '8M' } }, '.flows.bufferBytes');
  refused({ flows: { capacity: 0 } }, '.flows.capacity');
  refused({ flows: { enabled: 'yes' } }, '.flows.enabled');
  refused({ flows: { ringSize: 10 } }, 'ringSize');
  refused({ flows: [] }, '.flows');
});
