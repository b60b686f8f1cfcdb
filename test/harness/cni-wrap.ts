/**
 * Wrapper plugin directories for runtime tests:
 *
 *  - recording: each wrapper saves what the runtime handed the plugin (the CNI_* environment with
 *    values, the names of every other variable, stdin), runs the real plugin with that stdin, and
 *    saves its stdout and exit code; `calls()` reads them back in call order. Only variable
 *    *names* are kept outside CNI_*: the runtime passes its whole environment on.
 *  - netns: each wrapper runs the real plugin inside a network namespace (nsenter --net), for a
 *    libcni-like runtime driven from a test process that itself sits in the root namespace.
 *
 * The wrappers exec the real plugin by its own absolute path: inside the containerd environment
 * /usr/lib/cni is covered by the merged plugin dir, so targets must live elsewhere (build/cni is
 * fine; a reference plugin would need a copy).
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { netnsPath } from './netns.js';

export interface WrappedPlugin {
  /** The plugin's type (the file name the runtime looks up). */
  readonly name: string;
  /** Absolute path of the real executable; its basename is what the plugin sees as argv[0]. */
  readonly target: string;
}

export interface CniCall {
  /** Which wrapper was called (the plugin type). */
  readonly plugin: string;
  /** CNI_* variables exactly as received. */
  readonly env: Readonly<Record<string, string>>;
  /** Names of all variables in the plugin's environment, sorted. */
  readonly envNames: readonly string[];
  /** stdin as received. */
  readonly stdin: string;
  /** stdin parsed (undefined when it is not JSON). */
  readonly config: Record<string, unknown> | undefined;
  readonly stdout: string;
  /** Exit code of the real plugin (undefined while it runs). */
  readonly exitCode: number | undefined;
}

export interface PluginDir {
  readonly dir: string;
  /** Recorded calls, oldest first ([] for a non-recording dir). */
  calls(): Promise<CniCall[]>;
  /** Forget the calls recorded so far. */
  clear(): Promise<void>;
  /** Turn recording off (the wrappers then exec the real plugin at once) or back on. */
  setRecording(on: boolean): Promise<void>;
  remove(): Promise<void>;
}

const sq = (s: string): string => {
  if (s.includes('\0')) throw new Error('NUL in a wrapper argument');
  return `'${s.replace(/'/g, `'\\''`)}'`;
};

function wrapperScript(p: WrappedPlugin, recordDir: string | undefined, netns: string | undefined): string {
  const run = `${netns ? `/usr/bin/nsenter --net=${sq(netnsPath(netns))} -- ` : ''}${sq(p.target)} "$@"`;
  if (!recordDir) return `#!/bin/sh\n# podnet test wrapper for ${p.name}\nexec ${run}\n`;
  return [
    '#!/bin/sh',
    `# podnet test wrapper for ${p.name}: records the call, then runs the real plugin`,
    `rec=${sq(recordDir)}`,
    `[ -d "$rec" ] || exec ${run}`,
    `n="$rec/$(/usr/bin/date +%s%N)-$$-${p.name}"`,
    `/usr/bin/env | /usr/bin/grep '^CNI_' > "$n.env"`,
    `/usr/bin/env | /usr/bin/sed -n 's/^\\([A-Za-z_][A-Za-z0-9_]*\\)=.*/\\1/p' | /usr/bin/sort -u > "$n.names"`,
    `/usr/bin/cat > "$n.stdin"`,
    `${run} < "$n.stdin" > "$n.stdout"`,
    'rc=$?',
    '/usr/bin/cat "$n.stdout"',
    'echo "$rc" > "$n.rc"',
    'exit "$rc"',
    '',
  ].join('\n');
}

/**
 * Creates a temp dir (under /tmp, visible inside the runtime environments) with one wrapper per
 * plugin. `record`: save every call; `netns`: run the real plugins in that network namespace.
 */
export async function createPluginDir(plugins: readonly WrappedPlugin[], opts: { record?: boolean; netns?: string } = {}): Promise<PluginDir> {
  const base = await mkdtemp(join(tmpdir(), 'podnet-cniwrap-'));
  const dir = join(base, 'bin');
  const recordDir = join(base, 'calls');
  await mkdir(dir);
  if (opts.record) await mkdir(recordDir);
  for (const p of plugins) {
    if (!/^[A-Za-z0-9_.-]+$/.test(p.name)) throw new Error(`invalid plugin name ${JSON.stringify(p.name)}`);
    if (!p.target.startsWith('/')) throw new Error(`plugin target must be absolute: ${p.target}`);
    const file = join(dir, p.name);
    await writeFile(file, wrapperScript(p, opts.record ? recordDir : undefined, opts.netns));
    await chmod(file, 0o755);
  }
  const api: PluginDir = {
    dir,
    async calls() {
      if (!opts.record) return [];
      let names: string[];
      try {
        names = await readdir(recordDir);
      } catch {
        return [];
      }
      const stems = [...new Set(names.filter((n) => n.endsWith('.stdin')).map((n) => n.slice(0, -'.stdin'.length)))].sort();
      const out: CniCall[] = [];
      for (const stem of stems) {
        const read = (ext: string): Promise<string> => readFile(join(recordDir, `${stem}.${ext}`), 'utf8').catch(() => '');
        const env: Record<string, string> = {};
        for (const line of (await read('env')).split('\n')) {
          const eq = line.indexOf('=');
          if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
        }
        const stdin = await read('stdin');
        let config: Record<string, unknown> | undefined;
        try {
          config = JSON.parse(stdin) as Record<string, unknown>;
        } catch {
          config = undefined;
        }
        const rc = (await read('rc')).trim();
        out.push({
          plugin: stem.split('-').slice(2).join('-'),
          env,
          envNames: (await read('names')).split('\n').filter(Boolean),
          stdin,
          config,
          stdout: await read('stdout'),
          exitCode: rc === '' ? undefined : Number(rc),
        });
      }
      return out;
    },
    async clear() {
      if (!opts.record) return;
      await rm(recordDir, { recursive: true, force: true });
      await mkdir(recordDir);
    },
    async setRecording(on) {
      if (!opts.record) throw new Error('this plugin dir does not record');
      if (on) await mkdir(recordDir, { recursive: true });
      else await rm(recordDir, { recursive: true, force: true });
    },
    async remove() {
      await rm(base, { recursive: true, force: true });
    },
  };
  return api;
}

/** Runs fn with a plugin dir; removes it afterwards (also when fn throws). */
export async function withPluginDir<T>(plugins: readonly WrappedPlugin[], opts: { record?: boolean; netns?: string }, fn: (d: PluginDir) => Promise<T>): Promise<T> {
  const d = await createPluginDir(plugins, opts);
  try {
    return await fn(d);
  } finally {
    await d.remove();
  }
}

/** A readable summary of calls: "VERSION podnet-cni", "ADD podnet-cni rc=0", ... */
export function describeCalls(calls: readonly CniCall[]): string[] {
  return calls.map((c) => `${c.env.CNI_COMMAND ?? '?'} ${c.plugin} rc=${c.exitCode ?? '?'}`);
}
