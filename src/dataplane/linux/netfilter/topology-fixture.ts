/**
 * Privileged test and benchmark helpers: a client/server pair of throw-away namespaces joined by
 * a veth (10.77.0.1 | 10.77.0.2, fd77::1 | fd77::2), an nft table of our own in the server
 * namespace, traffic from traffic.js children, and a conntrack dump that makes the kernel reap
 * expired entries now (so DESTROY events come without waiting for conntrack's GC, which may
 * take a minute). Only pnt-* namespaces created by the NetnsPool are touched.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { NetlinkSocket } from '../netlink/socket.js';
import { writeSysctl } from '../netns.js';
import { type NetnsPool, ipIn } from '../netns-fixture.js';
import { NETLINK_NETFILTER, NFNL_SUBSYS_CTNETLINK, NFPROTO_IPV4, NFPROTO_IPV6, nfnlMsgType } from './constants.js';

const TRAFFIC = join(__dirname, 'traffic.js');
const NS = /^pnt-[a-z0-9-]{1,40}$/;

export interface Pair {
  readonly client: string;
  readonly server: string;
  readonly serverPath: string;
  readonly clientIp: string;
  readonly serverIp: string;
  readonly clientIp6: string;
  readonly serverIp6: string;
}

export function makePair(pool: NetnsPool, tag = 'ct'): Pair {
  const client = pool.create(`${tag}c`);
  const server = pool.create(`${tag}s`);
  ipIn(client, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb', 'netns', server);
  ipIn(client, 'addr', 'add', '10.77.0.1/24', 'dev', 'va');
  ipIn(server, 'addr', 'add', '10.77.0.2/24', 'dev', 'vb');
  ipIn(client, 'addr', 'add', 'fd77::1/64', 'dev', 'va', 'nodad');
  ipIn(server, 'addr', 'add', 'fd77::2/64', 'dev', 'vb', 'nodad');
  ipIn(client, 'link', 'set', 'va', 'up');
  ipIn(server, 'link', 'set', 'vb', 'up');
  return { client, server, serverPath: pool.path(server), clientIp: '10.77.0.1', serverIp: '10.77.0.2', clientIp6: 'fd77::1', serverIp6: 'fd77::2' };
}

/** Short conntrack timeouts in the (test) namespace, so finished flows expire within a second. */
export function shortTimeouts(nsPath: string): void {
  for (const k of ['tcp_timeout_time_wait', 'tcp_timeout_close', 'tcp_timeout_fin_wait', 'tcp_timeout_close_wait', 'tcp_timeout_last_ack', 'udp_timeout', 'udp_timeout_stream', 'icmp_timeout', 'icmpv6_timeout']) {
    writeSysctl(nsPath, `net/netfilter/nf_conntrack_${k}`, '1');
  }
}

/** Loads an nft script into a test namespace (`nft -f -`, argument array, bounded in time). */
export function nftIn(ns: string, script: string): void {
  if (!NS.test(ns)) throw new Error(`refusing to run nft in ${ns}`);
  execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: script, stdio: ['pipe', 'ignore', 'pipe'], timeout: 10_000 });
}

/** Starts the traffic server in ns; resolves once it listens. Stop it with stopChild. */
export async function startServer(ns: string, port: number): Promise<ChildProcess> {
  if (!NS.test(ns)) throw new Error(`refusing to run in ${ns}`);
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, TRAFFIC, 'server', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('traffic server did not start within 10 s')), 10_000);
    child.stdout?.once('data', () => {
      clearTimeout(t);
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`traffic server exited (${code})`));
    });
  });
  return child;
}

export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await gone;
  clearTimeout(t);
  child.stdout?.destroy();
}

/** Runs traffic.js in ns with args; returns its JSON summary. */
export function traffic(ns: string, ...args: (string | number)[]): Record<string, unknown> {
  if (!NS.test(ns)) throw new Error(`refusing to run in ${ns}`);
  const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, TRAFFIC, ...args.map(String)], { encoding: 'utf8', timeout: 130_000 });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

/** Like traffic(), without blocking the event loop (for measurements while readers deliver). */
export function trafficAsync(ns: string, ...args: (string | number)[]): Promise<Record<string, unknown>> {
  if (!NS.test(ns)) throw new Error(`refusing to run in ${ns}`);
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', ns, process.execPath, TRAFFIC, ...args.map(String)], { encoding: 'utf8', timeout: 130_000 }, (err, out) => {
      if (err) reject(err);
      else resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>);
    });
  });
}

/** One ICMP echo from ns. */
export function pingOnce(ns: string, address: string): void {
  if (!NS.test(ns)) throw new Error(`refusing to run in ${ns}`);
  execFileSync('ip', ['netns', 'exec', ns, 'ping', '-c1', '-W1', '-n', '-q', address], { stdio: 'ignore', timeout: 5000 });
}

/**
 * Dumps the conntrack table of the namespace (both families) and discards the answer: walking
 * the table, the kernel removes entries that have expired, which sends their DESTROY events.
 */
export function reapExpired(nsPath: string): void {
  const sock = NetlinkSocket.open({ netnsPath: nsPath, protocol: NETLINK_NETFILTER, label: 'conntrack dump', timeoutMs: 5000 });
  try {
    for (const family of [NFPROTO_IPV4, NFPROTO_IPV6]) {
      sock.dump({ type: nfnlMsgType(NFNL_SUBSYS_CTNETLINK, 1 /* IPCTNL_MSG_CT_GET */), flags: 0, payload: Buffer.from([family, 0, 0, 0]), what: 'conntrack dump' });
    }
  } finally {
    sock.close();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until pred() holds (calling poke between polls), for at most timeoutMs. */
export async function waitFor(pred: () => boolean, timeoutMs: number, poke?: () => void, everyMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pred()) return true;
    poke?.();
    await sleep(everyMs);
  }
  return pred();
}
