/**
 * Table models and diff operations as nft script text (for `nft -f -`, one transaction each).
 * Identifiers were checked when the model was built; element keys are rendered addresses and
 * numbers; verdicts are accept, drop or jump to a generated chain.
 */
import type { NftOp } from './diff.js';
import type { NftChain, NftModel, NftSet } from './model.js';
import { TABLE_REF } from './names.js';

const CHUNK = 500;

const elementText = (s: { readonly map: boolean }, k: string, v: string): string => (s.map ? `${k} : ${v}` : k);
const setKeyword = (map: boolean): string => (map ? 'map' : 'set');
const setType = (s: NftSet): string => `type ${s.type}${s.map ? ' : verdict' : ''};${s.interval ? ' flags interval;' : ''}`;

function chunks<T>(xs: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += CHUNK) out.push(xs.slice(i, i + CHUNK));
  return out;
}

function setBlock(s: NftSet): string {
  const lines = [`\t${setKeyword(s.map)} ${s.name} {`, `\t\ttype ${s.type}${s.map ? ' : verdict' : ''}`];
  if (s.interval) lines.push('\t\tflags interval');
  const elems = [...s.elements].map(([k, v]) => elementText(s, k, v));
  if (elems.length > 0) lines.push(`\t\telements = {\n\t\t\t${elems.join(',\n\t\t\t')}\n\t\t}`);
  lines.push('\t}');
  return lines.join('\n');
}

function chainBlock(c: NftChain): string {
  const lines = [`\tchain ${c.name} {`];
  if (c.hook) lines.push(`\t\t${c.hook}`);
  for (const r of c.rules) lines.push(`\t\t${r}`);
  lines.push('\t}');
  return lines.join('\n');
}

const ROLE_ORDER: Readonly<Record<NftChain['role'], number>> = { outcome: 0, profile: 1, base: 2 };

/** The whole table in one transaction, replacing whatever table of that name was there. */
export function fullScript(m: NftModel): string {
  const sets = [...m.sets.values()].map(setBlock);
  const chains = [...m.chains.values()].sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role]).map(chainBlock);
  return `add table ${TABLE_REF}\ndelete table ${TABLE_REF}\ntable ${TABLE_REF} {\n${[...sets, ...chains].join('\n')}\n}\n`;
}

function opLines(op: NftOp): string[] {
  switch (op.kind) {
    case 'declare-chain':
      return [`add chain ${TABLE_REF} ${op.name}${op.hook ? ` { ${op.hook} }` : ''}`];
    case 'add-set': {
      const s = op.set;
      const lines = [`add ${setKeyword(s.map)} ${TABLE_REF} ${s.name} { ${setType(s)} }`];
      for (const c of chunks([...s.elements])) lines.push(`add element ${TABLE_REF} ${s.name} { ${c.map(([k, v]) => elementText(s, k, v)).join(', ')} }`);
      return lines;
    }
    case 'set-rules':
      return [...(op.flush ? [`flush chain ${TABLE_REF} ${op.name}`] : []), ...op.rules.map((r) => `add rule ${TABLE_REF} ${op.name} ${r}`)];
    case 'delete-elements':
      return chunks(op.keys).map((c) => `delete element ${TABLE_REF} ${op.set} { ${c.join(', ')} }`);
    case 'add-elements':
      return chunks(op.elements).map((c) => `add element ${TABLE_REF} ${op.set} { ${c.map(([k, v]) => elementText(op, k, v)).join(', ')} }`);
    case 'delete-chain':
      return [`delete chain ${TABLE_REF} ${op.name}`];
    case 'delete-set':
      return [`delete ${setKeyword(op.map)} ${TABLE_REF} ${op.name}`];
  }
}

/** Operations as one script ("add table" first, a no-op when it exists); "" when there is nothing to do. */
export function opsScript(ops: readonly NftOp[]): string {
  const lines = ops.flatMap(opLines);
  return lines.length === 0 ? '' : `add table ${TABLE_REF}\n${lines.join('\n')}\n`;
}

/** Removes the table; succeeds when it is absent. */
export const deleteTableScript = (): string => `add table ${TABLE_REF}\ndelete table ${TABLE_REF}\n`;
