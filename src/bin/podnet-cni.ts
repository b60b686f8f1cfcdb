#!/usr/bin/env node
/**
 * The Node implementation of the podnet-cni / podnet-ipam executable. The C shim execs it when
 * the agent cannot be reached (PODNET_AGENT_ERROR says why): VERSION is answered here and every
 * other verb fails with CNI code 11 (STATUS: 50). It can also be run directly, in which case it
 * tries the agent itself first. Process I/O only; the logic is runCni's.
 */
import { readFileSync } from 'node:fs';
import { PodnetError } from '../common/errors.js';
import { CniErrors } from '../cni/errors.js';
import { basename } from 'node:path';
import { AgentUnavailableBackend } from '../cni/agent-unavailable.js';
import { cniErrorReply, runCni } from '../cni/run.js';
import { callCni, DEFAULT_AGENT_SOCKET } from '../agent/client.js';

function agentSocketOf(stdin: string, mode: 'cni' | 'ipam'): string {
  try {
    const conf = JSON.parse(stdin) as Record<string, unknown>;
    const ipam = conf.ipam as Record<string, unknown> | undefined;
    const s = mode === 'ipam' ? ipam?.agentSocket : conf.agentSocket;
    return typeof s === 'string' && s !== '' ? s : DEFAULT_AGENT_SOCKET;
  } catch {
    return DEFAULT_AGENT_SOCKET;
  }
}

async function main(): Promise<number> {
  let stdin: string;
  try {
    stdin = readFileSync(0, 'utf8');
  } catch (e) {
    process.stdout.write(JSON.stringify(cniErrorReply(new PodnetError(CniErrors.CNI_IO_FAILURE, `reading stdin: ${(e as Error).message}`))) + '\n');
    return 1;
  }
  const mode = process.env.PODNET_PLUGIN === 'ipam' || basename(process.argv[1] ?? '').startsWith('podnet-ipam') ? 'ipam' : 'cni';
  let reason = process.env.PODNET_AGENT_ERROR ?? '';
  const socket = agentSocketOf(stdin, mode);
  if (reason === '' && process.env.CNI_COMMAND !== 'VERSION') {
    try {
      const env = { ...process.env, PODNET_PLUGIN: mode };
      const ans = await callCni(socket, env, stdin);
      process.stdout.write(ans.stdout);
      return ans.exitCode;
    } catch (e) {
      reason = (e as Error).message;
    }
  }
  const res = await runCni(process.env, stdin, new AgentUnavailableBackend(reason || 'the agent socket could not be used'), mode);
  process.stdout.write(res.stdout);
  return res.exitCode;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stdout.write(JSON.stringify({ cniVersion: '1.1.0', code: 100, msg: 'podnet-cni failed', details: String(e) }) + '\n');
    process.exitCode = 1;
  },
);
