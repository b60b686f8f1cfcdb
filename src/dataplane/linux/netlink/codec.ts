/**
 * Pure netlink framing: nlmsghdr, rtattr (TLV with 4-byte alignment and nesting) and the
 * NLMSG_ERROR payload. Integers in netlink are in host byte order except where a field says
 * "be" (ports); this module writes host order via os.endianness().
 */
import { endianness } from 'node:os';
import {
  NLA_F_NESTED,
  NLA_HDRLEN,
  NLA_TYPE_MASK,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
} from './constants.js';

const LE = endianness() === 'LE';

export const align4 = (n: number): number => (n + 3) & ~3;

// --- host-order integers -------------------------------------------------------------------
export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  if (LE) b.writeUInt16LE(n, 0);
  else b.writeUInt16BE(n, 0);
  return b;
}
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  if (LE) b.writeUInt32LE(n >>> 0, 0);
  else b.writeUInt32BE(n >>> 0, 0);
  return b;
}
export function u16be(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}
export const readU16 = (b: Buffer, o = 0): number => (LE ? b.readUInt16LE(o) : b.readUInt16BE(o));
export const readU32 = (b: Buffer, o = 0): number => (LE ? b.readUInt32LE(o) : b.readUInt32BE(o));
export const readS32 = (b: Buffer, o = 0): number => (LE ? b.readInt32LE(o) : b.readInt32BE(o));
export const writeU16 = (b: Buffer, v: number, o: number): void => {
  if (LE) b.writeUInt16LE(v, o);
  else b.writeUInt16BE(v, o);
};
export const writeU32 = (b: Buffer, v: number, o: number): void => {
  if (LE) b.writeUInt32LE(v >>> 0, o);
  else b.writeUInt32BE(v >>> 0, o);
};
export const writeS32 = (b: Buffer, v: number, o: number): void => {
  if (LE) b.writeInt32LE(v, o);
  else b.writeInt32BE(v, o);
};

// --- nlmsghdr ---------------------------------------------------------------------------------
export interface NlHeader {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
}

export interface NlMessage extends NlHeader {
  /** Everything after the 16-byte header, up to nlmsg_len (not padded). */
  readonly payload: Buffer;
}

export function encodeMessage(h: NlHeader, payload: Buffer): Buffer {
  const len = NLMSG_HDRLEN + payload.length;
  const out = Buffer.alloc(align4(len));
  writeU32(out, len, 0);
  writeU16(out, h.type, 4);
  writeU16(out, h.flags, 6);
  writeU32(out, h.seq, 8);
  writeU32(out, h.pid, 12);
  payload.copy(out, NLMSG_HDRLEN);
  return out;
}

export class NetlinkDecodeError extends Error {
  override readonly name = 'NetlinkDecodeError';
}

/** Splits one datagram into its messages. Payloads are views into buf: copy buf if it is reused. */
export function decodeMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = readU32(buf, off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new NetlinkDecodeError(`bad nlmsg_len ${len} at offset ${off} of ${buf.length}`);
    }
    out.push({
      type: readU16(buf, off + 4),
      flags: readU16(buf, off + 6),
      seq: readU32(buf, off + 8),
      pid: readU32(buf, off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

// --- attributes ---------------------------------------------------------------------------------
/** An encoded attribute (header + value + padding), ready to concatenate. */
export type EncodedAttr = Buffer;

export function attr(type: number, value: Buffer): EncodedAttr {
  const len = NLA_HDRLEN + value.length;
  if (len > 0xffff) throw new RangeError(`attribute ${type} too long (${len} bytes)`);
  const out = Buffer.alloc(align4(len));
  writeU16(out, len, 0);
  writeU16(out, type, 2);
  value.copy(out, NLA_HDRLEN);
  return out;
}
export const attrU8 = (type: number, v: number): EncodedAttr => attr(type, Buffer.from([v & 0xff]));
export const attrU16 = (type: number, v: number): EncodedAttr => attr(type, u16(v));
export const attrU32 = (type: number, v: number): EncodedAttr => attr(type, u32(v));
export const attrS32 = (type: number, v: number): EncodedAttr => {
  const b = Buffer.alloc(4);
  writeS32(b, v, 0);
  return attr(type, b);
};
export const attrU16be = (type: number, v: number): EncodedAttr => attr(type, u16be(v));
/** NUL-terminated string, as the kernel's NLA_STRING/NLA_NUL_STRING policies accept. */
export const attrString = (type: number, s: string): EncodedAttr => attr(type, Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]));
export const attrFlag = (type: number): EncodedAttr => attr(type, Buffer.alloc(0));
/**
 * A nested attribute. The kernel's older policies (IFLA_LINKINFO, IFLA_INFO_DATA, IFLA_AF_SPEC)
 * accept it with or without NLA_F_NESTED; like iproute2 we leave the flag off unless asked.
 */
export const attrNested = (type: number, children: readonly EncodedAttr[], flagNested = false): EncodedAttr =>
  attr(flagNested ? type | NLA_F_NESTED : type, Buffer.concat(children));

export interface Attr {
  /** Type with NLA_F_NESTED / NLA_F_NET_BYTEORDER masked off. */
  readonly type: number;
  readonly nested: boolean;
  readonly value: Buffer;
}

/** Parses a run of attributes. Values are views into buf. */
export function decodeAttrs(buf: Buffer, start = 0, end = buf.length): Attr[] {
  const out: Attr[] = [];
  let off = start;
  while (off + NLA_HDRLEN <= end) {
    const len = readU16(buf, off);
    const rawType = readU16(buf, off + 2);
    if (len < NLA_HDRLEN || off + len > end) throw new NetlinkDecodeError(`bad nla_len ${len} at offset ${off}`);
    out.push({ type: rawType & NLA_TYPE_MASK, nested: (rawType & NLA_F_NESTED) !== 0, value: buf.subarray(off + NLA_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

/** Attributes by type (the last one wins, as in the kernel's nla_parse). */
export function attrMap(buf: Buffer, start = 0, end = buf.length): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  for (const a of decodeAttrs(buf, start, end)) m.set(a.type, a.value);
  return m;
}

export const getU8 = (m: ReadonlyMap<number, Buffer>, t: number): number | undefined => {
  const v = m.get(t);
  return v && v.length >= 1 ? v.readUInt8(0) : undefined;
};
export const getU16 = (m: ReadonlyMap<number, Buffer>, t: number): number | undefined => {
  const v = m.get(t);
  return v && v.length >= 2 ? readU16(v) : undefined;
};
export const getU32 = (m: ReadonlyMap<number, Buffer>, t: number): number | undefined => {
  const v = m.get(t);
  return v && v.length >= 4 ? readU32(v) : undefined;
};
export const getS32 = (m: ReadonlyMap<number, Buffer>, t: number): number | undefined => {
  const v = m.get(t);
  return v && v.length >= 4 ? readS32(v) : undefined;
};
export const getU16be = (m: ReadonlyMap<number, Buffer>, t: number): number | undefined => {
  const v = m.get(t);
  return v && v.length >= 2 ? v.readUInt16BE(0) : undefined;
};
export const getString = (m: ReadonlyMap<number, Buffer>, t: number): string | undefined => {
  const v = m.get(t);
  if (!v) return undefined;
  const nul = v.indexOf(0);
  return v.subarray(0, nul < 0 ? v.length : nul).toString('utf8');
};

// --- NLMSG_ERROR --------------------------------------------------------------------------------
export interface NlError {
  /** 0 for an ACK, else a negative errno. */
  readonly error: number;
  /** Sequence number of the request this answers. */
  readonly seq: number;
  /** Extended-ack text (NETLINK_EXT_ACK), when the kernel gave one. */
  readonly extack?: string;
  /** Offset in the request of the attribute the kernel rejected (NLMSGERR_ATTR_OFFS). */
  readonly badAttrOffset?: number;
}

export function decodeError(msg: NlMessage): NlError {
  const p = msg.payload;
  if (p.length < 4 + NLMSG_HDRLEN) throw new NetlinkDecodeError(`short NLMSG_ERROR (${p.length} bytes)`);
  const error = readS32(p, 0);
  const origLen = readU32(p, 4);
  const seq = readU32(p, 12);
  let extack: string | undefined;
  let badAttrOffset: number | undefined;
  if (msg.flags & NLM_F_ACK_TLVS) {
    // The echoed request is its header only when capped, else the whole request.
    const echoed = msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : align4(origLen);
    const tlvStart = 4 + echoed;
    if (tlvStart <= p.length) {
      const m = attrMap(p, tlvStart);
      extack = getString(m, NLMSGERR_ATTR_MSG);
      badAttrOffset = getU32(m, NLMSGERR_ATTR_OFFS);
    }
  }
  return { error, seq, ...(extack ? { extack } : {}), ...(badAttrOffset !== undefined ? { badAttrOffset } : {}) };
}
