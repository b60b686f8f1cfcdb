/**
 * Runs the nft binary inside a network namespace: `nsenter --net=<path> -- nft <args>` (or nft
 * itself for the current namespace), argument arrays only, script on stdin, bounded in time.
 */
import { execFile } from 'node:child_process';
import { PodnetError } from '../../../common/errors.js';
import { LinuxClusterErrors } from '../cluster/errors.js';

export interface NftResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface NftOptions {
  /** Namespace file to run in (/run/netns/x, /proc/PID/ns/net); default: this process's. */
  readonly netns?: string;
  readonly timeoutMs?: number;
  /** The nft executable (default "nft" from PATH). */
  readonly nftPath?: string;
}

export function runNft(opts: NftOptions, args: readonly string[], input?: string): Promise<NftResult> {
  const nft = opts.nftPath ?? 'nft';
  const [cmd, argv] = opts.netns === undefined ? [nft, [...args]] : ['nsenter', [`--net=${opts.netns}`, '--', nft, ...args]];
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, argv, { timeout: opts.timeoutMs ?? 15_000, killSignal: 'SIGKILL', maxBuffer: 64 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
      if (e && (typeof e.code === 'string' || e.killed)) {
        const why = e.killed ? `timed out after ${opts.timeoutMs ?? 15_000} ms` : e.message;
        reject(new PodnetError(LinuxClusterErrors.CLUSTER_NFT_FAILED, `${cmd} ${argv.join(' ')}: ${why}`, { cause: e }));
        return;
      }
      resolve({ code: e ? Number(e.code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    // nft may exit before reading stdin (`list` commands, early errors): the EPIPE must not be an unhandled 'error' that kills the agent.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

/** Runs a script with `nft -f -` as one transaction; throws CLUSTER_NFT_FAILED with nft's words. */
export async function nftScript(opts: NftOptions, script: string, what: string): Promise<void> {
  const r = await runNft(opts, ['-f', '-'], script);
  if (r.code !== 0) throw new PodnetError(LinuxClusterErrors.CLUSTER_NFT_FAILED, `${what}: nft exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`, { details: script });
}
