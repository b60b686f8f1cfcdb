/**
 * The smallest change from one table model to the next, as ordered operations that make one
 * atomic nft transaction: new chains are declared, new sets and maps are added with their
 * elements, new and changed chains get their rules (a changed chain is flushed and refilled
 * inside the same transaction), elements of kept sets change one by one, and only then are
 * unused profile chains, sets and outcome chains deleted, in the order their references allow.
 * Nothing is ever flushed table-wide: every packet sees either the old or the new policy.
 */
import type { NftChain, NftModel, NftSet } from './model.js';

export type NftOp =
  | { readonly kind: 'declare-chain'; readonly name: string; readonly hook?: string }
  | { readonly kind: 'add-set'; readonly set: NftSet }
  | { readonly kind: 'set-rules'; readonly name: string; readonly rules: readonly string[]; readonly flush: boolean }
  | { readonly kind: 'delete-elements'; readonly set: string; readonly map: boolean; readonly keys: readonly string[] }
  | { readonly kind: 'add-elements'; readonly set: string; readonly map: boolean; readonly elements: readonly (readonly [string, string])[] }
  | { readonly kind: 'delete-chain'; readonly name: string }
  | { readonly kind: 'delete-set'; readonly name: string; readonly map: boolean };

const sameRules = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((r, i) => r === b[i]);

function checkCompatible(a: NftSet, b: NftSet): void {
  if (a.map !== b.map || a.type !== b.type || a.interval !== b.interval) throw new Error(`set ${a.name} changed its type; a full reload is needed`);
}

export function diffModels(from: NftModel, to: NftModel): NftOp[] {
  const ops: NftOp[] = [];
  const newChains = [...to.chains.values()].filter((c) => !from.chains.has(c.name));
  for (const c of newChains) ops.push({ kind: 'declare-chain', name: c.name, ...(c.hook ? { hook: c.hook } : {}) });
  for (const s of to.sets.values()) if (!from.sets.has(s.name)) ops.push({ kind: 'add-set', set: s });
  for (const c of newChains) ops.push({ kind: 'set-rules', name: c.name, rules: c.rules, flush: false });
  for (const c of to.chains.values()) {
    const old = from.chains.get(c.name);
    if (!old) continue;
    if (old.hook !== c.hook) throw new Error(`chain ${c.name} changed its hook; a full reload is needed`);
    if (!sameRules(old.rules, c.rules)) ops.push({ kind: 'set-rules', name: c.name, rules: c.rules, flush: true });
  }
  for (const s of to.sets.values()) {
    const old = from.sets.get(s.name);
    if (!old || old === s) continue;
    checkCompatible(old, s);
    const del: string[] = [];
    const add: [string, string][] = [];
    for (const [k, v] of old.elements) {
      const nv = s.elements.get(k);
      if (nv === undefined || nv !== v) del.push(k);
    }
    for (const [k, v] of s.elements) if (old.elements.get(k) !== v) add.push([k, v]);
    if (del.length > 0) ops.push({ kind: 'delete-elements', set: s.name, map: s.map, keys: del });
    if (add.length > 0) ops.push({ kind: 'add-elements', set: s.name, map: s.map, elements: add });
  }
  const gone = (role: NftChain['role']): NftChain[] => [...from.chains.values()].filter((c) => c.role === role && !to.chains.has(c.name));
  for (const c of [...gone('base'), ...gone('profile')]) ops.push({ kind: 'delete-chain', name: c.name });
  for (const s of from.sets.values()) if (!to.sets.has(s.name)) ops.push({ kind: 'delete-set', name: s.name, map: s.map });
  for (const c of gone('outcome')) ops.push({ kind: 'delete-chain', name: c.name });
  return ops;
}

/** Applies operations to a model (what nft does to the table); for tests and fakes. */
export function applyOps(model: NftModel, ops: readonly NftOp[]): NftModel {
  const sets = new Map(model.sets);
  const chains = new Map<string, NftChain>(model.chains);
  const declared = new Map<string, string | undefined>();
  for (const op of ops) {
    switch (op.kind) {
      case 'declare-chain':
        if (chains.has(op.name)) throw new Error(`chain ${op.name} exists`);
        declared.set(op.name, op.hook);
        break;
      case 'add-set':
        if (sets.has(op.set.name)) throw new Error(`set ${op.set.name} exists`);
        sets.set(op.set.name, op.set);
        break;
      case 'set-rules': {
        const old = chains.get(op.name);
        if (!old && !declared.has(op.name)) throw new Error(`chain ${op.name} does not exist`);
        if (old && !op.flush) throw new Error(`rules added to non-empty chain ${op.name} without a flush`);
        const hook = old?.hook ?? declared.get(op.name);
        const role = old?.role ?? (hook ? 'base' : op.name.startsWith('o_') ? 'outcome' : 'profile');
        chains.set(op.name, { name: op.name, role, ...(hook ? { hook } : {}), rules: op.rules });
        break;
      }
      case 'delete-elements': {
        const s = sets.get(op.set);
        if (!s) throw new Error(`set ${op.set} does not exist`);
        const e = new Map(s.elements);
        for (const k of op.keys) if (!e.delete(k)) throw new Error(`element ${k} not in ${op.set}`);
        sets.set(op.set, { ...s, elements: e });
        break;
      }
      case 'add-elements': {
        const s = sets.get(op.set);
        if (!s) throw new Error(`set ${op.set} does not exist`);
        const e = new Map(s.elements);
        for (const [k, v] of op.elements) {
          if (e.has(k)) throw new Error(`element ${k} already in ${op.set}`);
          e.set(k, v);
        }
        sets.set(op.set, { ...s, elements: e });
        break;
      }
      case 'delete-chain':
        if (!chains.delete(op.name)) throw new Error(`chain ${op.name} does not exist`);
        break;
      case 'delete-set':
        if (!sets.delete(op.name)) throw new Error(`set ${op.name} does not exist`);
        break;
    }
  }
  for (const name of declared.keys()) if (!chains.has(name)) chains.set(name, { name, role: 'profile', rules: [] });
  return { sets, chains };
}
