/** v1 Namespace: its name and labels; Kubernetes' kubernetes.io/metadata.name label is set as the API server does. */
import { NAMESPACE_NAME_LABEL, type Namespace } from '../../model/k8s.js';
import type { Issues, Obj } from './context.js';
import { parseMeta } from './meta.js';

export function parseNamespace(doc: Obj, ctx: Issues): Namespace | undefined {
  const meta = parseMeta(doc['metadata'], ctx, { namespaced: false, nameRule: 'label' });
  if (!meta) return undefined;
  return { kind: 'Namespace', name: meta.name, labels: { ...meta.labels, [NAMESPACE_NAME_LABEL]: meta.name } };
}
