/**
 * Builders of kernel messages for the codec tests and the decode benchmark: ctnetlink events,
 * NFLOG packet messages and raw IPv4/IPv6 packets, laid out as the kernel lays them out
 * (nested attributes flagged NLA_F_NESTED, integers big-endian).
 */
import { parseIp } from '../../../common/ip.js';
import { attr, encodeMessage } from '../netlink/codec.js';
import { NLA_F_NESTED, NLM_F_CREATE, NLM_F_EXCL } from '../netlink/constants.js';
import * as C from './constants.js';
import type { ConntrackEventType } from './types.js';

const nest = (type: number, children: Buffer[]): Buffer => attr(type | NLA_F_NESTED, Buffer.concat(children));
const u8 = (v: number): Buffer => Buffer.from([v]);
const be16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v, 0);
  return b;
};
const be32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0, 0);
  return b;
};
const be64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v, 0);
  return b;
};

export function ipBytes(s: string): Buffer {
  const ip = parseIp(s);
  if (!ip) throw new Error(`bad ip ${s}`);
  const n = ip.family === 4 ? 4 : 16;
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Number((ip.value >> BigInt(8 * (n - 1 - i))) & 0xffn);
  return b;
}

export interface TupleSpec {
  src: string;
  dst: string;
  protocol: number;
  sport?: number;
  dport?: number;
  icmpType?: number;
  icmpCode?: number;
  icmpId?: number;
}

function tuple(type: number, t: TupleSpec): Buffer {
  const v6 = t.src.includes(':');
  const ip = nest(C.CTA_TUPLE_IP, [attr(v6 ? C.CTA_IP_V6_SRC : C.CTA_IP_V4_SRC, ipBytes(t.src)), attr(v6 ? C.CTA_IP_V6_DST : C.CTA_IP_V4_DST, ipBytes(t.dst))]);
  const proto: Buffer[] = [attr(C.CTA_PROTO_NUM, u8(t.protocol))];
  if (t.protocol === C.IPPROTO_ICMP || t.protocol === C.IPPROTO_ICMPV6) {
    const six = t.protocol === C.IPPROTO_ICMPV6;
    proto.push(attr(six ? C.CTA_PROTO_ICMPV6_ID : C.CTA_PROTO_ICMP_ID, be16(t.icmpId ?? 0)));
    proto.push(attr(six ? C.CTA_PROTO_ICMPV6_TYPE : C.CTA_PROTO_ICMP_TYPE, u8(t.icmpType ?? 8)));
    proto.push(attr(six ? C.CTA_PROTO_ICMPV6_CODE : C.CTA_PROTO_ICMP_CODE, u8(t.icmpCode ?? 0)));
  } else {
    if (t.sport !== undefined) proto.push(attr(C.CTA_PROTO_SRC_PORT, be16(t.sport)));
    if (t.dport !== undefined) proto.push(attr(C.CTA_PROTO_DST_PORT, be16(t.dport)));
  }
  return nest(type, [ip, nest(C.CTA_TUPLE_PROTO, proto)]);
}

export interface CtSpec {
  type: ConntrackEventType;
  orig: TupleSpec;
  reply?: TupleSpec;
  id?: number;
  status?: number;
  mark?: number;
  zone?: number;
  timeout?: number;
  tcpState?: number;
  counters?: { orig: [bigint, bigint]; reply: [bigint, bigint] };
  timestampNs?: [bigint, bigint];
  seq?: number;
}

export function buildConntrackMessage(s: CtSpec): Buffer {
  const v6 = s.orig.src.includes(':');
  const nfgen = Buffer.from([v6 ? C.NFPROTO_IPV6 : C.NFPROTO_IPV4, 0, 0, 0]);
  const a: Buffer[] = [nfgen, tuple(C.CTA_TUPLE_ORIG, s.orig)];
  if (s.reply) a.push(tuple(C.CTA_TUPLE_REPLY, s.reply));
  if (s.zone !== undefined) a.push(attr(C.CTA_ZONE, be16(s.zone)));
  if (s.id !== undefined) a.push(attr(C.CTA_ID, be32(s.id)));
  if (s.status !== undefined) a.push(attr(C.CTA_STATUS, be32(s.status)));
  if (s.timeout !== undefined) a.push(attr(C.CTA_TIMEOUT, be32(s.timeout)));
  if (s.counters) {
    a.push(nest(C.CTA_COUNTERS_ORIG, [attr(C.CTA_COUNTERS_PACKETS, be64(s.counters.orig[0])), attr(C.CTA_COUNTERS_BYTES, be64(s.counters.orig[1]))]));
    a.push(nest(C.CTA_COUNTERS_REPLY, [attr(C.CTA_COUNTERS_PACKETS, be64(s.counters.reply[0])), attr(C.CTA_COUNTERS_BYTES, be64(s.counters.reply[1]))]));
  }
  if (s.timestampNs) a.push(nest(C.CTA_TIMESTAMP, [attr(C.CTA_TIMESTAMP_START, be64(s.timestampNs[0])), attr(C.CTA_TIMESTAMP_STOP, be64(s.timestampNs[1]))]));
  if (s.tcpState !== undefined) a.push(nest(C.CTA_PROTOINFO, [nest(C.CTA_PROTOINFO_TCP, [attr(C.CTA_PROTOINFO_TCP_STATE, u8(s.tcpState)), attr(2, u8(7)), attr(3, u8(7))])]));
  if (s.mark !== undefined) a.push(attr(C.CTA_MARK, be32(s.mark)));
  const msg = s.type === 'destroy' ? C.IPCTNL_MSG_CT_DELETE : C.IPCTNL_MSG_CT_NEW;
  const flags = s.type === 'new' ? NLM_F_CREATE | NLM_F_EXCL : 0;
  return encodeMessage({ type: C.nfnlMsgType(C.NFNL_SUBSYS_CTNETLINK, msg), flags, seq: s.seq ?? 0, pid: 0 }, Buffer.concat(a));
}

// --- packets -------------------------------------------------------------------------------
export interface PacketSpec {
  src: string;
  dst: string;
  protocol: number;
  sport?: number;
  dport?: number;
  tcpFlags?: number;
  icmpType?: number;
  icmpCode?: number;
  icmpId?: number;
  ttl?: number;
  payloadBytes?: number;
  /** IPv4 fragment offset (8-byte units) or, for IPv6, adds a fragment header with it. */
  fragmentOffset?: number;
  /** IPv6: a hop-by-hop options header before the transport header. */
  hopByHop?: boolean;
}

function l4(p: PacketSpec): Buffer {
  if (p.protocol === C.IPPROTO_TCP) {
    const b = Buffer.alloc(20);
    b.writeUInt16BE(p.sport ?? 0, 0);
    b.writeUInt16BE(p.dport ?? 0, 2);
    b[12] = 5 << 4;
    b[13] = p.tcpFlags ?? 0;
    return b;
  }
  if (p.protocol === C.IPPROTO_UDP || p.protocol === C.IPPROTO_SCTP) {
    const b = Buffer.alloc(p.protocol === C.IPPROTO_SCTP ? 12 : 8);
    b.writeUInt16BE(p.sport ?? 0, 0);
    b.writeUInt16BE(p.dport ?? 0, 2);
    return b;
  }
  if (p.protocol === C.IPPROTO_ICMP || p.protocol === C.IPPROTO_ICMPV6) {
    const b = Buffer.alloc(8);
    b[0] = p.icmpType ?? 8;
    b[1] = p.icmpCode ?? 0;
    b.writeUInt16BE(p.icmpId ?? 0, 4);
    return b;
  }
  return Buffer.alloc(0);
}

export function buildPacket(p: PacketSpec): Buffer {
  const body = Buffer.concat([l4(p), Buffer.alloc(p.payloadBytes ?? 0)]);
  if (!p.src.includes(':')) {
    const h = Buffer.alloc(20);
    h[0] = 0x45;
    h.writeUInt16BE(20 + body.length, 2);
    h.writeUInt16BE((p.fragmentOffset ?? 0) & 0x1fff, 6);
    h[8] = p.ttl ?? 64;
    h[9] = p.protocol;
    ipBytes(p.src).copy(h, 12);
    ipBytes(p.dst).copy(h, 16);
    return Buffer.concat([h, p.fragmentOffset ? Buffer.alloc(0) : body]);
  }
  const ext: Buffer[] = [];
  let next = p.protocol;
  if (p.fragmentOffset !== undefined) {
    const f = Buffer.alloc(8);
    f[0] = next;
    f.writeUInt16BE((p.fragmentOffset << 3) & 0xfff8, 2);
    ext.unshift(f);
    next = 44;
  }
  if (p.hopByHop) {
    const hbh = Buffer.alloc(8);
    hbh[0] = next;
    hbh[1] = 0;
    ext.unshift(hbh);
    next = 0;
  }
  const rest = Buffer.concat([...ext, p.fragmentOffset ? Buffer.alloc(0) : body]);
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(rest.length, 4);
  h[6] = next;
  h[7] = p.ttl ?? 64;
  ipBytes(p.src).copy(h, 8);
  ipBytes(p.dst).copy(h, 24);
  return Buffer.concat([h, rest]);
}

// --- NFLOG -----------------------------------------------------------------------------------
export interface NflogSpec {
  group: number;
  family?: number;
  prefix?: string;
  hwProtocol?: number;
  hook?: number;
  indev?: number;
  outdev?: number;
  mark?: number;
  timestamp?: [number, number];
  uid?: number;
  gid?: number;
  seq?: number;
  payload?: Buffer;
}

export function buildNflogMessage(s: NflogSpec): Buffer {
  const nfgen = Buffer.alloc(4);
  nfgen[0] = s.family ?? C.NFPROTO_IPV4;
  nfgen.writeUInt16BE(s.group, 2);
  const hdr = Buffer.alloc(4);
  hdr.writeUInt16BE(s.hwProtocol ?? C.ETH_P_IP, 0);
  hdr[2] = s.hook ?? 1;
  const a: Buffer[] = [nfgen, attr(C.NFULA_PACKET_HDR, hdr)];
  if (s.prefix !== undefined) a.push(attr(C.NFULA_PREFIX, Buffer.concat([Buffer.from(s.prefix), Buffer.alloc(1)])));
  if (s.indev !== undefined) a.push(attr(C.NFULA_IFINDEX_INDEV, be32(s.indev)));
  if (s.outdev !== undefined) a.push(attr(C.NFULA_IFINDEX_OUTDEV, be32(s.outdev)));
  if (s.mark !== undefined) a.push(attr(C.NFULA_MARK, be32(s.mark)));
  if (s.timestamp) a.push(attr(C.NFULA_TIMESTAMP, Buffer.concat([be64(BigInt(s.timestamp[0])), be64(BigInt(s.timestamp[1]))])));
  if (s.uid !== undefined) a.push(attr(C.NFULA_UID, be32(s.uid)));
  if (s.gid !== undefined) a.push(attr(C.NFULA_GID, be32(s.gid)));
  if (s.seq !== undefined) a.push(attr(C.NFULA_SEQ, be32(s.seq)));
  if (s.payload) a.push(attr(C.NFULA_PAYLOAD, s.payload));
  return encodeMessage({ type: C.nfnlMsgType(C.NFNL_SUBSYS_ULOG, C.NFULNL_MSG_PACKET), flags: 0, seq: 0, pid: 0 }, Buffer.concat(a));
}

/** The NLMSG_DONE the kernel appends to a batch of NFLOG messages. */
export function buildDone(group: number): Buffer {
  const nfgen = Buffer.alloc(4);
  nfgen.writeUInt16BE(group, 2);
  return encodeMessage({ type: 3, flags: 0, seq: 0, pid: 0 }, nfgen);
}
