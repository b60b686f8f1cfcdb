/**
 * The agent's unix-socket protocol (docs/PROTOCOL.md). One request per connection; the client
 * half-closes after its request and the agent closes after its answer.
 *
 *   CNI call:  "PODNET-CNI/1\n" {KEY=VALUE NUL}* NUL <config bytes>
 *              answer: "<exit code>\n" <stdout bytes>
 *   RPC call:  "PODNET-RPC/1\n" <JSON {method, params}>
 *              answer: JSON {ok: true, result} | {ok: false, error: {code, message}}
 *
 * Pure: framing only, no I/O.
 */

export const CNI_MAGIC = 'PODNET-CNI/1\n';
export const RPC_MAGIC = 'PODNET-RPC/1\n';
/** Largest request the agent reads (the shim's own limit is the same). */
export const MAX_REQUEST_BYTES = 16 << 20;

export interface CniFrame {
  readonly kind: 'cni';
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: string;
}

export interface RpcFrame {
  readonly kind: 'rpc';
  readonly method: string;
  readonly params: unknown;
}

export type Frame = CniFrame | RpcFrame;

export class FrameError extends Error {}

export function decodeFrame(buf: Buffer): Frame {
  const magic = buf.subarray(0, CNI_MAGIC.length).toString('latin1');
  const body = buf.subarray(CNI_MAGIC.length);
  if (magic === CNI_MAGIC) return decodeCni(body);
  if (magic === RPC_MAGIC) return decodeRpc(body);
  throw new FrameError('not a podnet request (bad magic)');
}

function decodeCni(body: Buffer): CniFrame {
  const env: Record<string, string> = {};
  let pos = 0;
  for (let n = 0; ; n++) {
    if (n > 4096) throw new FrameError('too many environment entries');
    const end = body.indexOf(0, pos);
    if (end < 0) throw new FrameError('unterminated environment');
    if (end === pos) {
      pos++;
      break;
    }
    const entry = body.subarray(pos, end).toString('utf8');
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new FrameError(`malformed environment entry ${JSON.stringify(entry.slice(0, 40))}`);
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
    pos = end + 1;
  }
  return { kind: 'cni', env, stdin: body.subarray(pos).toString('utf8') };
}

function decodeRpc(body: Buffer): RpcFrame {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new FrameError(`RPC body is not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || typeof (v as { method?: unknown }).method !== 'string') {
    throw new FrameError('RPC body needs a string "method"');
  }
  const o = v as { method: string; params?: unknown };
  return { kind: 'rpc', method: o.method, params: o.params ?? {} };
}

export function encodeCniRequest(env: Readonly<Record<string, string | undefined>>, stdin: string): Buffer {
  const parts: Buffer[] = [Buffer.from(CNI_MAGIC, 'latin1')];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || k.includes('=') || k.includes('\0') || v.includes('\0')) continue;
    parts.push(Buffer.from(`${k}=${v}\0`, 'utf8'));
  }
  parts.push(Buffer.from([0]), Buffer.from(stdin, 'utf8'));
  return Buffer.concat(parts);
}

export function encodeCniAnswer(exitCode: number, stdout: string): Buffer {
  return Buffer.from(`${exitCode}\n${stdout}`, 'utf8');
}

export function decodeCniAnswer(buf: Buffer): { exitCode: number; stdout: string } {
  const nl = buf.indexOf(0x0a);
  if (nl < 0) throw new FrameError('the agent closed the connection without an answer');
  const exitCode = Number(buf.subarray(0, nl).toString('latin1'));
  if (!Number.isInteger(exitCode)) throw new FrameError('malformed answer from the agent');
  return { exitCode, stdout: buf.subarray(nl + 1).toString('utf8') };
}

export function encodeRpcRequest(method: string, params: unknown): Buffer {
  return Buffer.from(RPC_MAGIC + JSON.stringify({ method, params }), 'utf8');
}

export type RpcAnswer = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };
