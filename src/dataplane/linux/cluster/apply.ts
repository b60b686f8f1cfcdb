/**
 * Carries out a ClusterDelta on one namespace's netlink socket, in dependency order:
 *
 *   1. stale routes out (before their devices, so none is left pointing nowhere);
 *   2. devices not desired, or to be made again, deleted (their FDB/neighbours/routes go too);
 *   3. devices created (down, offload off, then up: onlink routes need an up device);
 *   4. existing devices updated (MTU, up, offload);
 *   5. addresses; 6. FDB and neighbour entries set; 7. routes added or replaced (see
 *      mustDeleteFirst for the one IPv6 case that is delete-then-add);
 *   8. stale FDB and neighbour entries removed last (a peer moving is never unreachable between).
 *
 * Sets go out in batches (many requests per datagram); removals one by one, treating "already
 * gone" as done, since an entry can vanish between the read and the write.
 */
import { PodnetError } from '../../../common/errors.js';
import type { ClusterDelta, RouteReplacement } from '../../../calc/delta.js';
import { ClusterErrors } from '../../../calc/errors.js';
import { isKernelError } from '../../errors.js';
import { deleteLink, getLink, setLink } from '../netlink/link.js';
import type { NetlinkSocket, NlRequest } from '../netlink/socket.js';
import { TX_CHECKSUM_FEATURE, type Ethtool } from './ethtool.js';
import {
  type IndexOf,
  addAddrRequest,
  createDeviceRequest,
  putRouteRequest,
  removeAddrRequest,
  removeFdbRequest,
  removeNeighRequest,
  removeRouteRequest,
  setFdbRequest,
  setNeighRequest,
} from './requests.js';

export interface ApplyContext {
  readonly sock: NetlinkSocket;
  /** Link name -> index; devices created here are added. */
  readonly ifindex: Map<string, number>;
  /** Set when TX checksum offload is to be turned off on VXLAN devices. */
  readonly ethtool: Ethtool | undefined;
}

/** Requests per datagram: well inside the socket buffers, with ACKs of 36 bytes each. */
export const BATCH = 256;

const GONE = ['ENOENT', 'ESRCH', 'ENODEV', 'EADDRNOTAVAIL'];

function batched(sock: NetlinkSocket, reqs: readonly NlRequest[]): void {
  for (let i = 0; i < reqs.length; i += BATCH) sock.requestAll(reqs.slice(i, i + BATCH));
}

/** Sends removals one by one; what is already gone counts as removed. */
export function removeEach(sock: NetlinkSocket, reqs: readonly NlRequest[]): void {
  for (const r of reqs) {
    try {
      sock.request(r);
    } catch (e) {
      if (!GONE.some((errno) => isKernelError(e, errno))) throw e;
    }
  }
}

function indexOf(ifindex: ReadonlyMap<string, number>): IndexOf {
  return (dev) => {
    const i = ifindex.get(dev);
    if (i === undefined) throw new PodnetError(ClusterErrors.CLUSTER_UNDERLAY_NOT_FOUND, `device ${dev} does not exist`);
    return i;
  };
}

function disableTxChecksum(ctx: ApplyContext, index: number, dev: string): void {
  ctx.ethtool?.setFeature(index, dev, TX_CHECKSUM_FEATURE, false);
}

/**
 * IPv6 refuses an onlink next hop whose gateway resolves through a route on another device
 * ("Nexthop has invalid gateway or device mismatch"), and the route being replaced is usually that
 * route (host-gw to vxlan: the tunnel address lies in the block). Such a route is deleted just
 * before its successor is added; IPv4 and same-device changes are replaced in place.
 */
function mustDeleteFirst(x: RouteReplacement): boolean {
  if (x.to.family !== 6 || x.to.kind !== 'via' || x.from.kind === 'blackhole') return false;
  return x.from.kind === 'other' || x.from.dev !== x.to.dev;
}

export function applyDelta(ctx: ApplyContext, delta: ClusterDelta): void {
  const { sock } = ctx;
  const index = indexOf(ctx.ifindex);
  removeEach(sock, delta.removeRoutes.map(removeRouteRequest));
  for (const name of delta.deleteDevices) {
    deleteLink(sock, { name });
    ctx.ifindex.delete(name);
  }
  for (const d of delta.createDevices) {
    sock.request(createDeviceRequest(d, index));
    const link = getLink(sock, { name: d.name });
    if (!link) throw new PodnetError(ClusterErrors.CLUSTER_INVALID_DESIRED, `created ${d.name} but cannot find it`);
    ctx.ifindex.set(d.name, link.index);
    disableTxChecksum(ctx, link.index, d.name);
    setLink(sock, { index: link.index }, { up: true });
  }
  for (const u of delta.updateDevices) {
    const i = index(u.name);
    if (u.disableTxChecksum) disableTxChecksum(ctx, i, u.name);
    if (u.mtu !== undefined || u.up) setLink(sock, { index: i }, { ...(u.mtu === undefined ? {} : { mtu: u.mtu }), ...(u.up ? { up: true } : {}) });
  }
  removeEach(sock, delta.removeAddresses.map((a) => removeAddrRequest(a, index)));
  batched(sock, delta.addAddresses.map((a) => addAddrRequest(a, index)));
  batched(sock, [...delta.setFdb.map((e) => setFdbRequest(e, index)), ...delta.setNeigh.map((e) => setNeighRequest(e, index))]);
  removeEach(sock, delta.replaceRoutes.filter(mustDeleteFirst).map((x) => removeRouteRequest(x.from)));
  batched(sock, [...delta.addRoutes, ...delta.replaceRoutes.map((x) => x.to)].map((r) => putRouteRequest(r, index)));
  removeEach(sock, [...delta.removeFdb.map((e) => removeFdbRequest(e, index)), ...delta.removeNeigh.map((e) => removeNeighRequest(e, index))]);
}
