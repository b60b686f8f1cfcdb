/** veth pairs: IFLA_INFO_DATA carries VETH_INFO_PEER = ifinfomsg + the peer's attributes. */
import { attr } from './codec.js';
import { VETH_INFO_PEER } from './constants.js';
import { type NewLinkBase, newLinkHeader, newLinkRequest } from './link.js';
import type { NlRequest } from './socket.js';

export interface VethSpec extends NewLinkBase {
  /** The other end; with netnsFd it is created directly inside that namespace, already named. */
  readonly peer: NewLinkBase;
}

/**
 * One RTM_NEWLINK creating both ends. With echo, the kernel (6.x) also sends back the new link's
 * RTM_NEWLINK (index, IFLA_LINK = peer index), sparing a lookup.
 */
export function createVethRequest(spec: VethSpec, echo = false): NlRequest {
  const where = spec.peer.netnsFd === undefined ? '' : ' (peer in pod namespace)';
  return newLinkRequest(spec, 'veth', [attr(VETH_INFO_PEER, newLinkHeader(spec.peer))], `create veth ${spec.name}/${spec.peer.name}${where}`, echo);
}
