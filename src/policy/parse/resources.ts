/**
 * Parses and validates resources, all or nothing: every issue of every document is collected,
 * and a file with one bad object yields no resources at all (`podnet apply` applies nothing).
 */
import { API_VERSIONS, RESOURCE_KINDS, resourceName, type Resource, type ResourceKind } from '../../model/k8s.js';
import { PolicyErrors, type PolicyIssue, PolicyValidationError } from '../errors.js';
import { Issues, type Obj, show } from './context.js';
import { expandDocument, readDocuments, type SourceObject } from './documents.js';
import { parseClusterNetworkPolicy } from './cluster-policy.js';
import { parseNamespace } from './namespace.js';
import { parseNetworkPolicy } from './network-policy.js';
import { parsePod } from './pod.js';

export type ParseResult = { readonly ok: true; readonly resources: readonly Resource[] } | { readonly ok: false; readonly issues: readonly PolicyIssue[] };

const PARSERS: Readonly<Record<ResourceKind, (doc: Obj, ctx: Issues) => Resource | undefined>> = {
  Namespace: parseNamespace,
  Pod: parsePod,
  NetworkPolicy: parseNetworkPolicy,
  ClusterNetworkPolicy: parseClusterNetworkPolicy,
};

const isKind = (k: unknown): k is ResourceKind => typeof k === 'string' && (RESOURCE_KINDS as readonly string[]).includes(k);

function parseObject(src: SourceObject, ctx: Issues): Resource | undefined {
  const { value } = src;
  const kind = value['kind'];
  const apiVersion = value['apiVersion'];
  if (kind === undefined || kind === null || kind === '') {
    ctx.add(PolicyErrors.POLICY_MISSING_FIELD, 'kind', 'required field is missing');
    return undefined;
  }
  if (!isKind(kind)) {
    ctx.add(PolicyErrors.POLICY_UNKNOWN_KIND, 'kind', `${show(kind)} is not supported (${RESOURCE_KINDS.join(', ')})`);
    return undefined;
  }
  if (apiVersion !== API_VERSIONS[kind]) {
    const what = apiVersion === undefined || apiVersion === null ? 'is missing' : `${show(apiVersion)} is not supported`;
    ctx.add(PolicyErrors.POLICY_UNKNOWN_KIND, 'apiVersion', `${what}: ${kind} is ${API_VERSIONS[kind]}`);
    return undefined;
  }
  return PARSERS[kind](value, ctx);
}

function finish(sources: readonly SourceObject[], ctxs: Issues[]): ParseResult {
  const resources: Resource[] = [];
  const seen = new Map<string, SourceObject>();
  for (const src of sources) {
    const ctx = new Issues(src.document, src.prefix);
    ctxs.push(ctx);
    const r = parseObject(src, ctx);
    if (!r) continue;
    const key = `${r.kind} ${resourceName(r)}`;
    const first = seen.get(key);
    if (first) ctx.add(PolicyErrors.POLICY_DUPLICATE, 'metadata.name', `${key} also appears in document ${first.document + 1}${first.prefix ? ` at ${first.prefix}` : ''}`);
    else seen.set(key, src);
    resources.push(r);
  }
  const issues = ctxs.flatMap((c) => c.list).sort((a, b) => a.document - b.document);
  return issues.length > 0 ? { ok: false, issues } : { ok: true, resources };
}

/** Parses a file's text (YAML or JSON, many documents, Lists). */
export function parseResourcesText(text: string): ParseResult {
  const { objects, issues } = readDocuments(text);
  return finish(objects, issues);
}

/** Parses already decoded objects (each may be a List), e.g. from an API request. */
export function parseResourceObjects(values: readonly unknown[]): ParseResult {
  const ctxs: Issues[] = [];
  const objects = values.flatMap((v, i) => {
    const ctx = new Issues(i);
    ctxs.push(ctx);
    return expandDocument(v, i, ctx);
  });
  return finish(objects, ctxs);
}

/** parseResourcesText, throwing PolicyValidationError (every issue, the first one's code) when anything is wrong. */
export function parseResources(text: string): readonly Resource[] {
  const r = parseResourcesText(text);
  if (!r.ok) throw new PolicyValidationError(r.issues);
  return r.resources;
}
