/**
 * The agent's unix socket: CNI calls forwarded by the podnet-cni shim, and RPCs from the CLI.
 * The socket is created 0600 in a 0700 directory: only root talks to the agent.
 */
import { mkdirSync, chmodSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import type { CniBackend, PluginMode } from '../cni/backend.js';
import { runCni } from '../cni/run.js';
import { asPodnetError, PodnetError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { AgentErrors } from './errors.js';
import { canConnect } from './client.js';
import { peerPid } from './peercred.js';
import { decodeFrame, encodeCniAnswer, MAX_REQUEST_BYTES, type CniFrame, type RpcAnswer } from './protocol.js';

export type RpcHandler = (params: unknown) => Promise<unknown>;

export interface AgentServerOptions {
  readonly socketPath: string;
  readonly backend: CniBackend;
  readonly rpc: Readonly<Record<string, RpcHandler>>;
  readonly log: Logger;
}

export class AgentServer {
  private server: net.Server | undefined;
  private readonly open = new Set<net.Socket>();

  constructor(private readonly opts: AgentServerOptions) {}

  async listen(): Promise<void> {
    const path = this.opts.socketPath;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    await assertSocketFree(path);
    try {
      unlinkSync(path);
    } catch {
      /* absent */
    }
    const server = net.createServer({ allowHalfOpen: true }, (sock) => this.serve(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(path, 0o600);
    this.server = server;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      // Let in-flight requests finish for a moment, then cut the rest.
      setTimeout(() => {
        for (const c of this.open) c.destroy();
      }, 2000).unref();
    });
  }

  private serve(sock: net.Socket): void {
    this.open.add(sock);
    const pid = peerPid(sock);
    const chunks: Buffer[] = [];
    let size = 0;
    sock.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_REQUEST_BYTES) {
        sock.destroy();
        return;
      }
      chunks.push(b);
    });
    sock.on('error', () => undefined);
    sock.on('close', () => this.open.delete(sock));
    sock.on('end', () => {
      void this.answer(Buffer.concat(chunks), pid).then(
        (out) => sock.end(out),
        (e: unknown) => {
          this.opts.log.error('request failed', { error: String(e) });
          sock.destroy();
        },
      );
    });
  }

  private async answer(req: Buffer, pid: number | undefined): Promise<Buffer | string> {
    let frame;
    try {
      frame = decodeFrame(req);
    } catch (e) {
      const err = new PodnetError(AgentErrors.AGENT_BAD_REQUEST, (e as Error).message);
      return JSON.stringify({ ok: false, error: { code: err.code, message: err.message } } satisfies RpcAnswer);
    }
    if (frame.kind === 'cni') return this.cni(frame, pid);
    const handler = Object.prototype.hasOwnProperty.call(this.opts.rpc, frame.method) ? this.opts.rpc[frame.method] : undefined;
    let answer: RpcAnswer;
    try {
      if (!handler) throw new PodnetError(AgentErrors.AGENT_UNKNOWN_METHOD, `unknown method ${JSON.stringify(frame.method)}`);
      answer = { ok: true, result: await handler(frame.params) };
    } catch (e) {
      const err = asPodnetError(e);
      answer = { ok: false, error: { code: err.code, message: err.message } };
    }
    return JSON.stringify(answer);
  }

  private async cni(frame: CniFrame, pid: number | undefined): Promise<Buffer> {
    const env = frame.env;
    const mode: PluginMode = env.PODNET_PLUGIN === 'ipam' ? 'ipam' : 'cni';
    const netnsPath = netnsPathOf(env, pid);
    const t0 = process.hrtime.bigint();
    const { stdout, exitCode } = await runCni(env, frame.stdin, this.opts.backend, mode, netnsPath ? { netnsPath } : {});
    this.opts.log.debug('cni', {
      command: env.CNI_COMMAND,
      container: env.CNI_CONTAINERID,
      ifname: env.CNI_IFNAME,
      mode,
      exitCode,
      ms: Number(process.hrtime.bigint() - t0) / 1e6,
    });
    return encodeCniAnswer(exitCode, stdout);
  }
}

/**
 * The shim keeps CNI_NETNS open and sends the fd number; the pid comes from SO_PEERCRED, so the
 * path works across mount and pid namespaces. Without a peer pid, CNI_NETNS is used as given.
 */
function netnsPathOf(env: Readonly<Record<string, string>>, pid: number | undefined): string | undefined {
  const fd = env.PODNET_NETNS_FD;
  if (pid !== undefined && fd && /^\d{1,10}$/.test(fd)) return `/proc/${pid}/fd/${fd}`;
  return undefined;
}

/**
 * Throws AGENT_SOCKET_IN_USE when another agent answers on the socket path. runAgent calls it
 * before it touches anything: a second agent (say with another state directory) must not judge
 * the running agent's pods by its own store, remove their links as orphans, and only then notice.
 */
export async function assertSocketFree(path: string): Promise<void> {
  if (await canConnect(path)) {
    throw new PodnetError(AgentErrors.AGENT_SOCKET_IN_USE, `another podnet agent is listening on ${path}`);
  }
}
