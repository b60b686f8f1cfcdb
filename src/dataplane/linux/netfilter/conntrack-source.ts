/**
 * Reader-thread side of conntrack events: a NETLINK_NETFILTER socket subscribed to the ctnetlink
 * multicast groups asked for. The kernel numbers nothing here, so an overrun counts as one lost
 * event (a lower bound).
 */
import { isKernelError } from '../../errors.js';
import * as sys from '../sys.js';
import { FlowReaderError, NetfilterErrors } from './errors.js';
import { NETLINK_BROADCAST_ERROR, NFNLGRP_CONNTRACK_DESTROY, NFNLGRP_CONNTRACK_NEW, NFNLGRP_CONNTRACK_UPDATE } from './constants.js';
import { u32 } from '../netlink/codec.js';
import { SOL_NETLINK } from '../netlink/constants.js';
import { decodeConntrackDatagram } from './conntrack-codec.js';
import { joinGroup, openNfnlSocket, setReceiveBuffer } from './nfnl-socket.js';
import type { KernelSource } from './reader-loop.js';
import type { ConntrackSourceConfig } from './reader-protocol.js';
import type { ConntrackEvent, ConntrackEventType } from './types.js';

const GROUPS: Record<ConntrackEventType, number> = {
  new: NFNLGRP_CONNTRACK_NEW,
  update: NFNLGRP_CONNTRACK_UPDATE,
  destroy: NFNLGRP_CONNTRACK_DESTROY,
};

/** One event is well under 1 KiB and each is its own datagram; 64 KiB leaves room to spare. */
const BUFFER_BYTES = 64 * 1024;

export function openConntrackSource(cfg: ConntrackSourceConfig, rcvbufBytes: number, onFd: (fd: number) => void): KernelSource<ConntrackEvent> {
  const fd = openNfnlSocket(onFd);
  try {
    setReceiveBuffer(fd, rcvbufBytes);
    for (const ev of cfg.events) joinGroup(fd, GROUPS[ev]);
    // Reliable delivery (as conntrackd -r): an event this socket could not take (buffer full) is
    // reported back to conntrack, which keeps a dying entry and delivers its destroy event again.
    if (cfg.events.includes('destroy')) sys.setsockopt(fd, SOL_NETLINK, NETLINK_BROADCAST_ERROR, u32(1), 'NETLINK_BROADCAST_ERROR');
  } catch (e) {
    onFd(-1);
    sys.close(fd);
    if (isKernelError(e) && e.errno === 'EPERM') {
      throw new FlowReaderError(NetfilterErrors.NETFILTER_OPEN_FAILED, `subscribe to conntrack events: needs CAP_NET_ADMIN (EPERM)`, { fatal: true, errno: e.errno, cause: e });
    }
    throw e;
  }
  return {
    fd,
    bufferBytes: BUFFER_BYTES,
    early: [],
    decode: (buf, len, sink, now) => decodeConntrackDatagram(buf, len, sink, now),
    lostBySequence: () => 0,
    lostPerOverrun: 1,
    close: () => {
      onFd(-1);
      sys.close(fd);
    },
  };
}
