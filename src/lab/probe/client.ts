/** Client side of a probe daemon's control socket (protocol.ts). */
import net from 'node:net';
import { CommonErrors, PodnetError } from '../../common/errors.js';
import type { ControlRequest, PingAnswer, ProbeAnswer, ProbeRequest } from './protocol.js';

const MAX_ANSWER_BYTES = 64 * 1024;

function exchange(control: string, req: ControlRequest, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = net.connect(control);
    let buf = '';
    let settled = false;
    const finish = (err: Error | undefined, v?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      if (err) reject(err);
      else resolve(v);
    };
    const timer = setTimeout(() => finish(new PodnetError(CommonErrors.TIMEOUT, `probe daemon ${control}: no answer within ${timeoutMs} ms`)), timeoutMs);
    s.setEncoding('utf8');
    s.once('connect', () => s.write(`${JSON.stringify(req)}\n`));
    s.on('data', (d: string) => {
      buf += d;
      if (buf.length > MAX_ANSWER_BYTES) finish(new PodnetError(CommonErrors.INTERNAL, `probe daemon ${control}: answer too long`));
    });
    s.once('end', () => {
      try {
        finish(undefined, JSON.parse(buf));
      } catch {
        finish(new PodnetError(CommonErrors.INTERNAL, `probe daemon ${control}: unreadable answer ${JSON.stringify(buf.slice(0, 200))}`));
      }
    });
    s.once('error', (e) => finish(new PodnetError(CommonErrors.INTERNAL, `probe daemon ${control}: ${e.message}`, { cause: e })));
  });
}

/** One probe; rejects when the daemon is unreachable (a verdict, even "denied", resolves). */
export async function probeVia(control: string, req: Omit<ProbeRequest, 'op'>): Promise<ProbeAnswer> {
  const a = (await exchange(control, { op: 'probe', ...req }, req.timeoutMs + 5000)) as ProbeAnswer;
  if (typeof a?.connected !== 'boolean') throw new PodnetError(CommonErrors.INTERNAL, `probe daemon ${control}: malformed answer`);
  return a;
}

export async function pingDaemon(control: string, timeoutMs = 2000): Promise<PingAnswer> {
  const a = (await exchange(control, { op: 'ping' }, timeoutMs)) as PingAnswer;
  if (a?.ok !== true) throw new PodnetError(CommonErrors.INTERNAL, `probe daemon ${control}: malformed ping answer`);
  return a;
}
