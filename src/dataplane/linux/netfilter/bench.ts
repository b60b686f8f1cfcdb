/**
 * Measurements for the netfilter readers. Not a test; run after `npm run build`:
 *
 *   node dist/src/dataplane/linux/netfilter/bench.js codec          decode throughput (no root)
 *   node dist/src/dataplane/linux/netfilter/bench.js load [RATE] [SECONDS] [CONC]
 *        (root) short TCP connections between two throw-away namespaces at RATE/s with both
 *        readers open in the server namespace: reader-thread CPU, events, losses, event-loop
 *        delay and memory. Everything lives in pnt-* namespaces removed at the end.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { NetnsPool, privilegedSkip } from '../netns-fixture.js';
import { decodeConntrackDatagram } from './conntrack-codec.js';
import { openConntrackEvents } from './conntrack-events.js';
import { buildConntrackMessage, buildNflogMessage, buildPacket } from './fixtures.js';
import { decodeNflogDatagram } from './nflog-codec.js';
import { openNflog } from './nflog.js';
import { enableConntrackAccounting } from './sysctl.js';
import { threadCpuMs } from './thread.js';
import { makePair, nftIn, reapExpired, shortTimeouts, sleep, startServer, stopChild, trafficAsync } from './topology-fixture.js';

function rate(name: string, datagram: Buffer, perDatagram: number, decode: (b: Buffer, sink: { record(r: unknown): void; error(e: Error): void }) => void): void {
  let n = 0;
  let errors = 0;
  let keep: unknown[] = [];
  const sink = {
    record: (r: unknown) => {
      keep.push(r);
      n++;
    },
    error: () => {
      errors++;
    },
  };
  const run = (ms: number): number => {
    n = 0;
    const t0 = process.hrtime.bigint();
    const end = Date.now() + ms;
    while (Date.now() < end) {
      for (let i = 0; i < 1000; i++) decode(datagram, sink);
      if (keep.length > 4096) keep = [];
    }
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  run(300); // warm up
  const secs = run(1500);
  const perSec = n / secs;
  // What the main thread pays to receive a batch of 256 (structured clone both ways is the upper bound).
  const batch = keep.slice(0, 256);
  for (let i = 0; i < 100; i++) structuredClone(batch);
  const c0 = process.hrtime.bigint();
  for (let i = 0; i < 1000; i++) structuredClone(batch);
  const cloneUs = Number(process.hrtime.bigint() - c0) / 1e3 / 1000 / Math.max(1, batch.length);
  console.log(
    `${name.padEnd(44)} ${Math.round(perSec).toLocaleString('en').padStart(11)} records/s  ${(1e9 / perSec).toFixed(0).padStart(5)} ns/record  ` +
      `${datagram.length / perDatagram} B/msg  clone ${cloneUs.toFixed(2)} us/record${errors ? `  ERRORS ${errors}` : ''}`,
  );
}

function codec(): void {
  const t = { src: '10.244.1.17', dst: '10.244.2.33', protocol: 6, sport: 51234, dport: 8080 };
  const r = { src: '10.244.2.33', dst: '10.244.1.17', protocol: 6, sport: 8080, dport: 51234 };
  const destroy = buildConntrackMessage({ type: 'destroy', orig: t, reply: r, id: 7, status: 0x18e, mark: 3, counters: { orig: [10n, 1500n], reply: [8n, 9000n] }, timestampNs: [1_700_000_000_000_000_000n, 1_700_000_001_000_000_000n], tcpState: 7 });
  const create = buildConntrackMessage({ type: 'new', orig: t, reply: r, id: 7, status: 8, timeout: 120, tcpState: 1 });
  const v6 = buildConntrackMessage({ type: 'destroy', orig: { ...t, src: 'fd00:10:244:1::17', dst: 'fd00:10:244:2::33' }, reply: { ...r, src: 'fd00:10:244:2::33', dst: 'fd00:10:244:1::17' }, id: 7, status: 0x18e, counters: { orig: [10n, 1500n], reply: [8n, 9000n] }, timestampNs: [1n, 2n] });
  const pkt = buildPacket({ src: '10.244.1.17', dst: '10.244.2.33', protocol: 6, sport: 51234, dport: 8080, tcpFlags: 2, payloadBytes: 68 });
  const nflog = buildNflogMessage({ group: 100, prefix: 'pn X default/deny-all ', hook: 2, indev: 5, outdev: 7, timestamp: [1_700_000_000, 5], seq: 1, payload: pkt.subarray(0, 128) });
  const batch16 = Buffer.concat(Array.from({ length: 16 }, () => nflog));
  const ctDecode = (b: Buffer, s: { record(r: unknown): void; error(e: Error): void }): void => decodeConntrackDatagram(b, b.length, s, 0);
  const lgDecode = (b: Buffer, s: { record(r: unknown): void; error(e: Error): void }): void => decodeNflogDatagram(b, b.length, s, 0);
  console.log(`node ${process.version}, one core, decode only (no syscalls)`);
  rate('conntrack DESTROY ipv4 tcp, counters+tstamp', destroy, 1, ctDecode);
  rate('conntrack NEW ipv4 tcp', create, 1, ctDecode);
  rate('conntrack DESTROY ipv6 tcp, counters+tstamp', v6, 1, ctDecode);
  rate('NFLOG ipv4 tcp, 128 B copied, 1/datagram', nflog, 1, lgDecode);
  rate('NFLOG ipv4 tcp, 128 B copied, 16/datagram', batch16, 16, lgDecode);
}

async function load(ratePerSec: number, seconds: number, conc: number): Promise<void> {
  const why = privilegedSkip();
  if (why) {
    console.log(`load: skipped, ${why}`);
    return;
  }
  const pool = new NetnsPool();
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    const pair = makePair(pool, 'bench');
    await enableConntrackAccounting(pair.serverPath);
    shortTimeouts(pair.serverPath);
    nftIn(pair.server, `table inet pnbench {\n chain input {\n  type filter hook input priority 0; policy accept;\n  ct state new counter\n  tcp flags syn log prefix "pn bench " group 100\n }\n}\n`);
    server = await startServer(pair.server, 8080);
    const total = ratePerSec * seconds;
    const phase = async (): Promise<{ summary: Record<string, unknown>; wall: number; p99: number; max: number; cpu: number; rssMax: number }> => {
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const proc0 = process.cpuUsage();
      let rssMax = 0;
      const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 250);
      const t0 = Date.now();
      // The client is a child process (its own CPU); the event loop stays free to take batches.
      const summary = await trafficAsync(pair.client, 'tcp', pair.serverIp, 8080, total, conc, ratePerSec);
      await sleep(1500); // TIME_WAIT entries (1 s here) expire; a dump reaps those conntrack's GC has not yet
      reapExpired(pair.serverPath);
      await sleep(1500);
      clearInterval(sampler);
      loop.disable();
      const proc = process.cpuUsage(proc0);
      return { summary, wall: (Date.now() - t0) / 1000, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6, cpu: (proc.user + proc.system) / 1e6, rssMax };
    };
    const ms = (x: number): string => `${x.toFixed(1)} ms`;

    // Baseline: the same traffic and ruleset, no reader open.
    const base = await phase();
    console.log(`baseline (no readers): client ${JSON.stringify(base.summary)}; this process CPU ${base.cpu.toFixed(2)} s; event loop delay p99 ${ms(base.p99)} max ${ms(base.max)}`);

    let ctRecords = 0;
    let destroys = 0;
    let logRecords = 0;
    let errors = 0;
    const rss0 = process.memoryUsage().rss;
    const ct = await openConntrackEvents({
      netns: pair.serverPath,
      events: ['new', 'destroy'],
      onEvents: (r) => {
        ctRecords += r.length;
        for (const e of r) if (e.type === 'destroy') destroys++;
      },
      onError: () => errors++,
    });
    const lg = await openNflog({ netns: pair.serverPath, group: 100, onPackets: (r) => (logRecords += r.length), onError: () => errors++ });
    const cpu0 = [threadCpuMs(ct.tid) ?? 0, threadCpuMs(lg.tid) ?? 0];
    const run = await phase();
    const cpu1 = [threadCpuMs(ct.tid) ?? 0, threadCpuMs(lg.tid) ?? 0];
    const s = [ct.stats(), lg.stats()];
    await Promise.all([ct.close(), lg.close()]);
    const ctCpu = (cpu1[0]! - cpu0[0]!) / 1000;
    const lgCpu = (cpu1[1]! - cpu0[1]!) / 1000;
    const pct = (x: number): string => `${((x / run.wall) * 100).toFixed(1)}% of a core`;
    console.log(`with readers:          client ${JSON.stringify(run.summary)}; window ${run.wall.toFixed(1)} s`);
    console.log(`  conntrack reader: ${ctRecords} records (${destroys} destroy), ${JSON.stringify(s[0])}; thread CPU ${ctCpu.toFixed(2)} s = ${pct(ctCpu)}, ${((ctCpu * 1e6) / Math.max(1, ctRecords)).toFixed(1)} us/record`);
    console.log(`  nflog reader:     ${logRecords} records, ${JSON.stringify(s[1])}; thread CPU ${lgCpu.toFixed(2)} s = ${pct(lgCpu)}, ${((lgCpu * 1e6) / Math.max(1, logRecords)).toFixed(1)} us/record`);
    const mainCpu = run.cpu - ctCpu - lgCpu;
    console.log(`  this process CPU ${run.cpu.toFixed(2)} s (readers ${(ctCpu + lgCpu).toFixed(2)} s, the rest ${mainCpu.toFixed(2)} s vs ${base.cpu.toFixed(2)} s baseline); event loop delay p99 ${ms(run.p99)} max ${ms(run.max)}`);
    console.log(`  RSS ${Math.round(rss0 / 2 ** 20)} MiB before open, max ${Math.round(run.rssMax / 2 ** 20)} MiB while reading, ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB after close; reader errors ${errors}`);
  } finally {
    await stopChild(server);
    pool.cleanup();
  }
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'codec') codec();
else if (mode === 'load') void load(Number(args[0] ?? 2000), Number(args[1] ?? 10), Number(args[2] ?? 64));
else console.log('usage: bench.js codec | load [RATE] [SECONDS] [CONC]');
