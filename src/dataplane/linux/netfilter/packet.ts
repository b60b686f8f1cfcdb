/**
 * Pure parser of the IP and transport headers at the start of a logged packet (NFULA_PAYLOAD
 * starts at the network header). Reads only what the copy range kept: a header cut short
 * sets `truncated` instead of failing.
 */
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE } from './constants.js';
import { ipv4Text, ipv6Text } from './nfnl.js';
import type { Mutable, ParsedPacket } from './types.js';

const IPPROTO_DCCP = 33;
// IPv6 extension headers walked to find the transport protocol.
const V6_HOPOPTS = 0;
const V6_ROUTING = 43;
const V6_FRAGMENT = 44;
const V6_AH = 51;
const V6_DSTOPTS = 60;
const V6_MAX_EXT = 8;

/** Parses buf[start, end); undefined when it is not an IPv4/IPv6 header at all. */
export function parsePacket(buf: Buffer, start = 0, end = buf.length): ParsedPacket | undefined {
  if (end - start < 1) return undefined;
  const version = (buf[start] as number) >> 4;
  if (version === 4) return parseV4(buf, start, end);
  if (version === 6) return parseV6(buf, start, end);
  return undefined;
}

function parseV4(buf: Buffer, s: number, end: number): ParsedPacket | undefined {
  if (end - s < 20) return undefined;
  const ihl = ((buf[s] as number) & 0x0f) * 4;
  if (ihl < 20) return undefined;
  const p: Mutable<ParsedPacket> = {
    ipVersion: 4,
    src: ipv4Text(buf, s + 12),
    dst: ipv4Text(buf, s + 16),
    protocol: buf[s + 9] as number,
    length: buf.readUInt16BE(s + 2),
    ttl: buf[s + 8] as number,
  };
  if ((buf.readUInt16BE(s + 6) & 0x1fff) !== 0) {
    p.fragment = true;
    return p;
  }
  transport(p, buf, s + ihl, end);
  return p;
}

function parseV6(buf: Buffer, s: number, end: number): ParsedPacket | undefined {
  if (end - s < 40) return undefined;
  const p: Mutable<ParsedPacket> = {
    ipVersion: 6,
    src: ipv6Text(buf, s + 8),
    dst: ipv6Text(buf, s + 24),
    protocol: buf[s + 6] as number,
    length: 40 + buf.readUInt16BE(s + 4),
    ttl: buf[s + 7] as number,
  };
  let o = s + 40;
  for (let i = 0; i < V6_MAX_EXT; i++) {
    const nh = p.protocol;
    if (nh !== V6_HOPOPTS && nh !== V6_ROUTING && nh !== V6_DSTOPTS && nh !== V6_FRAGMENT && nh !== V6_AH) break;
    if (end - o < 8) {
      p.truncated = true;
      return p;
    }
    p.protocol = buf[o] as number;
    if (nh === V6_FRAGMENT) {
      if ((buf.readUInt16BE(o + 2) & 0xfff8) !== 0) {
        p.fragment = true;
        return p;
      }
      o += 8;
    } else if (nh === V6_AH) o += ((buf[o + 1] as number) + 2) * 4;
    else o += ((buf[o + 1] as number) + 1) * 8;
  }
  transport(p, buf, o, end);
  return p;
}

function transport(p: Mutable<ParsedPacket>, buf: Buffer, o: number, end: number): void {
  const have = end - o;
  switch (p.protocol) {
    case IPPROTO_TCP:
      if (have < 14) break;
      p.sport = buf.readUInt16BE(o);
      p.dport = buf.readUInt16BE(o + 2);
      p.tcpFlags = buf[o + 13] as number;
      return;
    case IPPROTO_UDP:
    case IPPROTO_UDPLITE:
    case IPPROTO_SCTP:
    case IPPROTO_DCCP:
      if (have < 4) break;
      p.sport = buf.readUInt16BE(o);
      p.dport = buf.readUInt16BE(o + 2);
      return;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: {
      if (have < 2) break;
      p.icmpType = buf[o] as number;
      p.icmpCode = buf[o + 1] as number;
      const echo = p.protocol === IPPROTO_ICMP ? p.icmpType === 0 || p.icmpType === 8 : p.icmpType === 128 || p.icmpType === 129;
      if (echo && have >= 6) p.icmpId = buf.readUInt16BE(o + 4);
      return;
    }
    default:
      return; // a protocol we do not look into
  }
  p.truncated = true;
}

const TCP_FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'] as const;

/** "SYN,ACK" for 0x12. */
export function tcpFlagNames(flags: number): string {
  const out: string[] = [];
  for (let i = 0; i < 8; i++) if (flags & (1 << i)) out.push(TCP_FLAG_NAMES[i] as string);
  return out.join(',');
}
