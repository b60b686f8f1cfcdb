/**
 * `flows.observe`: flow records of the whole cluster (this node's ring, every other live node's
 * /v1/flows), filtered, merged by time, with per-node cursors for --follow.
 */
import { CommonErrors, PodnetError } from '../common/errors.js';
import type { Datastore } from '../datastore/types.js';
import { parseFilter } from '../flows/filter.js';
import type { FlowRecorder } from '../flows/recorder.js';
import { MAX_PAGE } from '../flows/api.js';
import { observe, type ObserveAnswer, type PeerNode } from '../flows/relay.js';
import { ALIVE_PREFIX, NODE_PREFIX, type NodeRecord } from '../model/node.js';
import type { RpcHandler } from './server.js';

export interface FlowRpcDeps {
  readonly store: Datastore;
  /** Prometheus text of the agent's metrics (also served on the HTTP endpoint). */
  readonly metricsText: () => Promise<string>;
  readonly nodeName: string;
  readonly flows: FlowRecorder | undefined;
}

/** The agent API URL of a node, from its record. */
export function apiUrlOf(r: NodeRecord): string | undefined {
  if (!r.apiPort) return undefined;
  const v4 = r.addressV4?.split('/')[0];
  const v6 = r.addressV6?.split('/')[0];
  return v4 ? `http://${v4}:${r.apiPort}` : v6 ? `http://[${v6}]:${r.apiPort}` : undefined;
}

async function peers(store: Datastore): Promise<{ peers: PeerNode[]; dead: string[] }> {
  const [nodes, alive] = await Promise.all([store.list(NODE_PREFIX), store.list(ALIVE_PREFIX)]);
  const up = new Set(alive.entries.map((e) => e.key.slice(ALIVE_PREFIX.length)));
  const out: PeerNode[] = [];
  const dead: string[] = [];
  for (const e of nodes.entries) {
    try {
      const r = JSON.parse(e.value) as NodeRecord;
      if (up.has(r.name)) out.push({ name: r.name, url: apiUrlOf(r) });
      else dead.push(r.name);
    } catch {
      // malformed records are reported by the cluster sync
    }
  }
  return { peers: out, dead };
}

export function flowRpcHandlers(deps: FlowRpcDeps): Record<string, RpcHandler> {
  return {
    metrics: async (): Promise<{ text: string }> => ({ text: await deps.metricsText() }),
    'flows.observe': async (params): Promise<ObserveAnswer & { enabled: boolean }> => {
      const p = (typeof params === 'object' && params !== null ? params : {}) as Record<string, unknown>;
      const filter = parseFilter((typeof p['filter'] === 'object' && p['filter'] !== null ? p['filter'] : {}) as Record<string, unknown>);
      const limit = p['limit'] === undefined ? 100 : Number(p['limit']);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `limit must be 1-${MAX_PAGE}`);
      const raw = (p['cursors'] ?? {}) as Record<string, unknown>;
      const cursors: Record<string, number> = {};
      for (const [k, v] of Object.entries(raw)) {
        if (!Number.isInteger(v) || (v as number) < 0) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `cursor of ${k} must be a non-negative integer`);
        cursors[k] = v as number;
      }
      const { peers: ps, dead } = await peers(deps.store);
      const ans = await observe({ name: deps.nodeName, recorder: deps.flows }, ps, { filter, cursors, limit });
      const errors = { ...ans.errors };
      for (const d of dead) if (filter.node === undefined || filter.node === d) errors[d] = 'agent not alive';
      return { ...ans, errors, enabled: deps.flows !== undefined };
    },
  };
}
