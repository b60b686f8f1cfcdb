/** What every benchmark shares: statistics, entering a namespace, and a signal-safe main. */
import { closeSync, openSync } from 'node:fs';
import { CLONE_NEWNET, setnsRaw } from '../src/dataplane/linux/sys.js';

/** Linear-interpolated quantile (q in 0..1); NaN for no samples. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo);
}

let selfNetnsFd: number | undefined;

/** Moves this process's main thread into the namespace at path (children it spawns start there). */
export function enterNetns(path: string): void {
  if (selfNetnsFd === undefined) selfNetnsFd = openSync('/proc/thread-self/ns/net', 'r');
  const fd = openSync(path, 'r');
  try {
    const e = setnsRaw(fd, CLONE_NEWNET);
    if (e !== 0) throw new Error(`setns(${path}) failed: errno ${e}`);
  } finally {
    closeSync(fd);
  }
}

/** Returns the main thread to the namespace it started in. */
export function leaveNetns(): void {
  if (selfNetnsFd === undefined) return;
  const e = setnsRaw(selfNetnsFd, CLONE_NEWNET);
  if (e !== 0) process.stderr.write(`[bench] cannot return to the original network namespace (errno ${e})\n`);
  closeSync(selfNetnsFd);
  selfNetnsFd = undefined;
}

/**
 * Runs main, then cleanup, also on failure and on SIGINT/SIGTERM/SIGHUP (exit 130). onFailure
 * may print extra evidence before cleanup removes it.
 */
export function runBench(main: () => Promise<void>, cleanup: () => Promise<void>, onFailure?: () => void): void {
  let signalled = false;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (signalled) return;
      signalled = true;
      process.stderr.write(`\n[bench] ${sig}: cleaning up\n`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  main().then(
    () => cleanup(),
    async (e: unknown) => {
      if (!signalled) {
        process.stderr.write(`[bench] FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        onFailure?.();
      }
      process.exitCode = 1;
      await cleanup();
    },
  );
}

/** An integer flag value within min..max, or an error naming the flag. */
export function intArg(flag: string, v: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${flag}: expected an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** Walks `--flag value` and `--flag=value` arguments; value() consumes the next argument when needed. */
export function forEachFlag(argv: readonly string[], onFlag: (flag: string, value: () => string | undefined, raw: string) => void): void {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const eq = a.indexOf('=');
    onFlag(eq > 0 ? a.slice(0, eq) : a, () => (eq > 0 ? a.slice(eq + 1) : argv[++i]), a);
  }
}

/** The last case of every bench's flag switch: --help/-h prints the usage and exits; anything else is an error. */
export function otherFlag(flag: string, raw: string, usage: string): never {
  if (flag === '-h' || flag === '--help') {
    process.stdout.write(usage);
    process.exit(0);
  }
  throw new Error(`unknown argument ${raw}\n${usage}`);
}
