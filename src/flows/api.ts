/**
 * The agent's HTTP endpoint (default port 9473 on every address of the node's namespace):
 *   GET /metrics                 Prometheus text format
 *   GET /v1/flows?after=&limit=&pod=&namespace=&verdict=&event=&protocol=&port=&sinceMs=
 *                                this node's flow records after a cursor (or the last `limit`)
 *   GET /healthz                 "ok"
 * Read-only. Other agents read /v1/flows to answer `podnet observe` for the whole cluster.
 */
import http from 'node:http';
import type { Logger } from '../common/log.js';
import { isPodnetError } from '../common/errors.js';
import { matchesFilter, parseFilter, type FlowFilter } from './filter.js';
import type { AgentMetrics } from './metrics.js';
import type { FlowRecorder } from './recorder.js';
import type { FlowRecord } from './types.js';

export const DEFAULT_HTTP_PORT = 9473;
export const MAX_PAGE = 5000;

export interface FlowPage {
  readonly node: string;
  readonly records: readonly FlowRecord[];
  /** Cursor for the next page. */
  readonly next: number;
  /** Records overwritten between the cursor and the oldest kept. */
  readonly missed: number;
}

/** One page of a node's flows: after a cursor, or (no cursor) the last `limit` matching. */
export function pageOf(node: string, rec: FlowRecorder | undefined, filter: FlowFilter, after: number | undefined, limit: number): FlowPage {
  if (!rec) return { node, records: [], next: after ?? 0, missed: 0 };
  const keep = (r: FlowRecord): boolean => matchesFilter(filter, r);
  const p = after === undefined ? rec.ring.last(limit, keep) : rec.ring.after(after, limit, keep);
  return { node, ...p };
}

export interface ApiOptions {
  readonly node: string;
  readonly host: string;
  readonly port: number;
  readonly metrics: AgentMetrics;
  readonly flows: () => FlowRecorder | undefined;
  readonly log: Logger;
}

export class AgentApi {
  private server: http.Server | undefined;

  constructor(private readonly o: ApiOptions) {}

  async listen(): Promise<number> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host, () => resolve());
    });
    this.server = server;
    const a = server.address();
    return typeof a === 'object' && a ? a.port : this.o.port;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (code: number, type: string, body: string): void => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    try {
      if (req.method !== 'GET') return send(405, 'text/plain', 'only GET\n');
      const url = new URL(req.url ?? '/', 'http://agent');
      if (url.pathname === '/metrics') return send(200, this.o.metrics.contentType, await this.o.metrics.text());
      if (url.pathname === '/healthz') return send(200, 'text/plain', 'ok\n');
      if (url.pathname === '/v1/flows') {
        const q = Object.fromEntries(url.searchParams);
        const filter = parseFilter(q);
        const after = q['after'] === undefined || q['after'] === '' ? undefined : Number(q['after']);
        const limit = Math.min(MAX_PAGE, Math.max(1, Number(q['limit'] ?? 100) || 100));
        if (after !== undefined && (!Number.isInteger(after) || after < 0)) return send(400, 'text/plain', 'after must be a non-negative integer\n');
        return send(200, 'application/json', JSON.stringify(pageOf(this.o.node, this.o.flows(), filter, after, limit)));
      }
      return send(404, 'text/plain', 'not found: /metrics, /v1/flows, /healthz\n');
    } catch (e) {
      if (isPodnetError(e, 'INVALID_ARGUMENT')) return send(400, 'text/plain', `${e.message}\n`);
      this.o.log.warn('http request failed', { url: req.url, error: String(e) });
      send(500, 'text/plain', 'internal error\n');
    }
  }
}
