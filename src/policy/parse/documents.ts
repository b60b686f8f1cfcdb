/**
 * A file's text -> its documents: multi-document YAML (JSON is YAML too), empty documents
 * skipped, `kind: List` (and `<Kind>List`) expanded into its items. YAML 1.2 core schema, so `on`
 * and `yes` stay strings; duplicate keys are errors; aliases are bounded.
 */
import { parseAllDocuments } from 'yaml';
import { PolicyErrors } from '../errors.js';
import { absent, at, Issues, isObj, type Obj } from './context.js';

/** One object to parse, with where it came from. */
export interface SourceObject {
  readonly document: number;
  /** "" for a top-level document, "items[i]" inside a List. */
  readonly prefix: string;
  readonly value: Obj;
}

const isListKind = (kind: unknown): boolean => typeof kind === 'string' && kind.endsWith('List');

/** Expands one decoded document; problems go to ctx. */
export function expandDocument(value: unknown, document: number, ctx: Issues): SourceObject[] {
  if (!isObj(value)) {
    ctx.add(PolicyErrors.POLICY_BAD_DOCUMENT, '', 'a document must be an object with apiVersion and kind');
    return [];
  }
  if (!isListKind(value['kind'])) return [{ document, prefix: '', value }];
  const items = value['items'];
  if (absent(items)) return [];
  if (!Array.isArray(items)) {
    ctx.invalid('items', 'must be a list');
    return [];
  }
  const out: SourceObject[] = [];
  items.forEach((item, i) => {
    if (!isObj(item)) ctx.add(PolicyErrors.POLICY_BAD_DOCUMENT, at('items', i), 'must be an object with apiVersion and kind');
    else if (isListKind(item['kind'])) ctx.invalid(at(at('items', i), 'kind'), 'a List may not contain another List');
    else out.push({ document, prefix: at('items', i), value: item });
  });
  return out;
}

/** Splits text into objects; syntax errors are POLICY_BAD_DOCUMENT issues in ctxs (one per document). */
export function readDocuments(text: string): { objects: SourceObject[]; issues: Issues[] } {
  const objects: SourceObject[] = [];
  const issues: Issues[] = [];
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, i) => {
    const ctx = new Issues(i);
    issues.push(ctx);
    if (doc.errors.length > 0) {
      for (const e of doc.errors) ctx.add(PolicyErrors.POLICY_BAD_DOCUMENT, '', e.message.split('\n')[0] ?? e.message);
      return;
    }
    if (doc.contents === null) return;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      ctx.add(PolicyErrors.POLICY_BAD_DOCUMENT, '', e instanceof Error ? e.message : String(e));
      return;
    }
    if (value === null || value === undefined) return;
    objects.push(...expandDocument(value, i, ctx));
  });
  return { objects, issues };
}
