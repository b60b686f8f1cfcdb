/**
 * Pure NFLOG codec (NFNL_SUBSYS_ULOG): decodes NFULNL_MSG_PACKET messages into NflogPacket
 * records and builds NFULNL_MSG_CONFIG requests. Interface names come from an optional resolver
 * so the codec stays free of I/O.
 */
import { attr, encodeMessage } from '../netlink/codec.js';
import { NLMSG_DONE, NLM_F_ACK, NLM_F_REQUEST } from '../netlink/constants.js';
import {
  ETH_P_IP,
  ETH_P_IPV6,
  INET_HOOKS,
  NFGENMSG_LEN,
  NFNETLINK_V0,
  NFNL_SUBSYS_ULOG,
  NFPROTO_IPV4,
  NFPROTO_IPV6,
  NFULA_CFG_CMD,
  NFULA_CFG_FLAGS,
  NFULA_CFG_MODE,
  NFULA_CFG_NLBUFSIZ,
  NFULA_CFG_QTHRESH,
  NFULA_CFG_TIMEOUT,
  NFULA_GID,
  NFULA_IFINDEX_INDEV,
  NFULA_IFINDEX_OUTDEV,
  NFULA_MARK,
  NFULA_MAX_KNOWN,
  NFULA_PACKET_HDR,
  NFULA_PAYLOAD,
  NFULA_PREFIX,
  NFULA_SEQ,
  NFULA_TIMESTAMP,
  NFULA_UID,
  NFULNL_MSG_CONFIG,
  NFULNL_MSG_PACKET,
  NFPROTO_INET,
  nfnlMsgType,
} from './constants.js';
import type { DecodeSink } from './conntrack-codec.js';
import { NetfilterDecodeError } from './errors.js';
import { AttrTable, type MsgView, nfgenFamily, nfgenResId, readBe64, walkMessages } from './nfnl.js';
import { parsePacket } from './packet.js';
import type { Mutable, NflogPacket } from './types.js';

const TOP = new AttrTable(NFULA_MAX_KNOWN);
const PACKET_TYPE = nfnlMsgType(NFNL_SUBSYS_ULOG, NFULNL_MSG_PACKET);

/** ifindex -> name in the reader's namespace, or undefined. */
export type IfNameResolver = (ifindex: number) => string | undefined;

/** Decodes the message at buf[m.start, m.end); undefined when it is not an NFLOG packet. */
export function decodeNflogAt(buf: Buffer, m: MsgView, observedMs: number, names?: IfNameResolver): NflogPacket | undefined {
  if (m.type !== PACKET_TYPE) return undefined;
  const family = nfgenFamily(buf, m.start, m.end);
  const group = nfgenResId(buf, m.start);
  TOP.parse(buf, m.start + NFGENMSG_LEN, m.end);
  const payloadAt = TOP.start(NFULA_PAYLOAD);
  const payloadLen = payloadAt >= 0 ? TOP.length(NFULA_PAYLOAD) : 0;
  const rec: Mutable<NflogPacket> = { group, prefix: TOP.str(NFULA_PREFIX) ?? '', family, capturedLength: payloadLen, observedMs };
  const hdr = TOP.start(NFULA_PACKET_HDR);
  if (hdr >= 0) {
    if (TOP.length(NFULA_PACKET_HDR) < 3) throw new NetfilterDecodeError('short NFULA_PACKET_HDR');
    const hw = buf.readUInt16BE(hdr);
    if (hw !== 0) rec.hwProtocol = hw;
    rec.hook = buf[hdr + 2] as number;
    if (family === NFPROTO_IPV4 || family === NFPROTO_IPV6 || family === NFPROTO_INET) {
      const name = INET_HOOKS[rec.hook];
      if (name) rec.hookName = name;
    }
  }
  const indev = TOP.be32(NFULA_IFINDEX_INDEV);
  const outdev = TOP.be32(NFULA_IFINDEX_OUTDEV);
  if (indev !== undefined) {
    rec.indev = indev;
    const n = names?.(indev);
    if (n !== undefined) rec.indevName = n;
  }
  if (outdev !== undefined) {
    rec.outdev = outdev;
    const n = names?.(outdev);
    if (n !== undefined) rec.outdevName = n;
  }
  const mark = TOP.be32(NFULA_MARK);
  if (mark !== undefined) rec.mark = mark;
  const ts = TOP.start(NFULA_TIMESTAMP);
  if (ts >= 0) {
    if (TOP.length(NFULA_TIMESTAMP) < 16) throw new NetfilterDecodeError('short NFULA_TIMESTAMP');
    rec.timestampMs = readBe64(buf, ts) * 1000 + readBe64(buf, ts + 8) / 1000;
  }
  const uid = TOP.be32(NFULA_UID);
  const gid = TOP.be32(NFULA_GID);
  const seq = TOP.be32(NFULA_SEQ);
  if (uid !== undefined) rec.uid = uid;
  if (gid !== undefined) rec.gid = gid;
  if (seq !== undefined) rec.seq = seq;
  if (payloadLen > 0) {
    // bridge/netdev families log non-IP too: trust the ethertype when there is one.
    const hw = rec.hwProtocol;
    if (hw === undefined || hw === ETH_P_IP || hw === ETH_P_IPV6) {
      const p = parsePacket(buf, payloadAt, payloadAt + payloadLen);
      if (p) rec.packet = p;
    }
  }
  return rec;
}

/** Decodes every NFLOG packet in one datagram buf[0, len) (NLMSG_DONE ends kernel batches). */
export function decodeNflogDatagram(buf: Buffer, len: number, sink: DecodeSink<NflogPacket>, observedMs = Date.now(), names?: IfNameResolver): void {
  try {
    walkMessages(buf, len, (m) => {
      if (m.type === NLMSG_DONE) return;
      try {
        const r = decodeNflogAt(buf, m, observedMs, names);
        if (r) sink.record(r);
      } catch (e) {
        sink.error(e as Error);
      }
    });
  } catch (e) {
    sink.error(e as Error);
  }
}

/** Decodes one whole netlink message (header included); undefined when not an NFLOG packet. */
export function decodeNflogPacket(msg: Buffer, observedMs = Date.now(), names?: IfNameResolver): NflogPacket | undefined {
  let out: NflogPacket | undefined;
  walkMessages(msg, msg.length, (m) => {
    if (out === undefined) out = decodeNflogAt(msg, m, observedMs, names);
  });
  return out;
}

// --- configuration requests ------------------------------------------------------------------
export interface NflogConfig {
  readonly group: number;
  /** nfgen_family of the request: AF_UNSPEC for group commands, the family for PF_(UN)BIND. */
  readonly family?: number;
  /** NFULNL_CFG_CMD_*. */
  readonly command?: number;
  readonly copyMode?: number;
  readonly copyRange?: number;
  readonly nlbufsiz?: number;
  /** Flush timeout in 1/100 s. */
  readonly timeoutCs?: number;
  readonly qthresh?: number;
  /** NFULNL_CFG_F_*. */
  readonly flags?: number;
}

const be32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0, 0);
  return b;
};

/** One NFULNL_MSG_CONFIG request with NLM_F_ACK. */
export function nflogConfigRequest(c: NflogConfig, seq: number): Buffer {
  const nfgen = Buffer.alloc(NFGENMSG_LEN);
  nfgen[0] = c.family ?? 0;
  nfgen[1] = NFNETLINK_V0;
  nfgen.writeUInt16BE(c.group & 0xffff, 2);
  const attrs: Buffer[] = [nfgen];
  if (c.command !== undefined) attrs.push(attr(NFULA_CFG_CMD, Buffer.from([c.command])));
  if (c.copyMode !== undefined) {
    const mode = Buffer.alloc(6); // struct nfulnl_msg_config_mode, packed
    mode.writeUInt32BE((c.copyRange ?? 0) >>> 0, 0);
    mode[4] = c.copyMode;
    attrs.push(attr(NFULA_CFG_MODE, mode));
  }
  if (c.nlbufsiz !== undefined) attrs.push(attr(NFULA_CFG_NLBUFSIZ, be32(c.nlbufsiz)));
  if (c.timeoutCs !== undefined) attrs.push(attr(NFULA_CFG_TIMEOUT, be32(c.timeoutCs)));
  if (c.qthresh !== undefined) attrs.push(attr(NFULA_CFG_QTHRESH, be32(c.qthresh)));
  if (c.flags !== undefined) {
    const f = Buffer.alloc(2);
    f.writeUInt16BE(c.flags, 0);
    attrs.push(attr(NFULA_CFG_FLAGS, f));
  }
  return encodeMessage({ type: nfnlMsgType(NFNL_SUBSYS_ULOG, NFULNL_MSG_CONFIG), flags: NLM_F_REQUEST | NLM_F_ACK, seq, pid: 0 }, Buffer.concat(attrs));
}

/** Counts messages missing between NFULA_SEQ values (the instance counter wraps at 2^32). */
export class SeqGapCounter {
  private last: number | undefined;
  lost = 0;

  see(seq: number | undefined): void {
    if (seq === undefined) return;
    if (this.last !== undefined) {
      const gap = (seq - this.last - 1) >>> 0;
      if (gap < 0x8000_0000) this.lost += gap; // a huge "gap" is a reordering or a rebind: ignore
    }
    this.last = seq;
  }
}
