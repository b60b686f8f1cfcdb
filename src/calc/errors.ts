/**
 * Error codes of the cluster calculation and of every ClusterDataplane (Linux and fake), so that
 * both adapters refuse the same input with the same code.
 */
import { CniCode, defineErrors } from '../common/errors.js';

export const ClusterErrors = defineErrors({
  CLUSTER_INVALID_DESIRED: {
    cni: CniCode.InvalidArgument,
    doc: 'A desired cluster dataplane state is malformed (a bad CIDR, address, MAC, device name, VNI, port or MTU, or a duplicate route).',
  },
  CLUSTER_INVALID_OPTIONS: { cni: CniCode.InvalidArgument, doc: 'The options of the cluster calculation or dataplane are out of range.' },
  CLUSTER_UNKNOWN_BACKEND: { cni: CniCode.InvalidConfig, doc: "The node's backend is not one of host-gw, vxlan or cross-subnet." },
  CLUSTER_UNDERLAY_NOT_FOUND: {
    cni: CniCode.Dataplane,
    doc: 'The underlay device named by the desired cluster state (route device or VXLAN lower device) does not exist on the node.',
  },
});
