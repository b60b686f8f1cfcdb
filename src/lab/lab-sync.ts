/**
 * When is a lab "in sync": every running agent answers `status` with its cluster view in sync
 * and no apply error, sees every node of the lab, and all agree on the number of address blocks
 * (so the routes to a block claimed a moment ago are in place everywhere).
 */
import { callRpc } from '../agent/client.js';
import type { StatusView } from '../agent/views.js';
import { PodnetError, errorMessage } from '../common/errors.js';
import { LabErrors } from './errors.js';

export interface SyncTarget {
  readonly name: string;
  readonly socket: string;
}

/** One look: undefined when in sync, otherwise why not. */
export async function syncProblem(running: readonly SyncTarget[], wantNodes: number): Promise<string | undefined> {
  const views = await Promise.all(running.map((n) => callRpc<StatusView>(n.socket, 'status', {}, 3000).then((v) => ({ n, v }), (e: unknown) => ({ n, e: errorMessage(e) }))));
  const bad: string[] = [];
  const blocks = new Set<number>();
  for (const r of views) {
    if ('e' in r) bad.push(`${r.n.name}: ${r.e}`);
    else if (!r.v.cluster.inSync || r.v.cluster.nodes !== wantNodes || r.v.cluster.lastError) {
      bad.push(`${r.n.name}: sync ${r.v.cluster.sync}, inSync ${r.v.cluster.inSync}, sees ${r.v.cluster.nodes}/${wantNodes} nodes${r.v.cluster.lastError ? `, last error: ${r.v.cluster.lastError}` : ''}`);
    } else blocks.add(r.v.cluster.blocks);
  }
  if (bad.length) return bad.join('; ');
  return blocks.size > 1 ? `agents disagree on the block count (${[...blocks].join(' vs ')})` : undefined;
}

/** Polls syncProblem every 100 ms until it clears; LAB_NOT_SYNCED after timeoutMs. */
export async function waitSynced(look: () => { running: readonly SyncTarget[]; wantNodes: number }, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let why = '';
  for (let i = 0; i < 10_000; i++) {
    const { running, wantNodes } = look();
    const p = await syncProblem(running, wantNodes);
    if (p === undefined) return;
    why = p;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new PodnetError(LabErrors.LAB_NOT_SYNCED, `${what}: agents not in sync within ${timeoutMs} ms: ${why}`);
}
