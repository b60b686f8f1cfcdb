/**
 * Label selector matching, as Kubernetes defines it: every matchLabels pair present and equal;
 * In: the key is present with one of the values; NotIn: the key is absent or has none of the
 * values; Exists / DoesNotExist: the key is present / absent. `{}` matches everything. Selectors
 * compile once (cached per selector object) to a closure; labels are read with Object.hasOwn.
 */
import type { LabelSelector, Labels } from '../model/k8s.js';

export type LabelMatcher = (labels: Labels) => boolean;

export const SELECT_ALL: LabelSelector = Object.freeze({ matchLabels: Object.freeze({}), matchExpressions: Object.freeze([]) });

const matchAll: LabelMatcher = () => true;
const cache = new WeakMap<LabelSelector, LabelMatcher>();

const get = (labels: Labels, key: string): string | undefined => (Object.hasOwn(labels, key) ? labels[key] : undefined);

export function isSelectAll(sel: LabelSelector): boolean {
  return Object.keys(sel.matchLabels).length === 0 && sel.matchExpressions.length === 0;
}

function build(sel: LabelSelector): LabelMatcher {
  if (isSelectAll(sel)) return matchAll;
  const tests: LabelMatcher[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels)) tests.push((l) => get(l, k) === v);
  for (const e of sel.matchExpressions) {
    const values = new Set(e.values);
    const key = e.key;
    switch (e.operator) {
      case 'In':
        tests.push((l) => {
          const v = get(l, key);
          return v !== undefined && values.has(v);
        });
        break;
      case 'NotIn':
        tests.push((l) => {
          const v = get(l, key);
          return v === undefined || !values.has(v);
        });
        break;
      case 'Exists':
        tests.push((l) => Object.hasOwn(l, key));
        break;
      case 'DoesNotExist':
        tests.push((l) => !Object.hasOwn(l, key));
        break;
    }
  }
  if (tests.length === 1) return tests[0] as LabelMatcher;
  return (l) => {
    for (const t of tests) if (!t(l)) return false;
    return true;
  };
}

/** The selector as a reusable predicate. */
export function compileSelector(sel: LabelSelector): LabelMatcher {
  let m = cache.get(sel);
  if (!m) {
    m = build(sel);
    cache.set(sel, m);
  }
  return m;
}

export function matchesSelector(sel: LabelSelector, labels: Labels): boolean {
  return compileSelector(sel)(labels);
}

const keys = new WeakMap<LabelSelector, string>();

/** Canonical text of a selector: equal for selectors that are written differently but mean the same. */
export function selectorKey(sel: LabelSelector): string {
  let k = keys.get(sel);
  if (k === undefined) {
    k = buildKey(sel);
    keys.set(sel, k);
  }
  return k;
}

function buildKey(sel: LabelSelector): string {
  const labels = Object.entries(sel.matchLabels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const exprs = sel.matchExpressions
    .map((e) => JSON.stringify([e.key, e.operator, [...new Set(e.values)].sort()]))
    .sort();
  return JSON.stringify([labels, [...new Set(exprs)]]);
}
