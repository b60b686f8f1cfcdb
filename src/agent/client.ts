/** Client side of the agent socket, for the CLI and the Node fallback plugin. */
import net from 'node:net';
import { PodnetError, CommonErrors } from '../common/errors.js';
import { decodeCniAnswer, encodeCniRequest, encodeRpcRequest, type RpcAnswer } from './protocol.js';

export { DEFAULT_AGENT_SOCKET } from '../cni/config.js';

/** Sends one request and reads the whole answer. Rejects with the socket error (ENOENT, ECONNREFUSED...). */
export function exchange(socketPath: string, request: Buffer, timeoutMs = 300_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect(socketPath);
    const timer = setTimeout(() => sock.destroy(new PodnetError(CommonErrors.TIMEOUT, `no answer from the agent at ${socketPath} within ${timeoutMs} ms`)), timeoutMs);
    sock.on('connect', () => sock.end(request));
    sock.on('data', (b: Buffer) => chunks.push(b));
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

export async function callCni(socketPath: string, env: Readonly<Record<string, string | undefined>>, stdin: string): Promise<{ exitCode: number; stdout: string }> {
  return decodeCniAnswer(await exchange(socketPath, encodeCniRequest(env, stdin)));
}

export class AgentRpcError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export async function callRpc<T = unknown>(socketPath: string, method: string, params: unknown = {}, timeoutMs?: number): Promise<T> {
  const raw = await exchange(socketPath, encodeRpcRequest(method, params), timeoutMs);
  const ans = JSON.parse(raw.toString('utf8')) as RpcAnswer;
  if (!ans.ok) throw new AgentRpcError(ans.error.code, ans.error.message);
  return ans.result as T;
}

/** True when something accepts connections on the unix socket at path. */
export function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
