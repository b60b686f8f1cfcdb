/** metadata: name, namespace (namespaced kinds, default "default") and labels. Other metadata fields are ignored. */
import type { Labels } from '../../model/k8s.js';
import { absent, at, type Issues, optObj, optStringMap, reqString, show } from './context.js';
import { dnsLabelProblem, dnsSubdomainProblem, labelKeyProblem, labelValueProblem } from './names.js';

export interface Meta {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Labels;
}

export interface MetaRules {
  /** Namespaced kinds take metadata.namespace (default "default"); cluster-scoped ones refuse it. */
  readonly namespaced: boolean;
  /** How the name is checked: Namespace names are DNS labels, other objects DNS subdomains. */
  readonly nameRule: 'label' | 'subdomain';
}

export function parseMeta(v: unknown, ctx: Issues, rules: MetaRules): Meta | undefined {
  const path = 'metadata';
  if (absent(v)) {
    ctx.missing(path);
    return undefined;
  }
  const o = optObj(v, path, ctx);
  if (!o) return undefined;
  const name = reqString(o['name'], at(path, 'name'), ctx);
  if (name !== undefined) {
    const p = rules.nameRule === 'label' ? dnsLabelProblem(name) : dnsSubdomainProblem(name);
    if (p) ctx.invalid(at(path, 'name'), `${show(name)}: ${p}`);
  }
  let namespace = 'default';
  if (!absent(o['namespace'])) {
    if (!rules.namespaced) ctx.invalid(at(path, 'namespace'), 'must not be set: this kind is cluster-scoped');
    else {
      const ns = reqString(o['namespace'], at(path, 'namespace'), ctx);
      if (ns !== undefined) {
        const p = dnsLabelProblem(ns);
        if (p) ctx.invalid(at(path, 'namespace'), `${show(ns)}: ${p}`);
        namespace = ns;
      }
    }
  }
  const labels = optStringMap(o['labels'], at(path, 'labels'), ctx, labelKeyProblem, labelValueProblem) ?? {};
  if (name === undefined) return undefined;
  return { name, namespace, labels };
}
