/**
 * Returning address blocks of dead and removed nodes to their pools.
 *
 * - A node counts as dead when its leased liveness key is gone. Its EMPTY blocks are reclaimed
 *   by any agent (compare-and-swap per block, so agents racing each other or a node that comes
 *   back and allocates meanwhile are safe). Blocks that still hold pods' addresses stay, and so
 *   do the routes to them: the pods may well be running while only the agent is down.
 * - Removing a node (`podnet node remove`, refused while it is alive unless forced) declares its
 *   pods gone: its record, liveness key and every block are deleted, and routes to it vanish on
 *   every node.
 */
import { isPodnetError, PodnetError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { Datastore } from '../datastore/types.js';
import { BLOCKS_PREFIX, parseBlockKey } from '../ipam/keys.js';
import { parseBlock } from '../ipam/block.js';
import { ALIVE_PREFIX, aliveKey, nodeKey } from '../model/node.js';
import { AgentErrors } from './errors.js';

interface BlockRow {
  readonly key: string;
  readonly revision: number;
  readonly cidr: string;
  readonly node: string;
  readonly used: number;
}

async function blocks(store: Datastore): Promise<BlockRow[]> {
  const out: BlockRow[] = [];
  for (const e of (await store.list(BLOCKS_PREFIX)).entries) {
    const id = parseBlockKey(e.key);
    if (!id) continue;
    const b = parseBlock(e.value, id);
    out.push({ key: e.key, revision: e.revision, cidr: id.cidr, node: b.node, used: b.allocations.size });
  }
  return out;
}

async function casDelete(store: Datastore, key: string, revision: number): Promise<boolean> {
  try {
    return await store.delete(key, revision);
  } catch (e) {
    if (isPodnetError(e, 'DATASTORE_CONFLICT')) return false; // changed meanwhile: leave it
    throw e;
  }
}

/** Deletes empty blocks whose owner is not alive. Returns the CIDRs reclaimed. */
export async function reclaimDeadNodesBlocks(store: Datastore): Promise<string[]> {
  const alive = new Set((await store.list(ALIVE_PREFIX)).entries.map((e) => e.key.slice(ALIVE_PREFIX.length)));
  const out: string[] = [];
  for (const b of await blocks(store)) {
    if (alive.has(b.node) || b.used > 0) continue;
    if (await casDelete(store, b.key, b.revision)) out.push(b.cidr);
  }
  return out;
}

export interface NodeRemoval {
  readonly node: string;
  readonly recordDeleted: boolean;
  readonly blocksDeleted: readonly string[];
  readonly addressesReleased: number;
}

/** Removes a node from the cluster. Refused while the node is alive unless force. */
export async function removeNode(store: Datastore, name: string, force: boolean): Promise<NodeRemoval> {
  if (!force && (await store.get(aliveKey(name)))) {
    throw new PodnetError(AgentErrors.AGENT_NODE_ALIVE, `node ${name} is alive (its agent renews its lease); stop it first or force the removal`);
  }
  const recordDeleted = await store.delete(nodeKey(name));
  await store.delete(aliveKey(name));
  const blocksDeleted: string[] = [];
  let addressesReleased = 0;
  for (const b of (await blocks(store)).filter((x) => x.node === name)) {
    if (await casDelete(store, b.key, b.revision)) {
      blocksDeleted.push(b.cidr);
      addressesReleased += b.used;
    }
  }
  return { node: name, recordDeleted, blocksDeleted, addressesReleased };
}

/** Runs the dead-node reclaimer every intervalMs (with jitter), logging what it returns. */
export function startReclaimer(store: Datastore, log: Logger, intervalMs = 60_000): () => void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const got = await reclaimDeadNodesBlocks(store);
      if (got.length) log.info('reclaimed empty blocks of dead nodes', { blocks: got });
    } catch (e) {
      log.warn('block reclaim failed; will retry', { error: String(e) });
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), intervalMs + Math.floor(Math.random() * intervalMs * 0.2));
  timer.unref();
  return () => clearInterval(timer);
}
