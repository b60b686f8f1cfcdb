/**
 * Child processes for the runtime harness: argument arrays only (never a shell), every run
 * bounded in time, output captured with a size cap.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** Output kept per stream; the rest is dropped (the head is kept, with a marker). */
const OUTPUT_CAP = 1 << 20;

export interface ExecResult {
  readonly argv: readonly string[];
  /** Exit code; -1 when the process was ended by a signal. */
  readonly code: number;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall-clock duration in milliseconds. */
  readonly ms: number;
}

export interface ExecOptions {
  /** Kill (SIGKILL) the process after this many milliseconds and reject. Default 60 s. */
  readonly timeoutMs?: number;
  /** Full environment of the child; default: this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  readonly input?: string;
  readonly cwd?: string;
}

/** A harness failure: a command that failed or timed out, or a wait that ran out. */
export class HarnessError extends Error {
  readonly result: ExecResult | undefined;
  constructor(message: string, result?: ExecResult, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HarnessError';
    this.result = result;
  }
}

/** Thrown by a waitFor check to stop waiting at once (e.g. the awaited process died). */
export class WaitAbort extends HarnessError {
  constructor(message: string) {
    super(message);
    this.name = 'WaitAbort';
  }
}

class Capture {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;
  push(b: Buffer): void {
    if (this.size >= OUTPUT_CAP) {
      this.dropped += b.length;
      return;
    }
    const take = b.subarray(0, OUTPUT_CAP - this.size);
    this.chunks.push(take);
    this.size += take.length;
    this.dropped += b.length - take.length;
  }
  text(): string {
    const s = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped ? `${s}\n[... ${this.dropped} bytes dropped]` : s;
  }
}

export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

function tail(s: string, n = 2000): string {
  const t = s.trim();
  return t.length > n ? `...${t.slice(-n)}` : t;
}

/** Runs argv[0] with argv[1..]; resolves with the exit status (a non-zero exit is not an error). */
export function run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  if (argv.length === 0) throw new HarnessError('run: empty argv');
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: opts.env ?? process.env,
      cwd: opts.cwd ?? '/',
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out = new Capture();
    const err = new Capture();
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new HarnessError(`${formatArgv(argv)}: ${e.message}`, undefined, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: ExecResult = {
        argv,
        code: code ?? -1,
        signal,
        stdout: out.text(),
        stderr: err.text(),
        ms: performance.now() - started,
      };
      if (timedOut) reject(new HarnessError(`${formatArgv(argv)}: timed out after ${timeoutMs} ms\n${tail(result.stderr)}`, result));
      else resolve(result);
    });
  });
}

/** Like run, but a non-zero exit rejects with a HarnessError carrying stderr. */
export async function runOk(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw failed(r);
  return r;
}

export function failed(r: ExecResult): HarnessError {
  const why = r.signal ? `was killed by ${r.signal}` : `exited ${r.code}`;
  return new HarnessError(`${formatArgv(r.argv)} ${why}\n${tail(r.stderr || r.stdout)}`, r);
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A long-running child (a daemon, a foreground `ctr run`): output captured, exit awaited. */
export class LongProcess {
  readonly argv: readonly string[];
  readonly pid: number;
  readonly exited: Promise<ExitStatus>;
  private readonly child: ChildProcess;
  private readonly out = new Capture();
  private readonly err = new Capture();
  private status: ExitStatus | undefined;

  constructor(argv: readonly string[], opts: { env?: NodeJS.ProcessEnv } = {}) {
    if (argv.length === 0) throw new HarnessError('spawn: empty argv');
    this.argv = argv;
    this.child = spawn(argv[0]!, argv.slice(1), { env: opts.env ?? process.env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (b: Buffer) => this.out.push(b));
    this.child.stderr?.on('data', (b: Buffer) => this.err.push(b));
    this.exited = new Promise((resolve) => {
      this.child.on('error', (e) => {
        this.err.push(Buffer.from(`spawn error: ${e.message}\n`));
        this.status = { code: -1, signal: null };
        resolve(this.status);
      });
      this.child.on('close', (code, signal) => {
        this.status = { code, signal };
        resolve(this.status);
      });
    });
    if (this.child.pid === undefined) {
      // spawn failed synchronously (ENOENT arrives as an 'error' event); keep a sentinel pid.
      this.pid = -1;
    } else {
      this.pid = this.child.pid;
    }
  }

  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }
  stdout(): string {
    return this.out.text();
  }
  stderr(): string {
    return this.err.text();
  }
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.status === undefined && this.pid > 0) {
      try {
        process.kill(this.pid, signal);
      } catch {
        // already gone
      }
    }
  }
  /** Resolves with the exit status, or undefined when it has not exited within timeoutMs. */
  async wait(timeoutMs: number): Promise<ExitStatus | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls check() until it returns a value other than undefined. Bounded both in time
 * (timeoutMs) and in count (maxTries); rejects with a HarnessError naming `what`. A check that
 * throws is retried (the last error is reported), except a WaitAbort, which ends the wait.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs?: number; intervalMs?: number; maxTries?: number } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 25;
  const maxTries = opts.maxTries ?? Math.ceil(timeoutMs / intervalMs) + 1;
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; i < maxTries; i++) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      if (e instanceof WaitAbort) throw e;
      last = e;
    }
    if (performance.now() >= deadline) break;
    await sleep(intervalMs);
  }
  const why = last instanceof Error ? `: ${last.message}` : '';
  throw new HarnessError(`timed out waiting for ${what}${why}`);
}
