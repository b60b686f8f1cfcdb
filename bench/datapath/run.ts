/**
 * bench/datapath: pod-to-pod throughput and latency of podnet's datapaths against raw veth and
 * the reference `bridge` plugin, side by side in ONE run, printing figures and ratios.
 *
 *   node dist/bench/datapath/run.js [--seconds N=5] [--rounds N=2] [--pings N=50] [--idle-seconds N=10] [--json FILE]
 *
 * Two labs (src/lab/lab.ts), built one after the other, 2 nodes each, one underlay subnet:
 *   lab 1, backend host-gw: raw veth n1 -> n2 (the baseline: iperf3 between the two node
 *          namespaces over the lab underlay, no pods), same-node pod -> pod (podnet, both on n1),
 *          same-node pod -> pod with the reference bridge + host-local (bridge `cni0` in n1's
 *          namespace, two pod namespaces attached through CniRuntime with this process's main
 *          thread inside n1's namespace), cross-node pod n1 -> pod n2 (host-gw);
 *   lab 2, backend vxlan: raw veth again (the baseline of this lab) and cross-node pod -> pod.
 * Per path: iperf3 TCP 1 stream, TCP 4 streams (-P 4), UDP (-u -b 0 -l 1400: receiver Gbit/s and
 * loss), and ping RTT p50 of --pings echoes. Then the agents' RSS and CPU while idle (utime+stime
 * from /proc/<pid>/stat over --idle-seconds). Ratios are to the raw veth of the same lab.
 *
 * Figures are printed, never asserted. A failed operation (iperf3 error, CNI error) stops the run
 * loudly. Every namespace is made by the labs (pl-<lab>-*, the reference pods too) and removed in
 * finally and on SIGINT/SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { Lab } from '../../src/lab/lab.js';
import { CniRuntime, type NetConfList } from '../../src/lab/cni-runtime.js';
import { addNetns, delNetns, execIn, netnsPath } from '../../src/lab/netns.js';
import { REFERENCE_CNI_DIR } from '../../src/lab/paths.js';
import type { BackendName } from '../../src/model/node.js';
import { enterNetns, forEachFlag, intArg, leaveNetns, quantile, runBench, otherFlag } from '../common.js';

interface Options {
  seconds: number;
  rounds: number;
  pings: number;
  idleSeconds: number;
  json: string | undefined;
}
const USAGE = 'usage: node dist/bench/datapath/run.js [--seconds N=5] [--rounds N=2] [--pings N=50] [--idle-seconds N=10] [--json FILE]\n';

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { seconds: 5, rounds: 2, pings: 50, idleSeconds: 10, json: undefined };
  forEachFlag(argv, (flag, val, raw) => {
    switch (flag) {
      case '--seconds': o.seconds = intArg(flag, val(), 1); break;
      case '--rounds': o.rounds = intArg(flag, val(), 1); break;
      case '--pings': o.pings = intArg(flag, val(), 3); break;
      case '--idle-seconds': o.idleSeconds = intArg(flag, val(), 1); break;
      case '--json': o.json = val(); break;
      default:
        otherFlag(flag, raw, USAGE);
    }
  });
  return o;
}

// ---------------------------------------------------------------------------------------------
// helpers

const log = (s: string): void => void process.stderr.write(`[bench] ${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i] as number) : c.padStart(w[i] as number))).join('  ').trimEnd();
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

const g = (bps: number | undefined): string => (bps === undefined || Number.isNaN(bps) ? '-' : (bps / 1e9).toFixed(2));
const r2 = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || !(b > 0) || Number.isNaN(a) ? '-' : (a / b).toFixed(2));

/** Runs argv in a namespace; throws with its output on a non-zero exit (a benchmark fails loudly). */
async function mustIn(ns: string, cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  const r = await execIn(ns, cmd, args, { timeoutMs });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${ns} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 2000)}`);
  return r.stdout;
}

// ---------------------------------------------------------------------------------------------
// iperf3 and ping

/** iperf3 servers started by this process (killed in cleanup). */
const servers = new Set<ChildProcess>();

async function startServer(ns: string): Promise<ChildProcess> {
  const c = spawn('ip', ['netns', 'exec', ns, 'iperf3', '-s', '-p', '5201'], { stdio: ['ignore', 'ignore', 'pipe'] });
  servers.add(c);
  let err = '';
  c.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  c.once('exit', () => servers.delete(c));
  // Wait until it listens (ss inside the namespace).
  for (let i = 0; i < 100; i++) {
    if (c.exitCode !== null) throw new Error(`iperf3 server in ${ns} exited: ${err.trim()}`);
    const r = await execIn(ns, 'ss', ['-Hltn', 'sport = :5201']);
    if (r.stdout.trim()) return c;
    await sleep(50);
  }
  throw new Error(`iperf3 server in ${ns} does not listen`);
}

async function stopServer(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const done = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGKILL');
  await done;
}

interface IperfResult {
  bps: number;
  /** UDP: lost datagrams in percent. TCP: retransmits. */
  lossPercent?: number;
  retransmits?: number;
  cpuLocal: number;
  cpuRemote: number;
}

async function iperf(ns: string, dst: string, mode: 'tcp1' | 'tcp4' | 'udp', seconds: number): Promise<IperfResult> {
  const args = ['-c', dst, '-p', '5201', '-t', String(seconds), '-J'];
  if (mode === 'tcp4') args.push('-P', '4');
  if (mode === 'udp') args.push('-u', '-b', '0', '-l', '1400');
  let out = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await execIn(ns, 'iperf3', args, { timeoutMs: (seconds + 30) * 1000 });
    out = r.stdout;
    // "the server is busy" happens right after the previous test while the server resets: retry.
    if (r.code !== 0 && /busy/i.test(out)) {
      await sleep(300);
      continue;
    }
    if (r.code !== 0) throw new Error(`iperf3 ${args.join(' ')} in ${ns} exited ${r.code}: ${(out || r.stderr).slice(0, 1500)}`);
    break;
  }
  const j = JSON.parse(out) as {
    error?: string;
    end: {
      sum_received?: { bits_per_second: number };
      sum_sent?: { bits_per_second: number; retransmits?: number };
      sum?: { bits_per_second: number; lost_percent?: number };
      cpu_utilization_percent?: { host_total: number; remote_total: number };
    };
  };
  if (j.error) throw new Error(`iperf3 ${args.join(' ')} in ${ns}: ${j.error}`);
  const cpu = { cpuLocal: j.end.cpu_utilization_percent?.host_total ?? NaN, cpuRemote: j.end.cpu_utilization_percent?.remote_total ?? NaN };
  if (mode === 'udp') {
    const s = j.end.sum;
    if (!s) throw new Error('iperf3 UDP: no end.sum');
    const loss = s.lost_percent ?? 0;
    // Receiver side: what arrived (the sender's rate minus the datagrams the server counted lost).
    const rcv = j.end.sum_received?.bits_per_second ?? s.bits_per_second * (1 - loss / 100);
    return { bps: rcv, lossPercent: loss, ...cpu };
  }
  const bps = j.end.sum_received?.bits_per_second;
  if (bps === undefined) throw new Error('iperf3 TCP: no end.sum_received');
  return { bps, retransmits: j.end.sum_sent?.retransmits ?? NaN, ...cpu };
}

async function pingP50(ns: string, dst: string, count: number): Promise<{ p50: number; p90: number; lost: number }> {
  const out = await mustIn(ns, 'ping', ['-n', '-c', String(count), '-i', '0.02', '-W', '1', dst], 30_000);
  const rtts = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  if (rtts.length === 0) throw new Error(`ping ${dst} from ${ns}: no answer\n${out}`);
  return { p50: quantile(rtts, 0.5), p90: quantile(rtts, 0.9), lost: count - rtts.length };
}

interface Sample {
  tcp1: IperfResult;
  tcp4: IperfResult;
  udp: IperfResult;
  ping: { p50: number; p90: number; lost: number };
}

interface PathResult extends Sample {
  name: string;
  lab: string;
  mtu: number;
  /** Every round's sample (the figures above are their means; ping: the median of the p50s). */
  samples: Sample[];
}

interface PathSpec {
  name: string;
  src: string;
  dstNs: string;
  dst: string;
}

const meanOf = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
function meanIperf(xs: readonly IperfResult[]): IperfResult {
  const r: IperfResult = { bps: meanOf(xs.map((x) => x.bps)), cpuLocal: meanOf(xs.map((x) => x.cpuLocal)), cpuRemote: meanOf(xs.map((x) => x.cpuRemote)) };
  if (xs[0]?.lossPercent !== undefined) r.lossPercent = meanOf(xs.map((x) => x.lossPercent ?? NaN));
  if (xs[0]?.retransmits !== undefined) r.retransmits = Math.round(meanOf(xs.map((x) => x.retransmits ?? NaN)));
  return r;
}

/** Every path once per round, in reverse order every other round (so drift hits all paths alike). */
async function measurePaths(lab: string, specs: readonly PathSpec[], o: Options): Promise<PathResult[]> {
  const samples = new Map<string, Sample[]>();
  const mtus = new Map<string, number>();
  for (let r = 0; r < o.rounds; r++) {
    const order = r % 2 === 0 ? specs : [...specs].reverse();
    for (const sp of order) {
      log(`round ${r + 1}/${o.rounds}`);
      const x = await measurePath(sp.name, sp.src, sp.dstNs, sp.dst, o);
      mtus.set(sp.name, x.mtu);
      samples.set(sp.name, [...(samples.get(sp.name) ?? []), x]);
    }
  }
  return specs.map((sp) => {
    const ss = samples.get(sp.name) ?? [];
    return {
      name: sp.name,
      lab,
      mtu: mtus.get(sp.name) ?? NaN,
      tcp1: meanIperf(ss.map((x) => x.tcp1)),
      tcp4: meanIperf(ss.map((x) => x.tcp4)),
      udp: meanIperf(ss.map((x) => x.udp)),
      ping: { p50: quantile(ss.map((x) => x.ping.p50), 0.5), p90: quantile(ss.map((x) => x.ping.p90), 0.5), lost: ss.reduce((a, x) => a + x.ping.lost, 0) },
      samples: ss,
    };
  });
}

async function measurePath(name: string, src: string, dstNs: string, dst: string, o: Options): Promise<Sample & { mtu: number }> {
  log(`${name}: ${src} -> ${dst} (${dstNs})`);
  const mtuOut = await mustIn(src, 'ip', ['-o', 'route', 'get', dst]);
  const dev = /dev (\S+)/.exec(mtuOut)?.[1] ?? 'eth0';
  const mtu = Number(/mtu (\d+)/.exec(await mustIn(src, 'ip', ['-o', 'link', 'show', 'dev', dev]))?.[1] ?? NaN);
  const ping = await pingP50(src, dst, o.pings);
  const srv = await startServer(dstNs);
  try {
    const tcp1 = await iperf(src, dst, 'tcp1', o.seconds);
    const tcp4 = await iperf(src, dst, 'tcp4', o.seconds);
    const udp = await iperf(src, dst, 'udp', o.seconds);
    log(`  TCP ${g(tcp1.bps)} / x4 ${g(tcp4.bps)} Gbit/s, UDP ${g(udp.bps)} Gbit/s (loss ${udp.lossPercent?.toFixed(1)}%), ping p50 ${ping.p50.toFixed(3)} ms`);
    return { tcp1, tcp4, udp, ping, mtu };
  } finally {
    await stopServer(srv);
  }
}

// ---------------------------------------------------------------------------------------------
// /proc sampling

const TICK = 100; // USER_HZ

function procCpuTicks(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
}
function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

async function idleAgents(lab: Lab, seconds: number): Promise<{ node: string; rssMiB: number; cpuPercent: number }[]> {
  const pids = lab.nodes().map((n) => ({ node: n.name, pid: lab.agentPid(n.name) }));
  for (const p of pids) if (p.pid === undefined) throw new Error(`agent of ${p.node} not running`);
  const t0 = process.hrtime.bigint();
  const c0 = pids.map((p) => procCpuTicks(p.pid as number));
  await sleep(seconds * 1000);
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  return pids.map((p, i) => ({
    node: p.node,
    rssMiB: rssKiB(p.pid as number) / 1024,
    cpuPercent: (100 * (procCpuTicks(p.pid as number) - (c0[i] as number))) / TICK / dt,
  }));
}

function machineBusy(): { idle: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const total = f.reduce((a, b) => a + b, 0);
  return { idle: (f[3] ?? 0) + (f[4] ?? 0), total };
}

// ---------------------------------------------------------------------------------------------
// the reference bridge: plugins spawned from this process's main thread inside the node namespace


const refList = (dataDir: string): NetConfList => ({
  cniVersion: '1.0.0',
  name: 'refbridge',
  plugins: [{ type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: false, ipam: { type: 'host-local', subnet: '10.210.0.0/16', dataDir } }],
});

async function referencePods(lab: Lab, node: string, names: readonly string[]): Promise<string[]> {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const rt = new CniRuntime([REFERENCE_CNI_DIR], env, 30_000);
  const dataDir = `${lab.dir}/refbridge-ipam`;
  const addrs: string[] = [];
  for (const n of names) await addNetns(`pl-${lab.name}-p-${n}`);
  enterNetns(netnsPath(lab.node(node).ns));
  try {
    for (const n of names) {
      const ns = `pl-${lab.name}-p-${n}`;
      const res = await rt.add(refList(dataDir), { containerId: `ref-${n}`, netns: netnsPath(ns), ifname: 'eth0', args: 'IgnoreUnknown=1' });
      const ip = ((res.ips as { address: string }[] | undefined) ?? [])[0]?.address.split('/')[0];
      if (!ip) throw new Error(`bridge ADD for ${n}: no address in ${JSON.stringify(res)}`);
      addrs.push(ip);
    }
  } finally {
    leaveNetns();
  }
  return addrs;
}

// ---------------------------------------------------------------------------------------------
// main

const labs = new Set<Lab>();
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    leaveNetns();
    await Promise.all([...servers].map(stopServer));
    for (const l of [...labs]) {
      labs.delete(l);
      await l.down().catch((e: unknown) => process.stderr.write(`[bench] lab ${l.name} teardown: ${String(e)}\n`));
    }
  })();
  return cleaning;
}

async function withLab<T>(backend: BackendName, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const name = `dp${backend === 'vxlan' ? 'vx' : 'hg'}${randomBytes(3).toString('hex')}`;
  log(`lab ${name}: 2 nodes, backend ${backend}`);
  const lab = await Lab.up({ name, nodes: 2, backend });
  labs.add(lab);
  try {
    return await fn(lab);
  } finally {
    labs.delete(lab);
    await lab.down();
  }
}

interface VxlanInfo {
  ethtool: string;
  podMtu: number;
  vxlanMtu: number;
  detail: string;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('needs root (namespaces, veths)');
  const t0 = Date.now();
  const la0 = loadavg()[0] ?? NaN;
  const m0 = machineBusy();
  const paths: PathResult[] = [];
  const idle: { lab: string; node: string; rssMiB: number; cpuPercent: number }[] = [];
  let vx: VxlanInfo | undefined;

  await withLab('host-gw', async (lab) => {
    const n1 = lab.node('n1');
    const n2 = lab.node('n2');
    const ip = (cidr: string): string => cidr.split('/')[0] as string;
    const a1 = await lab.addPod('n1', 'a1');
    const a2 = await lab.addPod('n1', 'a2');
    const b1 = await lab.addPod('n2', 'b1');
    const [, rb] = await referencePods(lab, 'n1', ['ra', 'rb']);
    await sleep(500);
    idle.push(...(await idleAgents(lab, o.idleSeconds)).map((x) => ({ lab: 'host-gw', ...x })));
    paths.push(
      ...(await measurePaths('host-gw', [
        { name: 'raw veth n1 -> n2 (underlay, no pods)', src: n1.ns, dstNs: n2.ns, dst: ip(n2.v4) },
        { name: 'same-node pod -> pod, podnet', src: a1.ns, dstNs: a2.ns, dst: a2.v4 as string },
        { name: 'same-node pod -> pod, reference bridge', src: `pl-${lab.name}-p-ra`, dstNs: `pl-${lab.name}-p-rb`, dst: rb as string },
        { name: 'cross-node pod -> pod, host-gw', src: a1.ns, dstNs: b1.ns, dst: b1.v4 as string },
      ], o)),
    );
    // The reference pods: DEL through the plugins is not needed (the lab's namespaces go with it).
    for (const n of ['ra', 'rb']) await delNetns(`pl-${lab.name}-p-${n}`);
  });

  await withLab('vxlan', async (lab) => {
    const n1 = lab.node('n1');
    const n2 = lab.node('n2');
    const a1 = await lab.addPod('n1', 'a1');
    const b1 = await lab.addPod('n2', 'b1');
    await sleep(500);
    idle.push(...(await idleAgents(lab, o.idleSeconds)).map((x) => ({ lab: 'vxlan', ...x })));
    paths.push(
      ...(await measurePaths('vxlan', [
        { name: 'raw veth n1 -> n2 (underlay, no pods)', src: n1.ns, dstNs: n2.ns, dst: n2.v4.split('/')[0] as string },
        { name: 'cross-node pod -> pod, vxlan', src: a1.ns, dstNs: b1.ns, dst: b1.v4 as string },
      ], o)),
    );
    const ethtool = await mustIn(n1.ns, 'ethtool', ['-k', 'podnet.vxlan']);
    const pick = ethtool
      .split('\n')
      .filter((l) => /^(tx-checksumming|generic-segmentation-offload|generic-receive-offload|tcp-segmentation-offload|tx-udp_tnl-segmentation|rx-gro-list|rx-udp-gro-forwarding):/.test(l))
      .map((l) => l.trim())
      .join('; ');
    const podMtu = Number(/mtu (\d+)/.exec(await mustIn(a1.ns, 'ip', ['-o', 'link', 'show', 'eth0']))?.[1] ?? NaN);
    const vxlanMtu = Number(/mtu (\d+)/.exec(await mustIn(n1.ns, 'ip', ['-o', 'link', 'show', 'podnet.vxlan']))?.[1] ?? NaN);
    const uplinkOffloads = (await mustIn(n1.ns, 'ethtool', ['-k', 'eth0']))
      .split('\n')
      .filter((l) => /^(tx-udp_tnl-segmentation|tx-udp_tnl-csum-segmentation|generic-receive-offload|rx-udp-gro-forwarding):/.test(l))
      .map((l) => l.trim())
      .join('; ');
    // GSO through the tunnel: the average IP packet n1 sends on the underlay during a pod -> pod
    // TCP test (about 1500 bytes = segmented before or at the encap; tens of KB = super-packets).
    const srv = await startServer(b1.ns);
    let gso = '';
    try {
      // Absolute counters before and after (nstat's own history file is shared between namespaces).
      const counters = async (): Promise<(k: string) => number> => {
        const text = await mustIn(n1.ns, 'nstat', ['-a', '-z', '-s']);
        return (k: string): number => Number(new RegExp(`^${k}\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
      };
      const before = await counters();
      await iperf(a1.ns, b1.v4 as string, 'tcp1', 2);
      const after = await counters();
      const d = (k: string): number => after(k) - before(k);
      gso = `n1's underlay during a 2 s pod TCP test: ${d('IpOutRequests')} IP packets out, ${(d('IpExtOutOctets') / d('IpOutRequests')).toFixed(0)} bytes each on average`;
    } finally {
      await stopServer(srv);
    }
    vx = { ethtool: pick, podMtu, vxlanMtu, detail: `uplink eth0: ${uplinkOffloads}\n       ${gso}` };
  });

  const m1 = machineBusy();
  const busy = (100 * (1 - (m1.idle - m0.idle) / (m1.total - m0.total))).toFixed(0);

  const raw = (lab: string): PathResult | undefined => paths.find((p) => p.lab === lab && p.name.startsWith('raw'));
  const ref = paths.find((p) => p.name.includes('reference'));
  const out: string[] = [''];
  out.push('bench/datapath: iperf3 (TCP 1 and 4 streams, UDP -b 0 -l 1400) and ping between namespaces; ratios to the raw veth of the same lab');
  out.push(
    `node ${process.version}, ${cpus().length} CPUs; load average ${la0.toFixed(2)} -> ${(loadavg()[0] ?? NaN).toFixed(2)}; machine CPU busy ${busy}% during the run; ` +
      `${o.rounds} round(s) (means shown), ${o.seconds} s per iperf3 test, ${o.pings} pings; ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  out.push('');
  out.push(
    table(
      ['path (lab backend)', 'MTU', 'TCP Gbit/s', 'per round', 'ratio', 'TCP x4 Gbit/s', 'ratio', 'UDP rcv Gbit/s', 'loss', 'ratio', 'ping p50 ms', 'TCP cpu snd/rcv %', 'retr'],
      paths.map((p) => {
        const b = raw(p.lab);
        return [
          `${p.name} (${p.lab})`,
          String(p.mtu),
          g(p.tcp1.bps),
          p.samples.map((x) => g(x.tcp1.bps)).join(' '),
          r2(p.tcp1.bps, b?.tcp1.bps),
          g(p.tcp4.bps),
          r2(p.tcp4.bps, b?.tcp4.bps),
          g(p.udp.bps),
          `${(p.udp.lossPercent ?? NaN).toFixed(1)}%`,
          r2(p.udp.bps, b?.udp.bps),
          p.ping.p50.toFixed(3),
          `${p.tcp1.cpuLocal.toFixed(0)}/${p.tcp1.cpuRemote.toFixed(0)}`,
          String(p.tcp1.retransmits ?? '-'),
        ];
      }),
    ),
  );
  const get = (needle: string): PathResult | undefined => paths.find((p) => p.name.includes(needle));
  const hg = get('host-gw');
  const vxl = get(', vxlan');
  const same = get('same-node pod -> pod, podnet');
  const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  const tgt = (label: string, a: PathResult | undefined, b: PathResult | undefined, lim: number): string[] => {
    const q1 = a && b ? a.tcp1.bps / b.tcp1.bps : NaN;
    const q4 = a && b ? a.tcp4.bps / b.tcp4.bps : NaN;
    return [label, q1.toFixed(2), verdict(q1 >= lim), q4.toFixed(2), verdict(q4 >= lim)];
  };
  out.push('');
  out.push('Targets (issue), on TCP throughput:');
  out.push(
    table(
      ['target', 'TCP ratio', '', 'TCP x4 ratio', ''],
      [
        tgt('cross-node host-gw >= 0.95 of raw veth', hg, raw('host-gw'), 0.95),
        tgt('cross-node VXLAN >= 0.85 of raw veth', vxl, raw('vxlan'), 0.85),
        tgt('same-node podnet >= reference bridge (ratio podnet/bridge >= 1.00)', same, ref, 1.0),
      ],
    ),
  );
  out.push('');
  out.push(`Agents idle (${o.idleSeconds} s, 3 pods in lab 1 / 2 in lab 2, log level info):`);
  out.push(table(['lab', 'node', 'RSS MiB', 'CPU %'], idle.map((x) => [x.lab, x.node, x.rssMiB.toFixed(1), x.cpuPercent.toFixed(2)])));
  if (vx) {
    out.push('');
    out.push(`VXLAN: pod eth0 MTU ${vx.podMtu}, podnet.vxlan MTU ${vx.vxlanMtu}; podnet.vxlan offloads: ${vx.ethtool}`);
    out.push(`       ${vx.detail}`);
  }
  out.push('');
  out.push('TCP cpu snd/rcv: iperf3\'s own CPU use of sender and receiver for the 1-stream test (100% = one core: CPU-bound).');
  out.push('Figures only, nothing asserted. Compare ratios within one run (±20% between runs on this machine).');
  process.stdout.write(`${out.join('\n')}\n`);
  if (o.json) writeFileSync(o.json, JSON.stringify({ paths, idle, vx }, null, 2));
}

runBench(main, cleanup);
