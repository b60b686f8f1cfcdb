/**
 * LabelSelector validation as Kubernetes does it (ValidateLabelSelector): matchLabels keys are
 * qualified names and values label values; matchExpressions use In/NotIn (values required) or
 * Exists/DoesNotExist (values forbidden), every value a label value.
 */
import { SELECTOR_OPERATORS, type LabelSelector, type LabelSelectorRequirement, type SelectorOperator } from '../../model/k8s.js';
import { at, checkFields, type Issues, optList, optObj, optString, optStringMap, reqString, show } from './context.js';
import { labelKeyProblem, labelValueProblem } from './names.js';

const isOperator = (s: string): s is SelectorOperator => (SELECTOR_OPERATORS as readonly string[]).includes(s);

function parseRequirement(v: unknown, path: string, ctx: Issues): LabelSelectorRequirement | undefined {
  const o = optObj(v, path, ctx);
  if (!o) {
    if (v === undefined || v === null) ctx.invalid(path, 'must be an object with key and operator');
    return undefined;
  }
  checkFields(o, ['key', 'operator', 'values'], path, ctx);
  const key = reqString(o['key'], at(path, 'key'), ctx);
  if (key !== undefined) {
    const p = labelKeyProblem(key);
    if (p) ctx.invalid(at(path, 'key'), `${show(key)}: ${p}`);
  }
  const op = reqString(o['operator'], at(path, 'operator'), ctx);
  const listed = optList(o['values'], at(path, 'values'), ctx);
  const badValues = listed === undefined && o['values'] !== undefined && o['values'] !== null;
  const rawValues = listed ?? [];
  const values: string[] = [];
  rawValues.forEach((x, i) => {
    const s = optString(x, at(at(path, 'values'), i), ctx);
    if (s === undefined) {
      if (x === null || x === undefined) ctx.invalid(at(at(path, 'values'), i), 'must be a string');
      return;
    }
    const p = labelValueProblem(s);
    if (p) ctx.invalid(at(at(path, 'values'), i), `${show(s)}: ${p}`);
    values.push(s);
  });
  if (op === undefined) return undefined;
  if (!isOperator(op)) {
    ctx.invalid(at(path, 'operator'), `${show(op)} is not a valid selector operator (In, NotIn, Exists, DoesNotExist)`);
    return undefined;
  }
  if ((op === 'In' || op === 'NotIn') && rawValues.length === 0 && !badValues) ctx.invalid(at(path, 'values'), `must be specified when operator is ${op}`);
  if ((op === 'Exists' || op === 'DoesNotExist') && rawValues.length > 0) ctx.invalid(at(path, 'values'), `may not be specified when operator is ${op}`);
  if (key === undefined) return undefined;
  return { key, operator: op, values: [...new Set(values)].sort() };
}

/** A selector, or undefined when absent (null counts as absent) or invalid. */
export function parseSelector(v: unknown, path: string, ctx: Issues): LabelSelector | undefined {
  const o = optObj(v, path, ctx);
  if (!o) return undefined;
  checkFields(o, ['matchLabels', 'matchExpressions'], path, ctx);
  const matchLabels = optStringMap(o['matchLabels'], at(path, 'matchLabels'), ctx, labelKeyProblem, labelValueProblem) ?? {};
  const exprs = optList(o['matchExpressions'], at(path, 'matchExpressions'), ctx) ?? [];
  const matchExpressions: LabelSelectorRequirement[] = [];
  exprs.forEach((e, i) => {
    const r = parseRequirement(e, at(at(path, 'matchExpressions'), i), ctx);
    if (r) matchExpressions.push(r);
  });
  return { matchLabels, matchExpressions };
}
