/** Error codes of the resource store (what `podnet apply`, `delete` and the CNI write). */
import { CniCode, defineErrors } from '../common/errors.js';

export const ResourceErrors = defineErrors({
  RESOURCE_CONFLICT: {
    cni: CniCode.TryAgainLater,
    doc: 'A resource kept changing under a write (compare-and-swap lost repeatedly); retry.',
  },
  RESOURCE_INVALID_POD_ARGS: {
    cni: CniCode.InvalidEnv,
    doc: 'K8S_POD_NAMESPACE or K8S_POD_NAME in CNI_ARGS is not a valid Kubernetes namespace or pod name.',
  },
  RESOURCE_INVALID_LABELS: {
    cni: CniCode.InvalidConfig,
    doc: 'args.cni.labels in the network configuration is not a list of {key, value} with valid Kubernetes label keys and values.',
  },
  RESOURCE_UNKNOWN_KIND: { cni: CniCode.InvalidArgument, doc: '`podnet get` was asked for a kind podnet does not store.' },
});
