/** Child processes with argument arrays only (never a shell), bounded in time. */
import { execFile, type ExecFileOptions } from 'node:child_process';
import { CommonErrors, PodnetError } from '../common/errors.js';

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export interface ExecOptions {
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  readonly cwd?: string;
}

/** Runs cmd with args; resolves with the exit code (never rejects on a non-zero exit). */
export function run(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const o: ExecFileOptions = { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20, encoding: 'utf8', killSignal: 'SIGKILL' };
    if (opts.env) o.env = opts.env;
    if (opts.cwd) o.cwd = opts.cwd;
    const child = execFile(cmd, [...args], o, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
      if (e && typeof e.code === 'string') {
        reject(new PodnetError(CommonErrors.INTERNAL, `${cmd}: ${e.message}`));
        return;
      }
      if (e?.killed) {
        reject(new PodnetError(CommonErrors.TIMEOUT, `${cmd} ${args.join(' ')}: timed out after ${o.timeout} ms`));
        return;
      }
      resolve({ stdout: String(stdout), stderr: String(stderr), code: e ? Number(e.code ?? 1) : 0 });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Like run, but a non-zero exit is an error carrying stderr. */
export async function runOk(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new PodnetError(CommonErrors.INTERNAL, `${cmd} ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  }
  return r.stdout;
}
