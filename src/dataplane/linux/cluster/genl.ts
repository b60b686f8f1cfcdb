/**
 * Generic netlink (NETLINK_GENERIC) on top of the rtnetlink socket and codec: the genlmsghdr and
 * resolving a family's id by name through the "nlctrl" controller.
 */
import { PodnetError } from '../../../common/errors.js';
import { type EncodedAttr, attrMap, attrString, getU16 } from '../netlink/codec.js';
import type { NetlinkSocket, NlRequest } from '../netlink/socket.js';
import { LinuxClusterErrors } from './errors.js';

export const NETLINK_GENERIC = 16;
export const GENL_HDRLEN = 4;
const GENL_ID_CTRL = 0x10;
const CTRL_CMD_GETFAMILY = 3;
const CTRL_ATTR_FAMILY_ID = 1;
const CTRL_ATTR_FAMILY_NAME = 2;

/** genlmsghdr (cmd, version, reserved) followed by the attributes. */
export function genlRequest(familyId: number, cmd: number, version: number, attrs: readonly EncodedAttr[], what: string): NlRequest {
  const head = Buffer.alloc(GENL_HDRLEN);
  head.writeUInt8(cmd, 0);
  head.writeUInt8(version, 1);
  return { type: familyId, flags: 0, payload: Buffer.concat([head, ...attrs]), what };
}

/** The id of a generic netlink family ("ethtool"); throws CLUSTER_ETHTOOL_FAILED when absent. */
export function resolveFamily(sock: NetlinkSocket, name: string): number {
  let msgs;
  try {
    // A doit answers with its reply message before the ACK; request() returns it.
    msgs = sock.request(genlRequest(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, [attrString(CTRL_ATTR_FAMILY_NAME, name)], `resolve genetlink family ${name}`));
  } catch (e) {
    throw new PodnetError(LinuxClusterErrors.CLUSTER_ETHTOOL_FAILED, `generic netlink family ${name} is not available: ${(e as Error).message}`, { cause: e });
  }
  for (const m of msgs) {
    if (m.type !== GENL_ID_CTRL || m.payload.length < GENL_HDRLEN) continue;
    const id = getU16(attrMap(m.payload, GENL_HDRLEN), CTRL_ATTR_FAMILY_ID);
    if (id !== undefined) return id;
  }
  throw new PodnetError(LinuxClusterErrors.CLUSTER_ETHTOOL_FAILED, `generic netlink family ${name}: no id in the controller's answer`);
}
