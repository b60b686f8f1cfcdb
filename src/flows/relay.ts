/**
 * `podnet observe` across the cluster: the local agent reads its own ring and every other live
 * node's /v1/flows (in parallel, bounded in time), and merges the pages by time. Cursors are
 * per node, so --follow never repeats or skips a record while the rings keep up.
 */
import type { FlowFilter } from './filter.js';
import { pageOf, type FlowPage } from './api.js';
import type { FlowRecorder } from './recorder.js';
import type { FlowRecord } from './types.js';

export interface PeerNode {
  readonly name: string;
  /** http://host:port */
  readonly url: string | undefined;
}

export interface ObserveRequest {
  readonly filter: FlowFilter;
  /** Per node: records after this seq. A node without a cursor gives its last `limit` records. */
  readonly cursors: Readonly<Record<string, number>>;
  readonly limit: number;
}

export interface ObserveAnswer {
  readonly records: readonly FlowRecord[];
  readonly cursors: Readonly<Record<string, number>>;
  /** Nodes that could not be read, with why. */
  readonly errors: Readonly<Record<string, string>>;
  /** Records overwritten before they could be read, per node. */
  readonly missed: Readonly<Record<string, number>>;
}

function query(filter: FlowFilter, after: number | undefined, limit: number): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v !== undefined) q.set(k, Array.isArray(v) ? v.join(',') : String(v));
  if (after !== undefined) q.set('after', String(after));
  q.set('limit', String(limit));
  return q.toString();
}

async function fetchPage(peer: PeerNode, req: ObserveRequest, timeoutMs: number): Promise<FlowPage> {
  if (!peer.url) throw new Error('the node publishes no agent API address');
  const res = await fetch(`${peer.url}/v1/flows?${query(req.filter, req.cursors[peer.name], req.limit)}`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).trim()}`);
  return (await res.json()) as FlowPage;
}

export async function observe(local: { name: string; recorder: FlowRecorder | undefined }, peers: readonly PeerNode[], req: ObserveRequest, timeoutMs = 3000): Promise<ObserveAnswer> {
  const pages: FlowPage[] = [pageOf(local.name, local.recorder, req.filter, req.cursors[local.name], req.limit)];
  const errors: Record<string, string> = {};
  const wanted = peers.filter((p) => p.name !== local.name && (req.filter.node === undefined || req.filter.node === p.name));
  const settled = await Promise.allSettled(wanted.map((p) => fetchPage(p, req, timeoutMs)));
  settled.forEach((s, i) => {
    const peer = wanted[i] as PeerNode;
    if (s.status === 'fulfilled') pages.push(s.value);
    else errors[peer.name] = s.reason instanceof Error ? s.reason.message : String(s.reason);
  });
  const cursors: Record<string, number> = { ...req.cursors };
  const missed: Record<string, number> = {};
  for (const p of pages) {
    cursors[p.node] = p.next;
    if (p.missed > 0) missed[p.node] = p.missed;
  }
  const records = pages.flatMap((p) => p.records).sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.node < b.node ? -1 : a.node > b.node ? 1 : a.seq - b.seq));
  return { records, cursors, errors, missed };
}
