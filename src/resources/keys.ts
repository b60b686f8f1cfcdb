/**
 * Where resources live in the datastore: `/podnet/k8s/v1/<Kind>/<namespace>/<name>` for
 * namespaced kinds (Pod, NetworkPolicy), `/podnet/k8s/v1/<Kind>/<name>` for cluster-scoped ones
 * (Namespace, ClusterNetworkPolicy). Names are validated DNS names, so they never contain '/'.
 */
import { RESOURCE_KINDS, type Resource, type ResourceKind } from '../model/k8s.js';

export const RESOURCES_PREFIX = '/podnet/k8s/v1/';

export const NAMESPACED: Readonly<Record<ResourceKind, boolean>> = { Namespace: false, Pod: true, NetworkPolicy: true, ClusterNetworkPolicy: false };

export interface ResourceRef {
  readonly kind: ResourceKind;
  /** Namespaced kinds only. */
  readonly namespace?: string;
  readonly name: string;
}

export function refOf(r: Resource): ResourceRef {
  return r.kind === 'Pod' || r.kind === 'NetworkPolicy' ? { kind: r.kind, namespace: r.namespace, name: r.name } : { kind: r.kind, name: r.name };
}

export function keyOf(ref: ResourceRef): string {
  return NAMESPACED[ref.kind] ? `${RESOURCES_PREFIX}${ref.kind}/${ref.namespace ?? 'default'}/${ref.name}` : `${RESOURCES_PREFIX}${ref.kind}/${ref.name}`;
}

export const resourceKey = (r: Resource): string => keyOf(refOf(r));

/** The prefix of one kind (and namespace), for listing. */
export function kindPrefix(kind: ResourceKind, namespace?: string): string {
  return NAMESPACED[kind] && namespace !== undefined ? `${RESOURCES_PREFIX}${kind}/${namespace}/` : `${RESOURCES_PREFIX}${kind}/`;
}

export function parseKey(key: string): ResourceRef | undefined {
  if (!key.startsWith(RESOURCES_PREFIX)) return undefined;
  const parts = key.slice(RESOURCES_PREFIX.length).split('/');
  const kind = parts[0];
  if (!(RESOURCE_KINDS as readonly (string | undefined)[]).includes(kind)) return undefined;
  const k = kind as ResourceKind;
  if (NAMESPACED[k]) return parts.length === 3 && parts[1] && parts[2] ? { kind: k, namespace: parts[1], name: parts[2] } : undefined;
  return parts.length === 2 && parts[1] ? { kind: k, name: parts[1] } : undefined;
}

export const refText = (r: ResourceRef): string => (r.namespace !== undefined ? `${r.kind} ${r.namespace}/${r.name}` : `${r.kind} ${r.name}`);
