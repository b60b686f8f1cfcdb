/** The Linux cluster dataplane: routes, VXLAN devices, FDB/neighbours (rtnetlink) and egress NAT (nft). */
export { LinuxClusterDataplane, type LinuxClusterOptions, type ApplyTimings } from './cluster-dataplane.js';
export { LinuxClusterErrors } from './errors.js';
export { type TxChecksumMode, disablesTxChecksum } from './offload.js';
