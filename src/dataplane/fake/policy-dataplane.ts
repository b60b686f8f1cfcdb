/**
 * An in-memory PolicyDataplane: it applies each transaction to the table it holds with the same
 * operation semantics nft has (src/policy/nft/diff.ts applyOps: adding what exists or removing
 * what does not fails), and checks the result equals the model the programmer expects, so a diff
 * bug fails the test that caused it. evaluateModel() on `table` answers what a packet would get.
 */
import { PodnetError } from '../../common/errors.js';
import { applyOps, type NftModel, type NftOp } from '../../policy/nft/render.js';
import type { PolicyDataplane } from '../../policy/program/port.js';
import { DataplaneErrors } from '../errors.js';

export class FakePolicyDataplane implements PolicyDataplane {
  table: NftModel | undefined;
  readonly calls: { kind: 'replace' | 'update' | 'remove'; ops: number }[] = [];
  /** The next n calls fail (as nft refusing a transaction would). */
  failNext = 0;

  async replace(model: NftModel): Promise<void> {
    this.gate('replace', 0);
    this.table = model;
  }

  async update(ops: readonly NftOp[], model: NftModel): Promise<void> {
    this.gate('update', ops.length);
    if (!this.table) throw new PodnetError(DataplaneErrors.DATAPLANE_POLICY_FAILED, 'update of a table that does not exist');
    const next = applyOps(this.table, ops);
    const diff = describeDifference(next, model);
    if (diff) throw new Error(`the operations do not produce the expected table: ${diff}`);
    this.table = next;
  }

  async intact(model: NftModel): Promise<boolean> {
    return this.table !== undefined && describeDifference(this.table, model) === undefined;
  }

  async remove(): Promise<void> {
    this.gate('remove', 0);
    this.table = undefined;
  }

  private gate(kind: 'replace' | 'update' | 'remove', ops: number): void {
    this.calls.push({ kind, ops });
    if (this.failNext > 0) {
      this.failNext--;
      throw new PodnetError(DataplaneErrors.DATAPLANE_INJECTED, `injected ${kind} failure`);
    }
  }
}

function describeDifference(a: NftModel, b: NftModel): string | undefined {
  for (const [name, s] of b.sets) {
    const o = a.sets.get(name);
    if (!o) return `set ${name} missing`;
    if (o.elements.size !== s.elements.size) return `set ${name} has ${o.elements.size} elements, expected ${s.elements.size}`;
    for (const [k, v] of s.elements) if (o.elements.get(k) !== v) return `set ${name} element ${k}`;
  }
  for (const name of a.sets.keys()) if (!b.sets.has(name)) return `set ${name} left over`;
  for (const [name, c] of b.chains) {
    const o = a.chains.get(name);
    if (!o) return `chain ${name} missing`;
    if (o.rules.join('\n') !== c.rules.join('\n')) return `chain ${name} rules differ`;
  }
  for (const name of a.chains.keys()) if (!b.chains.has(name)) return `chain ${name} left over`;
  return undefined;
}
