/**
 * Flow filters (`podnet observe --pod ... --namespace ... --verdict ... --protocol ... --port ...
 * --since ... --event ...`), as a plain object that travels to every node, and the predicate.
 * A record matches when every given filter matches; --pod and --namespace match either side.
 */
import { CommonErrors, PodnetError } from '../common/errors.js';
import { FLOW_EVENTS, FLOW_VERDICTS, type FlowEvent, type FlowRecord, type FlowVerdict } from './types.js';

export interface FlowFilter {
  /** "ns/pod" or "pod" (any namespace). */
  readonly pod?: string;
  readonly namespace?: string;
  readonly verdict?: readonly FlowVerdict[];
  readonly event?: readonly FlowEvent[];
  /** Upper case protocol name (TCP, UDP, SCTP, ICMP, ICMPv6). */
  readonly protocol?: string;
  readonly port?: number;
  /** Epoch ms: records at or after. */
  readonly sinceMs?: number;
  /** Node name. */
  readonly node?: string;
}

const bad = (msg: string): PodnetError => new PodnetError(CommonErrors.INVALID_ARGUMENT, msg);

/** "30s", "5m", "2h", "1d" or an ISO time -> epoch ms. */
export function parseSince(s: string, now = Date.now()): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(s);
  if (m) return now - Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw bad(`--since ${JSON.stringify(s)} must be a duration (30s, 5m, 2h) or a time (2026-11-23T10:00:00Z)`);
  return t;
}

function list<T extends string>(v: unknown, allowed: readonly T[], what: string): T[] | undefined {
  if (v === undefined) return undefined;
  const items = (Array.isArray(v) ? v : String(v).split(',')).map((x) => String(x).trim().toLowerCase()).filter((x) => x !== '');
  for (const i of items) if (!(allowed as readonly string[]).includes(i)) throw bad(`${what} ${JSON.stringify(i)} must be one of ${allowed.join(', ')}`);
  return items as T[];
}

/** Validates a filter object from the wire (RPC or HTTP query). */
export function parseFilter(raw: Readonly<Record<string, unknown>>): FlowFilter {
  const str = (k: string): string | undefined => {
    const v = raw[k];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') throw bad(`${k} must be a string`);
    return v;
  };
  const port = raw['port'];
  let p: number | undefined;
  if (port !== undefined && port !== '') {
    p = Number(port);
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw bad(`port ${JSON.stringify(port)} must be 0-65535`);
  }
  const since = raw['sinceMs'];
  const protocol = str('protocol')?.toUpperCase().replace('ICMPV6', 'ICMPv6');
  const verdict = list(raw['verdict'], FLOW_VERDICTS, 'verdict');
  const event = list(raw['event'], FLOW_EVENTS, 'event');
  const f: FlowFilter = {
    ...(str('pod') ? { pod: str('pod') as string } : {}),
    ...(str('namespace') ? { namespace: str('namespace') as string } : {}),
    ...(verdict ? { verdict } : {}),
    ...(event ? { event } : {}),
    ...(protocol ? { protocol } : {}),
    ...(p !== undefined ? { port: p } : {}),
    ...(since !== undefined && since !== '' ? { sinceMs: Number(since) } : {}),
    ...(str('node') ? { node: str('node') as string } : {}),
  };
  if (f.sinceMs !== undefined && !Number.isFinite(f.sinceMs)) throw bad('sinceMs must be a number');
  return f;
}

function podMatches(want: string, e: FlowRecord['src']): boolean {
  if (!e.pod) return false;
  const i = want.indexOf('/');
  return i < 0 ? e.pod === want : e.namespace === want.slice(0, i) && e.pod === want.slice(i + 1);
}

export function matchesFilter(f: FlowFilter, r: FlowRecord): boolean {
  if (f.node !== undefined && r.node !== f.node) return false;
  if (f.pod !== undefined && !podMatches(f.pod, r.src) && !podMatches(f.pod, r.dst)) return false;
  if (f.namespace !== undefined && r.src.namespace !== f.namespace && r.dst.namespace !== f.namespace) return false;
  if (f.verdict && !f.verdict.includes(r.verdict)) return false;
  if (f.event && !f.event.includes(r.event)) return false;
  if (f.protocol !== undefined && r.protocol !== f.protocol) return false;
  if (f.port !== undefined && r.dst.port !== f.port && r.src.port !== f.port) return false;
  if (f.sinceMs !== undefined && Date.parse(r.time) < f.sinceMs) return false;
  return true;
}
