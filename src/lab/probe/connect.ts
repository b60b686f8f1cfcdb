/**
 * One probe from inside the pod's namespace (the daemon runs there): TCP connects and exchanges a
 * byte; UDP sends a datagram and waits for the echo; SCTP runs the raw-socket tool, which sends an
 * INIT and waits for the INIT-ACK. A dropped packet shows as a timeout: that is the "denied"
 * verdict. Local UDP and SCTP source ports rotate, so a new probe never reuses the 5-tuple of
 * an earlier one whose conntrack entry might still be alive (it would pass as "established").
 */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import type { ProbeAnswer, ProbeRequest } from './protocol.js';

/** Source ports 20000-59999, starting at a random place, advancing by one per probe. */
export class PortRotor {
  private next = 20_000 + Math.floor(Math.random() * 40_000);
  take(): number {
    const p = this.next;
    this.next = p >= 59_999 ? 20_000 : p + 1;
    return p;
  }
}

type Verdict = Omit<ProbeAnswer, 'ms'>;

function tcp(r: ProbeRequest): Promise<Verdict> {
  return new Promise((resolve) => {
    const s = net.connect({ host: r.to, port: r.port });
    let settled = false;
    const done = (v: Verdict): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done({ connected: false, detail: 'timeout' }), r.timeoutMs);
    s.once('connect', () => s.write('p'));
    s.once('data', () => done({ connected: true, detail: 'echo' }));
    s.once('end', () => done({ connected: false, detail: 'closed without echo' }));
    s.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') done({ connected: false, detail: 'refused (no listener)' });
      else if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' || e.code === 'ETIMEDOUT') done({ connected: false, detail: e.code });
      else done({ connected: false, detail: e.code ?? 'error', error: e.message });
    });
  });
}

function udp(r: ProbeRequest, ports: PortRotor, attempt = 0): Promise<Verdict> {
  return new Promise((resolve) => {
    const s = dgram.createSocket({ type: net.isIPv6(r.to) ? 'udp6' : 'udp4' });
    let settled = false;
    const done = (v: Verdict | 'retry'): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        s.close();
      } catch {
        /* closed */
      }
      if (v === 'retry') resolve(udp(r, ports, attempt + 1));
      else resolve(v);
    };
    const timer = setTimeout(() => done({ connected: false, detail: 'timeout' }), r.timeoutMs);
    s.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE' && attempt < 5) done('retry');
      else if (e.code === 'ECONNREFUSED') done({ connected: false, detail: 'refused (no listener)' });
      else if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH') done({ connected: false, detail: e.code });
      else done({ connected: false, detail: e.code ?? 'error', error: e.message });
    });
    s.on('message', () => done({ connected: true, detail: 'echo' }));
    s.bind(ports.take(), () => {
      s.connect(r.port, r.to, (err?: Error) => {
        if (err) return done({ connected: false, detail: 'connect failed', error: err.message });
        s.send('p', (e) => {
          if (e) done({ connected: false, detail: 'send failed', error: e.message });
        });
      });
    });
  });
}

function sctp(r: ProbeRequest, ports: PortRotor, bin: string): Promise<Verdict> {
  return new Promise((resolve) => {
    const args = ['probe', r.to, String(r.port), String(r.timeoutMs), String(ports.take())];
    execFile(bin, args, { timeout: r.timeoutMs + 3000, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, _stdout, stderr) => {
      if (!err) return resolve({ connected: true, detail: 'INIT-ACK' });
      const e = err as unknown as { code?: number | string; killed?: boolean; message: string };
      if (e.code === 1) return resolve({ connected: false, detail: 'timeout' });
      const why = e.killed ? 'killed after its deadline' : typeof e.code === 'number' ? `exit ${e.code}` : String(e.code ?? e.message);
      resolve({ connected: false, detail: 'tool failed', error: `${bin} ${args.join(' ')}: ${why}: ${String(stderr).trim()}` });
    });
  });
}

export async function runProbe(r: ProbeRequest, ports: PortRotor, sctpBin: string): Promise<ProbeAnswer> {
  const t0 = Date.now();
  const v = r.protocol === 'TCP' ? await tcp(r) : r.protocol === 'UDP' ? await udp(r, ports) : await sctp(r, ports, sctpBin);
  return { ...v, ms: Date.now() - t0 };
}
