/**
 * The validation context of one document: collects issues (code, field path, reason) instead of
 * stopping at the first, and typed readers that record an issue and return undefined on a bad
 * value. null reads as absent everywhere, as Go's JSON decoding gives nil for null.
 */
import { PolicyErrors, type PolicyIssue, type PolicyIssueCode } from '../errors.js';

export type Obj = Readonly<Record<string, unknown>>;

export class Issues {
  readonly list: PolicyIssue[] = [];
  /** prefix: path of the object inside its document ("items[3]" inside a List). */
  constructor(
    readonly document: number,
    readonly prefix = '',
  ) {}

  add(code: PolicyIssueCode, path: string, reason: string): void {
    const full = this.prefix === '' ? path : path === '' ? this.prefix : `${this.prefix}.${path}`;
    this.list.push({ code, document: this.document, path: full, reason });
  }
  invalid(path: string, reason: string): void {
    this.add(PolicyErrors.POLICY_INVALID_FIELD, path, reason);
  }
  missing(path: string, reason = 'required field is missing'): void {
    this.add(PolicyErrors.POLICY_MISSING_FIELD, path, reason);
  }
}

export const at = (base: string, key: string | number): string =>
  typeof key === 'number' ? `${base}[${key}]` : base === '' ? key : `${base}.${key}`;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const absent = (v: unknown): v is undefined | null => v === undefined || v === null;

/** Short JSON of a value for reasons. */
export function show(v: unknown, max = 60): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max)}...` : s;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${show(v, 40)}`;
}

/** Records POLICY_UNKNOWN_FIELD for every key of obj not in allowed. */
export function checkFields(obj: Obj, allowed: readonly string[], path: string, ctx: Issues): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) ctx.add(PolicyErrors.POLICY_UNKNOWN_FIELD, at(path, k), `unknown field (expected one of ${allowed.join(', ')})`);
  }
}

export function optObj(v: unknown, path: string, ctx: Issues): Obj | undefined {
  if (absent(v)) return undefined;
  if (!isObj(v)) {
    ctx.invalid(path, `must be an object, got ${typeName(v)}`);
    return undefined;
  }
  return v;
}

export function optList(v: unknown, path: string, ctx: Issues): readonly unknown[] | undefined {
  if (absent(v)) return undefined;
  if (!Array.isArray(v)) {
    ctx.invalid(path, `must be a list, got ${typeName(v)}`);
    return undefined;
  }
  return v;
}

export function optString(v: unknown, path: string, ctx: Issues): string | undefined {
  if (absent(v)) return undefined;
  if (typeof v !== 'string') {
    ctx.invalid(path, `must be a string, got ${typeName(v)}`);
    return undefined;
  }
  return v;
}

export function reqString(v: unknown, path: string, ctx: Issues): string | undefined {
  if (absent(v) || v === '') {
    ctx.missing(path);
    return undefined;
  }
  return optString(v, path, ctx);
}

/** An integer in [min, max]; YAML/JSON numbers only (a quoted "80" is a string). */
export function optInt(v: unknown, path: string, ctx: Issues, min: number, max: number): number | undefined {
  if (absent(v)) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    ctx.invalid(path, `must be an integer, got ${typeName(v)}`);
    return undefined;
  }
  if (v < min || v > max) {
    ctx.invalid(path, `${v} is out of range ${min}-${max}`);
    return undefined;
  }
  return v;
}

/** A map of string to string (labels, matchLabels); keyProblem/valueProblem say what is wrong. */
export function optStringMap(
  v: unknown,
  path: string,
  ctx: Issues,
  keyProblem: (k: string) => string | undefined,
  valueProblem: (v: string) => string | undefined,
): Record<string, string> | undefined {
  const o = optObj(v, path, ctx);
  if (!o) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) {
    const p = at(path, k);
    const kp = keyProblem(k);
    if (kp) {
      ctx.invalid(p, `key ${show(k)}: ${kp}`);
      continue;
    }
    if (typeof val !== 'string') {
      ctx.invalid(p, `must be a string, got ${typeName(val)} (quote it)`);
      continue;
    }
    const vp = valueProblem(val);
    if (vp) ctx.invalid(p, `value ${show(val)}: ${vp}`);
    out[k] = val;
  }
  return out;
}
