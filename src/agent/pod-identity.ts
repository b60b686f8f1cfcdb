/**
 * Who a CNI attachment is, for policy: the Kubernetes pod named by K8S_POD_NAMESPACE and
 * K8S_POD_NAME, with the labels the runtime passes as `args.cni.labels` (CNI conventions).
 *
 * Runtimes outside Kubernetes: podman passes its container name as K8S_POD_NAME and no namespace
 * (the pod is then default/<name>); ctr passes nothing, and a name Kubernetes would refuse
 * (capitals, '_') is not used: such a pod is named after its container ID in namespace
 * "default", so policies there still select it. Labels, being explicit configuration, must be
 * valid: a bad list fails the ADD (code 7) before anything is allocated.
 */
import { createHash } from 'node:crypto';
import type { CniRequest } from '../cni/types.js';
import { PodnetError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { dnsLabelProblem, dnsSubdomainProblem } from '../policy/parse/names.js';
import { ResourceErrors } from '../resources/errors.js';
import { type PodIdentity, podFromIdentity } from '../resources/store.js';

export const DEFAULT_NAMESPACE = 'default';

function labelsOf(req: CniRequest): Record<string, string> {
  const cni = req.conf.args?.['cni'];
  if (cni === undefined || cni === null) return {};
  const raw = typeof cni === 'object' && !Array.isArray(cni) ? (cni as Record<string, unknown>)['labels'] : cni;
  if (raw === undefined || raw === null) return {};
  const bad = (why: string): PodnetError => new PodnetError(ResourceErrors.RESOURCE_INVALID_LABELS, `args.cni.labels ${why}`);
  if (!Array.isArray(raw)) throw bad('must be a list of {"key": ..., "value": ...}');
  const out: Record<string, string> = {};
  raw.forEach((e: unknown, i) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw bad(`[${i}] is not an object`);
    const { key, value, ...rest } = e as Record<string, unknown>;
    if (typeof key !== 'string' || typeof value !== 'string') throw bad(`[${i}] needs string "key" and "value"`);
    if (Object.keys(rest).length > 0) throw bad(`[${i}] has unknown fields ${Object.keys(rest).join(', ')}`);
    if (key in out && out[key] !== value) throw bad(`[${i}] gives ${key} a second value`);
    out[key] = value;
  });
  return out;
}

/** A Kubernetes name for a container ID (lower case when valid, else a hash). */
export function nameForContainer(containerId: string): string {
  const lower = containerId.toLowerCase();
  if (!dnsSubdomainProblem(lower) && lower.length <= 63) return lower;
  return `c-${createHash('sha256').update(containerId).digest('hex').slice(0, 16)}`;
}

/** The attachment's pod identity; throws RESOURCE_INVALID_LABELS (7) for bad labels. */
export function podIdentity(req: CniRequest, log?: Logger): PodIdentity {
  const labels = labelsOf(req);
  // podman passes K8S_POD_NAME (the container name) without a namespace: "default" then.
  const ns = req.args.K8S_POD_NAMESPACE ?? DEFAULT_NAMESPACE;
  const name = req.args.K8S_POD_NAME;
  let id: PodIdentity = { namespace: DEFAULT_NAMESPACE, name: nameForContainer(req.containerId), labels };
  if (name !== undefined) {
    if (!dnsLabelProblem(ns) && !dnsSubdomainProblem(name)) id = { namespace: ns, name, labels };
    else log?.warn('K8S_POD_NAMESPACE/K8S_POD_NAME are not Kubernetes names; the pod is named after its container', { namespace: ns, pod: name, as: `${id.namespace}/${id.name}` });
  }
  podFromIdentity(id); // validates the labels (code 7) before anything is allocated
  return id;
}
