/**
 * Pure decoder of ctnetlink event messages (NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW/DELETE) into
 * ConntrackEvent records. The kernel marks a NEW event with NLM_F_CREATE|NLM_F_EXCL; an event
 * without them on IPCTNL_MSG_CT_NEW is an update; IPCTNL_MSG_CT_DELETE is a destroy, which is
 * the one carrying counters and timestamps.
 */
import type { Family } from '../../../common/ip.js';
import { NLM_F_CREATE } from '../netlink/constants.js';
import {
  CTA_COUNTERS32_BYTES,
  CTA_COUNTERS32_PACKETS,
  CTA_COUNTERS_BYTES,
  CTA_COUNTERS_ORIG,
  CTA_COUNTERS_PACKETS,
  CTA_COUNTERS_REPLY,
  CTA_ID,
  CTA_IP_V4_DST,
  CTA_IP_V4_SRC,
  CTA_IP_V6_DST,
  CTA_IP_V6_SRC,
  CTA_MARK,
  CTA_MAX_KNOWN,
  CTA_PROTOINFO,
  CTA_PROTOINFO_TCP,
  CTA_PROTOINFO_TCP_STATE,
  CTA_PROTO_DST_PORT,
  CTA_PROTO_ICMPV6_CODE,
  CTA_PROTO_ICMPV6_ID,
  CTA_PROTO_ICMPV6_TYPE,
  CTA_PROTO_ICMP_CODE,
  CTA_PROTO_ICMP_ID,
  CTA_PROTO_ICMP_TYPE,
  CTA_PROTO_NUM,
  CTA_PROTO_SRC_PORT,
  CTA_STATUS,
  CTA_TIMEOUT,
  CTA_TIMESTAMP,
  CTA_TIMESTAMP_START,
  CTA_TIMESTAMP_STOP,
  CTA_TUPLE_IP,
  CTA_TUPLE_ORIG,
  CTA_TUPLE_PROTO,
  CTA_TUPLE_REPLY,
  CTA_TUPLE_ZONE,
  CTA_ZONE,
  IPCTNL_MSG_CT_DELETE,
  IPCTNL_MSG_CT_NEW,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPS_BITS,
  NFGENMSG_LEN,
  NFNL_SUBSYS_CTNETLINK,
  NFPROTO_IPV4,
  NFPROTO_IPV6,
  TCP_CONNTRACK_STATES,
} from './constants.js';
import { NetfilterDecodeError } from './errors.js';
import { AttrTable, type MsgView, ipv4Text, ipv6Text, nfgenFamily, walkMessages } from './nfnl.js';
import type { Mutable, ConntrackCounters, ConntrackEvent, ConntrackEventType, ConntrackTuple } from './types.js';

// One table per nesting level, reused: decoding is synchronous and never re-entrant.
const TOP = new AttrTable(CTA_MAX_KNOWN);
const TUPLE = new AttrTable(CTA_TUPLE_ZONE);
const IP = new AttrTable(CTA_IP_V6_DST);
const PROTO = new AttrTable(CTA_PROTO_ICMPV6_CODE);
const COUNTERS = new AttrTable(CTA_COUNTERS32_BYTES);
const TSTAMP = new AttrTable(CTA_TIMESTAMP_STOP);
const PROTOINFO = new AttrTable(CTA_PROTOINFO_TCP);
const PROTOINFO_TCP = new AttrTable(CTA_PROTOINFO_TCP_STATE);

/** The event type of a message type and flags, or undefined when it is not a conntrack event. */
export function conntrackEventType(nlType: number, nlFlags: number): ConntrackEventType | undefined {
  if (nlType >> 8 !== NFNL_SUBSYS_CTNETLINK) return undefined;
  const msg = nlType & 0xff;
  if (msg === IPCTNL_MSG_CT_DELETE) return 'destroy';
  if (msg === IPCTNL_MSG_CT_NEW) return nlFlags & NLM_F_CREATE ? 'new' : 'update';
  return undefined;
}

function decodeTuple(buf: Buffer, start: number, end: number, family: Family): ConntrackTuple {
  TUPLE.parse(buf, start, end);
  if (!TUPLE.has(CTA_TUPLE_IP) || !TUPLE.has(CTA_TUPLE_PROTO)) throw new NetfilterDecodeError('conntrack tuple without CTA_TUPLE_IP/CTA_TUPLE_PROTO');
  const zone = TUPLE.be16(CTA_TUPLE_ZONE);
  const protoStart = TUPLE.start(CTA_TUPLE_PROTO);
  const protoEnd = TUPLE.end(CTA_TUPLE_PROTO);
  IP.parse(buf, TUPLE.start(CTA_TUPLE_IP), TUPLE.end(CTA_TUPLE_IP));
  let src: string;
  let dst: string;
  if (family === 4) {
    if (IP.length(CTA_IP_V4_SRC) !== 4 || IP.length(CTA_IP_V4_DST) !== 4) throw new NetfilterDecodeError('IPv4 conntrack tuple without 4-byte addresses');
    src = ipv4Text(buf, IP.start(CTA_IP_V4_SRC));
    dst = ipv4Text(buf, IP.start(CTA_IP_V4_DST));
  } else {
    if (IP.length(CTA_IP_V6_SRC) !== 16 || IP.length(CTA_IP_V6_DST) !== 16) throw new NetfilterDecodeError('IPv6 conntrack tuple without 16-byte addresses');
    src = ipv6Text(buf, IP.start(CTA_IP_V6_SRC));
    dst = ipv6Text(buf, IP.start(CTA_IP_V6_DST));
  }
  PROTO.parse(buf, protoStart, protoEnd);
  const protocol = PROTO.u8(CTA_PROTO_NUM);
  if (protocol === undefined) throw new NetfilterDecodeError('conntrack tuple without CTA_PROTO_NUM');
  const t: Mutable<ConntrackTuple> = { src, dst, protocol };
  if (protocol === IPPROTO_ICMP || protocol === IPPROTO_ICMPV6) {
    const v6 = protocol === IPPROTO_ICMPV6;
    const type = PROTO.u8(v6 ? CTA_PROTO_ICMPV6_TYPE : CTA_PROTO_ICMP_TYPE);
    const code = PROTO.u8(v6 ? CTA_PROTO_ICMPV6_CODE : CTA_PROTO_ICMP_CODE);
    const id = PROTO.be16(v6 ? CTA_PROTO_ICMPV6_ID : CTA_PROTO_ICMP_ID);
    if (type !== undefined) t.icmpType = type;
    if (code !== undefined) t.icmpCode = code;
    if (id !== undefined) t.icmpId = id;
  } else {
    const sport = PROTO.be16(CTA_PROTO_SRC_PORT);
    const dport = PROTO.be16(CTA_PROTO_DST_PORT);
    if (sport !== undefined) t.sport = sport;
    if (dport !== undefined) t.dport = dport;
  }
  if (zone !== undefined) t.zone = zone;
  return t;
}

function decodeCounters(buf: Buffer, start: number, end: number): ConntrackCounters {
  COUNTERS.parse(buf, start, end);
  const packets = COUNTERS.be64(CTA_COUNTERS_PACKETS) ?? COUNTERS.be32(CTA_COUNTERS32_PACKETS) ?? 0;
  const bytes = COUNTERS.be64(CTA_COUNTERS_BYTES) ?? COUNTERS.be32(CTA_COUNTERS32_BYTES) ?? 0;
  return { packets, bytes };
}

/**
 * Decodes the message at buf[m.start, m.end) (m from walkMessages). Returns undefined for a
 * message that is not a conntrack event; throws NetfilterDecodeError when it is one but malformed.
 */
export function decodeConntrackAt(buf: Buffer, m: MsgView, observedMs: number): ConntrackEvent | undefined {
  const type = conntrackEventType(m.type, m.flags);
  if (type === undefined) return undefined;
  const nfFamily = nfgenFamily(buf, m.start, m.end);
  const family: Family | undefined = nfFamily === NFPROTO_IPV4 ? 4 : nfFamily === NFPROTO_IPV6 ? 6 : undefined;
  if (family === undefined) throw new NetfilterDecodeError(`conntrack event of family ${nfFamily}`);
  TOP.parse(buf, m.start + NFGENMSG_LEN, m.end);
  if (!TOP.has(CTA_TUPLE_ORIG)) throw new NetfilterDecodeError('conntrack event without CTA_TUPLE_ORIG');
  // Read everything from TOP before the nested decoders reuse the lower tables.
  const id = TOP.be32(CTA_ID);
  const status = TOP.be32(CTA_STATUS);
  const mark = TOP.be32(CTA_MARK);
  const zone = TOP.be16(CTA_ZONE);
  const timeout = TOP.be32(CTA_TIMEOUT);
  const replyAt = TOP.start(CTA_TUPLE_REPLY);
  const replyEnd = TOP.end(CTA_TUPLE_REPLY);
  const cOrig = TOP.start(CTA_COUNTERS_ORIG);
  const cOrigEnd = TOP.end(CTA_COUNTERS_ORIG);
  const cReply = TOP.start(CTA_COUNTERS_REPLY);
  const cReplyEnd = TOP.end(CTA_COUNTERS_REPLY);
  const ts = TOP.start(CTA_TIMESTAMP);
  const tsEnd = TOP.end(CTA_TIMESTAMP);
  const pi = TOP.start(CTA_PROTOINFO);
  const piEnd = TOP.end(CTA_PROTOINFO);

  const orig = decodeTuple(buf, TOP.start(CTA_TUPLE_ORIG), TOP.end(CTA_TUPLE_ORIG), family);
  const ev: Mutable<ConntrackEvent> = { type, family, protocol: orig.protocol, orig, observedMs };
  if (id !== undefined) ev.id = id;
  if (replyAt >= 0) ev.reply = decodeTuple(buf, replyAt, replyEnd, family);
  if (status !== undefined) ev.status = status;
  if (mark !== undefined) ev.mark = mark;
  if (zone !== undefined) ev.zone = zone;
  if (timeout !== undefined) ev.timeout = timeout;
  if (cOrig >= 0 || cReply >= 0) {
    const counters: { orig?: ConntrackCounters; reply?: ConntrackCounters } = {};
    if (cOrig >= 0) counters.orig = decodeCounters(buf, cOrig, cOrigEnd);
    if (cReply >= 0) counters.reply = decodeCounters(buf, cReply, cReplyEnd);
    ev.counters = counters;
  }
  if (ts >= 0) {
    TSTAMP.parse(buf, ts, tsEnd);
    const start = TSTAMP.be64(CTA_TIMESTAMP_START);
    const stop = TSTAMP.be64(CTA_TIMESTAMP_STOP);
    if (start !== undefined && start > 0) ev.startMs = start / 1e6;
    if (stop !== undefined && stop > 0) ev.stopMs = stop / 1e6;
  }
  if (pi >= 0) {
    PROTOINFO.parse(buf, pi, piEnd);
    if (PROTOINFO.has(CTA_PROTOINFO_TCP)) {
      PROTOINFO_TCP.parse(buf, PROTOINFO.start(CTA_PROTOINFO_TCP), PROTOINFO.end(CTA_PROTOINFO_TCP));
      const st = PROTOINFO_TCP.u8(CTA_PROTOINFO_TCP_STATE);
      if (st !== undefined) ev.tcpState = TCP_CONNTRACK_STATES[st] ?? `STATE_${st}`;
    }
  }
  return ev;
}

export interface DecodeSink<T> {
  record(r: T): void;
  /** A message that could not be decoded; decoding goes on with the next one when it can. */
  error(e: Error): void;
}

/** Decodes every conntrack event in one datagram buf[0, len). */
export function decodeConntrackDatagram(buf: Buffer, len: number, sink: DecodeSink<ConntrackEvent>, observedMs = Date.now()): void {
  try {
    walkMessages(buf, len, (m) => {
      try {
        const ev = decodeConntrackAt(buf, m, observedMs);
        if (ev) sink.record(ev);
      } catch (e) {
        sink.error(e as Error);
      }
    });
  } catch (e) {
    sink.error(e as Error); // framing broken: the rest of the datagram is lost
  }
}

/** Decodes one whole netlink message (header included); undefined when not a conntrack event. */
export function decodeConntrackEvent(msg: Buffer, observedMs = Date.now()): ConntrackEvent | undefined {
  let out: ConntrackEvent | undefined;
  walkMessages(msg, msg.length, (m) => {
    if (out === undefined) out = decodeConntrackAt(msg, m, observedMs);
  });
  return out;
}

/** Names of the IPS_* bits set in a conntrack status ("SEEN_REPLY", "ASSURED", ...). */
export function statusFlags(status: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < 32; i++) if (status & (1 << i)) out.push(IPS_BITS[i] ?? `BIT_${i}`);
  return out;
}
