/**
 * Cumulative apply/delete of the conformance steps, in memory, with the agent's datastore
 * semantics (src/resources/store.ts): objects are keyed by (kind, namespace, name); applying a key
 * that exists replaces the object, except that a Pod keeps the node and addresses it already had
 * when the applied one has none; deleting a Pod its CNI still runs only clears what was applied
 * (labels, ports). Plus what the lab needs to undo a case (caseCleanup).
 */
import { resourceName, type Pod, type Resource } from '../../model/k8s.js';
import { CommonErrors, PodnetError } from '../../common/errors.js';
import { formatIssue } from '../errors.js';
import { parseResourcesText } from '../parse/resources.js';
import type { Case } from './cases.js';

export const keyOf = (r: Resource): string => `${r.kind} ${resourceName(r)}`;

function parse(text: string): readonly Resource[] {
  const p = parseResourcesText(text);
  if (!p.ok) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `invalid conformance YAML: ${p.issues.map(formatIssue).join('; ')}`);
  return p.resources;
}

interface Entry {
  readonly resource: Resource;
  /** A pod the CNI runs (it came with addresses). */
  readonly attached: boolean;
}

export class ResourceSet {
  private readonly m = new Map<string, Entry>();

  /** `attached`: pods as the CNI created them (node and addresses set). */
  constructor(attached: readonly Resource[] = []) {
    for (const r of attached) this.m.set(keyOf(r), { resource: r, attached: r.kind === 'Pod' });
  }

  apply(text: string): void {
    for (const r of parse(text)) {
      const k = keyOf(r);
      const cur = this.m.get(k);
      if (r.kind === 'Pod' && cur?.attached && cur.resource.kind === 'Pod') {
        const was: Pod = cur.resource;
        const pod: Pod = { ...r, ...(r.nodeName === undefined && was.nodeName !== undefined ? { nodeName: was.nodeName } : {}), ips: r.ips.length > 0 ? r.ips : was.ips };
        this.m.set(k, { resource: pod, attached: true });
      } else this.m.set(k, { resource: r, attached: false });
    }
  }

  delete(text: string): void {
    for (const r of parse(text)) {
      const k = keyOf(r);
      const cur = this.m.get(k);
      if (cur?.attached && cur.resource.kind === 'Pod') this.m.set(k, { resource: { ...cur.resource, labels: {}, ports: [] }, attached: true });
      else this.m.delete(k);
    }
  }

  list(): Resource[] {
    return [...this.m.values()].map((e) => e.resource);
  }
}

/** Splits multi-document YAML (as objects.ts `docs` joins it). */
export const splitDocs = (text: string): string[] => text.split(/^---[ \t]*$/m).map((d) => d.trim()).filter((d) => d !== '');

export interface Cleanup {
  /** Policies the case leaves behind (YAML, for a delete). */
  readonly delete: string;
  /** Namespaces and Pods the case changed, as the baseline has them (YAML, for an apply). */
  readonly restore: string;
}

/**
 * What undoes a case on a live cluster whose baseline objects are `baseline` (YAML of the model's
 * Namespaces and Pods): delete every policy it created, re-apply every Namespace and Pod it touched.
 * `resolve` substitutes the address tokens (cases.ts resolveAddresses); the result is resolved.
 */
export function caseCleanup(c: Case, baseline: string, resolve: (text: string) => string): Cleanup {
  const base = new Map<string, string>();
  for (const d of splitDocs(baseline)) for (const r of parse(d)) base.set(keyOf(r), d);
  const policies = new Map<string, string>();
  const touched = new Set<string>();
  for (const step of c.steps) {
    for (const d of splitDocs(resolve(step.delete ?? ''))) for (const r of parse(d)) policies.delete(keyOf(r));
    for (const d of splitDocs(resolve(step.apply ?? ''))) {
      for (const r of parse(d)) {
        if (r.kind === 'NetworkPolicy' || r.kind === 'ClusterNetworkPolicy') policies.set(keyOf(r), d);
        else touched.add(keyOf(r));
      }
    }
  }
  const restore = [...touched].map((k) => {
    const d = base.get(k);
    if (d === undefined) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `case ${c.name}: ${k} is not part of the baseline`);
    return d;
  });
  return { delete: [...policies.values()].join('\n---\n'), restore: restore.join('\n---\n') };
}
