import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentUnavailableBackend } from './agent-unavailable.js';
import { runCni } from './run.js';

const ENV = { CNI_CONTAINERID: 'ctr1', CNI_NETNS: '/run/netns/ctr1', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
const conf = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ cniVersion: '1.1.0', name: 'podnet', type: 'podnet', agentSocket: '/run/podnet/agent.sock', ...extra });

test('ADD, CHECK, DEL and GC fail with 11; STATUS with 50; same message', async () => {
  const backend = new AgentUnavailableBackend('connect ENOENT /run/podnet/agent.sock');
  const msg = 'podnet agent is not reachable at /run/podnet/agent.sock: connect ENOENT /run/podnet/agent.sock; is `podnet agent` running?';
  const cases: [string, string, number, string][] = [
    ['ADD', conf(), 11, 'CNI_TRY_AGAIN_LATER'],
    ['DEL', conf(), 11, 'CNI_TRY_AGAIN_LATER'],
    ['CHECK', conf({ prevResult: { ips: [{ address: '10.0.0.5/32' }] } }), 11, 'CNI_TRY_AGAIN_LATER'],
    ['GC', conf({ 'cni.dev/valid-attachments': [] }), 11, 'CNI_TRY_AGAIN_LATER'],
    ['STATUS', conf(), 50, 'CNI_PLUGIN_NOT_AVAILABLE'],
  ];
  for (const [cmd, stdin, code, details] of cases) {
    const out = await runCni({ ...ENV, CNI_COMMAND: cmd }, stdin, backend, 'cni');
    assert.equal(out.exitCode, 1, cmd);
    assert.deepEqual(JSON.parse(out.stdout), { cniVersion: '1.1.0', code, msg, details }, cmd);
  }
});

test('the socket in the message is the config\'s (ipam mode reads ipam.agentSocket)', async () => {
  const backend = new AgentUnavailableBackend('connect ECONNREFUSED');
  const stdin = JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'bridge', ipam: { type: 'podnet-ipam', agentSocket: '/tmp/x.sock' } });
  const out = await runCni({ ...ENV, CNI_COMMAND: 'ADD' }, stdin, backend, 'ipam');
  assert.equal(JSON.parse(out.stdout).msg, 'podnet agent is not reachable at /tmp/x.sock: connect ECONNREFUSED; is `podnet agent` running?');
  const version = await runCni({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}', backend, 'cni');
  assert.equal(version.exitCode, 0);
});
