/**
 * Reader-thread side of NFLOG: binds one group in the thread's namespace (NFULNL_CFG_CMD_BIND
 * with copy mode, kernel batching and per-instance sequence numbers in the same request) and
 * unbinds it on close. Sequence gaps give the exact number of messages lost.
 *
 * No PF_BIND: nft's `log group N` reaches nfnetlink_log directly. PF_BIND/PF_UNBIND would change
 * the namespace-wide default logger of a family (what `log` without a group and conntrack's
 * invalid-packet logging use), which is not ours to change.
 */
import { isKernelError } from '../../errors.js';
import * as sys from '../sys.js';
import { NFULNL_CFG_CMD_BIND, NFULNL_CFG_CMD_UNBIND, NFULNL_CFG_F_SEQ, NFULNL_COPY_META, NFULNL_COPY_PACKET } from './constants.js';
import type { DecodeSink } from './conntrack-codec.js';
import { FlowReaderError, NetfilterErrors } from './errors.js';
import { IfNameCache, rtnetlinkNameLookup } from './ifnames.js';
import { SeqGapCounter, decodeNflogDatagram, nflogConfigRequest, type IfNameResolver } from './nflog-codec.js';
import { hasNetAdmin, openNfnlSocket, requestAck, setReceiveBuffer } from './nfnl-socket.js';
import type { KernelSource } from './reader-loop.js';
import type { NflogSourceConfig } from './reader-protocol.js';
import type { NflogPacket } from './types.js';

/** Kernel batch size per datagram (nfulnl_set_nlbufsiz accepts up to 128 KiB). */
const NLBUFSIZ = 64 * 1024;
const CONFIG_TIMEOUT_MS = 2000;

export function openNflogSource(cfg: NflogSourceConfig, rcvbufBytes: number, onFd: (fd: number) => void): KernelSource<NflogPacket> {
  const fd = openNfnlSocket(onFd);
  const bufferBytes = NLBUFSIZ + cfg.copyRange + 4096; // one message may exceed nlbufsiz by itself
  const buf = Buffer.allocUnsafe(bufferBytes);
  const gaps = new SeqGapCounter();
  const early: NflogPacket[] = [];
  let names: { lookup: (i: number) => string | undefined; close: () => void } | undefined;
  let seq = 1;
  let resolver: IfNameResolver | undefined;
  const sinkFor = (target: DecodeSink<NflogPacket>): DecodeSink<NflogPacket> => ({
    record: (r) => {
      gaps.see(r.seq);
      target.record(r);
    },
    error: (e) => target.error(e),
  });
  let wrapped: [DecodeSink<NflogPacket>, DecodeSink<NflogPacket>] | undefined;
  const earlySink = sinkFor({ record: (r) => early.push(r), error: () => undefined });
  try {
    setReceiveBuffer(fd, rcvbufBytes);
    if (cfg.resolveNames) {
      names = rtnetlinkNameLookup();
      const cache = new IfNameCache(names.lookup);
      resolver = (i) => cache.get(i);
    }
    const bind = nflogConfigRequest(
      {
        group: cfg.group,
        command: NFULNL_CFG_CMD_BIND,
        copyMode: cfg.copyRange > 0 ? NFULNL_COPY_PACKET : NFULNL_COPY_META,
        copyRange: cfg.copyRange,
        nlbufsiz: NLBUFSIZ,
        timeoutCs: cfg.timeoutCs,
        qthresh: cfg.qthresh,
        flags: NFULNL_CFG_F_SEQ,
      },
      seq,
    );
    try {
      requestAck(fd, bind, seq, buf, CONFIG_TIMEOUT_MS, `bind NFLOG group ${cfg.group}`, (b, n) => decodeNflogDatagram(b, n, earlySink, Date.now(), resolver));
    } catch (e) {
      // nfnetlink answers EPERM both without CAP_NET_ADMIN and when another socket holds the group.
      if (isKernelError(e) && e.errno === 'EPERM' && !hasNetAdmin()) {
        throw new FlowReaderError(NetfilterErrors.NETFILTER_OPEN_FAILED, `bind NFLOG group ${cfg.group}: needs CAP_NET_ADMIN (EPERM)`, { fatal: true, errno: e.errno, cause: e });
      }
      if (isKernelError(e) && (e.errno === 'EBUSY' || e.errno === 'EPERM')) {
        throw new FlowReaderError(NetfilterErrors.NETFILTER_GROUP_IN_USE, `NFLOG group ${cfg.group} is bound by another socket in this namespace (${e.errno})`, {
          fatal: true,
          errno: e.errno,
          cause: e,
        });
      }
      throw e;
    }
  } catch (e) {
    names?.close();
    onFd(-1);
    sys.close(fd);
    throw e;
  }
  return {
    fd,
    bufferBytes,
    early,
    decode: (b, n, sink, now) => {
      if (wrapped?.[0] !== sink) wrapped = [sink, sinkFor(sink)];
      decodeNflogDatagram(b, n, wrapped[1], now, resolver);
    },
    lostBySequence: () => gaps.lost,
    lostPerOverrun: 0,
    close: () => {
      try {
        // Closing the socket destroys the instance too; unbinding first is explicit and flushes nothing to us.
        seq++;
        requestAck(fd, nflogConfigRequest({ group: cfg.group, command: NFULNL_CFG_CMD_UNBIND }, seq), seq, buf, 500, `unbind NFLOG group ${cfg.group}`, () => undefined);
      } catch {
        /* the close below releases it anyway */
      }
      names?.close();
      onFd(-1);
      sys.close(fd);
    },
  };
}
