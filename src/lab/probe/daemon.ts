/**
 * The probe daemon of one lab pod, running inside the pod's network namespace: TCP servers
 * (echo) and UDP servers (echo) on the given ports, IPv4 and IPv6; the SCTP responder (the C
 * tool, a child process that answers INITs on the same ports); and a control socket taking
 * probe requests (protocol.ts). Stops on SIGTERM/SIGINT, when its control socket disappears
 * (the lab directory was removed), when the responder dies, or after maxSeconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import { PortRotor, runProbe } from './connect.js';
import { requestProblem, type ControlRequest, type PingAnswer, type ProbeAnswer } from './protocol.js';

export interface DaemonOptions {
  /** The pod served, "ns/name" (for answers and logs). */
  readonly name: string;
  readonly control: string;
  readonly ports: readonly number[];
  readonly sctpBin: string;
  readonly maxSeconds: number;
}

const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
};

const MAX_REQUEST_BYTES = 4096;

export class ProbeDaemon {
  private readonly tcpServers: net.Server[] = [];
  private readonly udpSockets: dgram.Socket[] = [];
  private control: net.Server | undefined;
  private responder: ChildProcess | undefined;
  private readonly rotor = new PortRotor();
  private stopping = false;
  private watch: NodeJS.Timeout | undefined;
  private lifetime: NodeJS.Timeout | undefined;
  /** Resolves with the exit code once stopped. */
  readonly stopped: Promise<number>;
  private resolveStopped: (code: number) => void = () => undefined;

  constructor(private readonly o: DaemonOptions) {
    this.stopped = new Promise((r) => (this.resolveStopped = r));
  }

  async start(): Promise<void> {
    for (const port of this.o.ports) {
      await this.tcpServer(port);
      await this.udpServer(port, 'udp4');
      await this.udpServer(port, 'udp6');
    }
    await this.startResponder();
    rmSync(this.o.control, { force: true });
    const control = net.createServer((c) => this.serve(c));
    this.control = control;
    await new Promise<void>((resolve, reject) => {
      control.once('error', reject);
      control.listen(this.o.control, () => resolve());
    });
    this.watch = setInterval(() => {
      if (!existsSync(this.o.control)) void this.stop('control socket removed', 0);
    }, 2000);
    this.lifetime = setTimeout(() => void this.stop(`lifetime of ${this.o.maxSeconds} s reached`, 0), this.o.maxSeconds * 1000);
    log(`probe daemon for ${this.o.name}: TCP, UDP and SCTP on ${this.o.ports.join(',')}; control ${this.o.control}`);
  }

  private tcpServer(port: number): Promise<void> {
    const server = net.createServer((s) => {
      s.setTimeout(5000, () => s.destroy());
      s.on('error', () => undefined);
      s.once('data', (d) => s.end(d));
    });
    this.tcpServers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '::', port, ipv6Only: false }, () => resolve());
    });
  }

  private udpServer(port: number, type: 'udp4' | 'udp6'): Promise<void> {
    const s = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
    this.udpSockets.push(s);
    s.on('message', (msg, rinfo) => s.send(msg, rinfo.port, rinfo.address, () => undefined));
    return new Promise((resolve, reject) => {
      s.once('error', reject);
      s.bind(port, type === 'udp4' ? '0.0.0.0' : '::', () => {
        s.removeListener('error', reject);
        s.on('error', (e) => log(`${type} ${port}: ${e.message}`));
        resolve();
      });
    });
  }

  private startResponder(): Promise<void> {
    const child = spawn(this.o.sctpBin, ['respond', this.o.ports.join(',')], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.responder = child;
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`SCTP responder not ready within 5 s`)), 5000);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('ready\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`SCTP responder exited (${code ?? sig})`));
        if (!this.stopping) void this.stop(`SCTP responder exited (${code ?? sig})`, 1);
      });
    });
  }

  private serve(c: net.Socket): void {
    let buf = '';
    c.setEncoding('utf8');
    c.setTimeout(65_000, () => c.destroy());
    c.on('error', () => undefined);
    c.on('data', (d: string) => {
      buf += d;
      if (buf.length > MAX_REQUEST_BYTES) {
        c.destroy();
        return;
      }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      c.removeAllListeners('data');
      void this.handle(line).then((a) => c.end(`${JSON.stringify(a)}\n`));
    });
  }

  private async handle(line: string): Promise<ProbeAnswer | PingAnswer> {
    let req: unknown;
    try {
      req = JSON.parse(line);
    } catch {
      return { connected: false, detail: 'bad request', ms: 0, error: 'request is not JSON' };
    }
    const problem = requestProblem(req);
    if (problem) return { connected: false, detail: 'bad request', ms: 0, error: problem };
    const r = req as ControlRequest;
    if (r.op === 'ping') return { ok: true, name: this.o.name, ports: this.o.ports };
    try {
      return await runProbe(r, this.rotor, this.o.sctpBin);
    } catch (e) {
      return { connected: false, detail: 'probe failed', ms: 0, error: e instanceof Error ? e.message : String(e) };
    }
  }

  async stop(why: string, code: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    log(`probe daemon for ${this.o.name} stopping: ${why}`);
    clearInterval(this.watch);
    clearTimeout(this.lifetime);
    const r = this.responder;
    if (r && r.exitCode === null && r.signalCode === null) {
      const gone = new Promise<void>((res) => r.once('exit', () => res()));
      r.kill('SIGTERM');
      const t = setTimeout(() => r.kill('SIGKILL'), 2000);
      await gone;
      clearTimeout(t);
    }
    for (const s of this.udpSockets) {
      try {
        s.close();
      } catch {
        /* not bound */
      }
    }
    await Promise.all([...this.tcpServers, ...(this.control ? [this.control] : [])].map((s) => new Promise<void>((res) => s.close(() => res()))));
    rmSync(this.o.control, { force: true });
    this.resolveStopped(code);
  }
}
