/** Error codes of `podnet lab` (the namespace cluster used by the demo, tests and benchmarks). */
import { CniCode, defineErrors } from '../common/errors.js';

export const LabErrors = defineErrors({
  LAB_INVALID: { cni: CniCode.InvalidArgument, doc: 'A lab option is out of range (lab, node or pod name, node count, backend, subnets, etcd members).' },
  LAB_EXISTS: { cni: CniCode.Conflict, doc: 'A lab of that name (its directory or namespaces) already exists; `podnet lab down --name NAME` removes it.' },
  LAB_NOT_FOUND: { cni: CniCode.NotFound, doc: 'No running lab of that name: its state file is missing or unreadable.' },
  LAB_NO_SUCH_NODE: { cni: CniCode.NotFound, doc: 'The lab has no node of that name.' },
  LAB_NO_SUCH_POD: { cni: CniCode.NotFound, doc: 'The lab has no pod (or exec target) of that name.' },
  LAB_POD_EXISTS: { cni: CniCode.Conflict, doc: 'The lab already has a pod of that name (pod names are unique in a lab).' },
  LAB_AGENT_FAILED: { cni: CniCode.Internal, doc: "A lab node's agent exited or did not open its socket; the message names its log file." },
  LAB_NOT_SYNCED: { cni: CniCode.Timeout, doc: "The lab's agents did not all report the whole cluster in sync within the time limit." },
  LAB_ETCD_FAILED: { cni: CniCode.Datastore, doc: "A lab etcd member exited or did not become healthy; the message holds its log's tail." },
  LAB_PREREQUISITE: { cni: CniCode.Internal, doc: 'The lab needs root, /usr/bin/etcd and the built podnet (npm run build); the message names what is missing.' },
  LAB_CNI_FAILED: { cni: CniCode.Internal, doc: "A lab pod's CNI ADD failed; the message holds the plugin's CNI error." },
  LAB_LOCKED: { cni: CniCode.Timeout, doc: "Another `podnet lab` command held the lab's state lock for too long." },
  LAB_TEARDOWN_INCOMPLETE: { cni: CniCode.Internal, doc: 'Lab teardown left processes or namespaces behind; the message lists them.' },
});
