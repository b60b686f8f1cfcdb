/**
 * `podnet observe`: flow records of every node, like `hubble observe`. Without --follow, the
 * last --last records (default 20) of each node that match the filters, merged by time; with
 * --follow, then every new one until interrupted (or --duration). -o json: one object per line.
 */
import { callRpc, DEFAULT_AGENT_SOCKET } from '../agent/client.js';
import { CommonErrors, PodnetError } from '../common/errors.js';
import { parseFilter, parseSince } from '../flows/filter.js';
import type { ObserveAnswer } from '../flows/relay.js';
import type { FlowEndpoint, FlowRecord } from '../flows/types.js';
import { parseCommandArgs, socketOption } from './args.js';

const options = {
  ...socketOption,
  output: { type: 'string', short: 'o' },
  follow: { type: 'boolean', short: 'f' },
  pod: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  verdict: { type: 'string' },
  event: { type: 'string' },
  protocol: { type: 'string' },
  port: { type: 'string' },
  since: { type: 'string' },
  node: { type: 'string' },
  last: { type: 'string' },
  duration: { type: 'string' },
} as const;

function side(e: FlowEndpoint): string {
  const who = e.pod ? `${e.namespace}/${e.pod}` : e.ip;
  const port = e.port !== undefined ? `:${e.port}` : '';
  return e.pod ? `${who}${port} (${e.ip})` : `${who}${port}`;
}

/** One line per record, hubble-like. */
export function formatFlow(r: FlowRecord): string {
  const t = r.time.replace('T', ' ').replace('Z', '');
  const icmp = r.icmp ? ` type ${r.icmp.type}/${r.icmp.code}` : '';
  const counts = r.packets ? ` ${r.packets.orig}/${r.packets.reply} pkts ${r.bytes?.orig ?? 0}/${r.bytes?.reply ?? 0} B${r.durationMs !== undefined ? ` ${r.durationMs.toFixed(1)} ms` : ''}` : '';
  return `${t} [${r.node}] ${side(r.src)} -> ${side(r.dst)} ${r.protocol}${icmp} ${r.event} ${r.verdict.toUpperCase()}${counts} | ${r.reason}\n`;
}

export async function observeCommand(argv: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, options);
  const socket = values.socket ?? process.env.PODNET_AGENT_SOCKET ?? DEFAULT_AGENT_SOCKET;
  const json = values.output === 'json';
  if (values.output !== undefined && !json && values.output !== 'table') throw new PodnetError(CommonErrors.INVALID_ARGUMENT, '-o must be json (one object per line) or table');
  const filter = parseFilter({
    ...(values.pod ? { pod: values.pod } : {}),
    ...(values.namespace ? { namespace: values.namespace } : {}),
    ...(values.verdict ? { verdict: values.verdict } : {}),
    ...(values.event ? { event: values.event } : {}),
    ...(values.protocol ? { protocol: values.protocol } : {}),
    ...(values.port ? { port: values.port } : {}),
    ...(values.node ? { node: values.node } : {}),
    ...(values.since ? { sinceMs: parseSince(values.since) } : {}),
  });
  const last = values.last === undefined ? 20 : Number(values.last);
  if (!Number.isInteger(last) || last < 1 || last > 5000) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, '--last must be 1-5000');
  const durationMs = values.duration === undefined ? undefined : Number(values.duration.replace(/s$/, '')) * 1000;
  if (durationMs !== undefined && (!Number.isFinite(durationMs) || durationMs <= 0)) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, '--duration must be a number of seconds');
  const write = (r: FlowRecord): void => void process.stdout.write(json ? `${JSON.stringify(r)}\n` : formatFlow(r));
  const warned = new Set<string>();
  const warn = (a: ObserveAnswer): void => {
    for (const [node, why] of Object.entries(a.errors)) {
      const k = `${node}: ${why}`;
      if (!warned.has(k)) process.stderr.write(`podnet observe: node ${node}: ${why}\n`);
      warned.add(k);
    }
    for (const [node, n] of Object.entries(a.missed)) process.stderr.write(`podnet observe: node ${node}: ${n} records were overwritten before they could be read\n`);
  };

  let a = await callRpc<ObserveAnswer & { enabled: boolean }>(socket, 'flows.observe', { filter, limit: last });
  if (!a.enabled) process.stderr.write('podnet observe: flow recording is disabled on the local agent (flows.enabled)\n');
  warn(a);
  a.records.forEach(write);
  if (!values.follow) return 0;
  let stopped = false;
  const stop = (): void => void (stopped = true);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const until = durationMs === undefined ? Infinity : Date.now() + durationMs;
  let cursors = a.cursors;
  while (!stopped && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 250));
    a = await callRpc<ObserveAnswer & { enabled: boolean }>(socket, 'flows.observe', { filter, cursors, limit: 5000 });
    cursors = a.cursors;
    warn(a);
    a.records.forEach(write);
  }
  return 0;
}

/** `podnet metrics`: the local agent's Prometheus metrics (the same text as GET /metrics). */
export async function metricsCommand(argv: readonly string[]): Promise<string> {
  const { values } = parseCommandArgs(argv, socketOption);
  const socket = values.socket ?? process.env.PODNET_AGENT_SOCKET ?? DEFAULT_AGENT_SOCKET;
  return (await callRpc<{ text: string }>(socket, 'metrics')).text;
}
