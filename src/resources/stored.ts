/**
 * The datastore value of a resource: the validated, normalised resource, and for a Pod the
 * attachment that made it (CNI ADD on a node). A Pod has two writers: `podnet apply` owns its
 * labels and ports, the CNI owns its addresses and node; each keeps the other's part.
 */
import { RESOURCE_KINDS, type Pod, type Resource } from '../model/k8s.js';

export interface PodAttachment {
  readonly node: string;
  readonly containerId: string;
  readonly ifname: string;
}

export interface StoredResource {
  readonly resource: Resource;
  /** Pods: the attachment that set ips and nodeName (absent for applied-only pods). */
  readonly attachment?: PodAttachment;
  /** Pods: labels and ports came from `podnet apply` (kept when the attachment goes). */
  readonly applied?: boolean;
}

export function encodeStored(s: StoredResource): string {
  return JSON.stringify(s);
}

/** Decodes a datastore value; throws on anything that is not a stored resource. */
export function decodeStored(text: string): StoredResource {
  const v = JSON.parse(text) as Partial<StoredResource> | null;
  const kind = v?.resource?.kind;
  if (!v || typeof v !== 'object' || !(RESOURCE_KINDS as readonly unknown[]).includes(kind)) throw new Error('not a stored resource');
  return v as StoredResource;
}

/** A pod as `podnet apply` would have it alone: the CNI's part removed. */
export function withoutStatus(p: Pod): Pod {
  const { nodeName: _n, ...rest } = p;
  return { ...rest, ips: [] };
}
