/**
 * The `podnet` CLI as the policy and flow tests drive it: the built binary against an agent
 * socket, without NODE_EXTRA_CA_CERTS (it triples Node's start-up here), and a bounded poll.
 */
import { execFile } from 'node:child_process';
import assert from 'node:assert/strict';
import { PODNET_JS } from '../../src/lab/paths.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment for child Node processes. */
export function childEnv(): NodeJS.ProcessEnv {
  const e = { ...process.env };
  delete e.NODE_EXTRA_CA_CERTS;
  return e;
}

/** `podnet <args> --socket <socket>`, stdin from `input`; never rejects on a non-zero exit. */
export function podnetCli(socket: string, args: readonly string[], input?: string, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [PODNET_JS, ...args, '--socket', socket], { env: childEnv(), timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin?.end(input ?? '');
  });
}

/** Polls `f` until it gives a value (at most `ms`, every `everyMs`); fails the test naming `what`. */
export async function eventually<T>(what: string, f: () => Promise<T | undefined>, ms = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 10_000; i++) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}`);
}
