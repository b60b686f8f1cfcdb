/** Error codes of the Linux cluster dataplane (the ones the fake shares are in src/calc/errors.ts). */
import { CniCode, defineErrors } from '../../../common/errors.js';

export const LinuxClusterErrors = defineErrors({
  CLUSTER_NFT_FAILED: { cni: CniCode.Dataplane, doc: 'nft could not be run, or refused the NAT table transaction; the message has its output.' },
  CLUSTER_ETHTOOL_FAILED: { cni: CniCode.Dataplane, doc: 'The ethtool netlink family is missing or refused to read or change a VXLAN device offload feature.' },
});
