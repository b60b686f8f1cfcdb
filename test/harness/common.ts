/** Options and helpers shared by the podman and containerd environments. */
import type { BindMount } from './sandbox.js';

export interface RuntimeEnvOptions {
  /**
   * Directory holding the CNI network configuration. podman finds networks in it by name (and
   * writes a cni.lock file into it, removed again at the end when it was not there before);
   * containerd's `ctr run --cni` uses the lexically first .conf/.conflist/.json in it.
   */
  readonly cniConfDir: string;
  /** Directories searched for CNI plugin executables, in order (e.g. ['/usr/lib/cni']). */
  readonly cniPluginDirs: readonly string[];
  /** The "host" network namespace the runtime runs in: a name under /run/netns or a path. */
  readonly hostNetns: string;
  /** Extra environment for the runtime processes, which pass it on to the CNI plugins. */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra bind mounts into the runtime's private mount namespace. */
  readonly binds?: readonly BindMount[];
  /** Bound on each runtime command (default 60 s). */
  readonly commandTimeoutMs?: number;
}

/** A container name or id usable on a runtime command line. */
export function checkName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(name)) throw new Error(`invalid container name ${JSON.stringify(name)}`);
  return name;
}

/** Parses the IPv4 address of `ip -o -4 addr show dev IF` output (first one). */
export function parseIpv4(ipAddrOutput: string): string | undefined {
  const m = /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(ipAddrOutput);
  return m?.[1];
}

/** Runs fn(env), then close(); the error of fn wins, a clean-up error alone is thrown too. */
export async function withCleanup<E, T>(env: E, close: () => Promise<void>, fn: (env: E) => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await fn(env);
  } catch (e) {
    try {
      await close();
    } catch (ce) {
      throw new AggregateError([e, ce], `${e instanceof Error ? e.message : String(e)} (and clean-up failed: ${ce instanceof Error ? ce.message : String(ce)})`);
    }
    throw e;
  }
  await close();
  return result;
}
