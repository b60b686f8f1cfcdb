/**
 * The nftables backend of network policy: a compiled node -> the `inet podnet-policy` table as
 * one script, and the incremental script from one compiled state to the next. See model.ts for
 * the table's shape and diff.ts for the transaction's order.
 */
import type { CompiledNode } from '../compile/types.js';
import { diffModels, type NftOp } from './diff.js';
import { buildModel, type NftModel, type RenderOptions } from './model.js';
import { fullScript, opsScript } from './script.js';

export type { NftModel, NftSet, NftChain, RenderOptions } from './model.js';
export type { NftOp } from './diff.js';
export { applyOps, diffModels } from './diff.js';
export { buildModel, endpointVerdict } from './model.js';
export { deleteTableScript, fullScript, opsScript } from './script.js';
export { POLICY_FAMILY, POLICY_TABLE } from './names.js';

export interface RenderedPolicy {
  readonly model: NftModel;
  /** Replaces the table atomically (`nft -f -`). */
  readonly script: string;
}

/** The whole table for a compiled node. */
export function renderNode(node: CompiledNode, opts: RenderOptions = {}): RenderedPolicy {
  const model = buildModel(node, opts);
  return { model, script: fullScript(model) };
}

export interface RenderedUpdate {
  readonly model: NftModel;
  readonly ops: readonly NftOp[];
  /** One transaction from the previous model to this one; "" when nothing changes. */
  readonly script: string;
}

/** The update from a previously rendered model to a compiled node's table. */
export function renderUpdate(previous: NftModel, node: CompiledNode, opts: RenderOptions = {}): RenderedUpdate {
  const model = buildModel(node, opts);
  const ops = diffModels(previous, model);
  return { model, ops, script: opsScript(ops) };
}
