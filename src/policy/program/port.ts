/**
 * The kernel side of policy enforcement, as narrow as the programmer needs: replace the whole
 * table atomically (start-up, repair), or apply one incremental transaction. Implementations:
 * nftables in the agent's network namespace (src/dataplane/linux/policy), and an in-memory fake
 * that applies the operations to a model (src/dataplane/fake/policy-dataplane.ts).
 */
import type { NftModel, NftOp } from '../nft/render.js';

export interface PolicyDataplane {
  /** Replaces the table with `model` in one transaction (no window without policy). */
  replace(model: NftModel): Promise<void>;
  /** Applies `ops` (one transaction) to the table last programmed; `model` is the result. */
  update(ops: readonly NftOp[], model: NftModel): Promise<void>;
  /** Removes the table (policy switched off). */
  remove(): Promise<void>;
  /**
   * Whether the kernel still has the table as programmed, checked cheaply (the table and its
   * interface maps); false makes the programmer replace it (someone deleted or flushed it).
   */
  intact(model: NftModel): Promise<boolean>;
}
