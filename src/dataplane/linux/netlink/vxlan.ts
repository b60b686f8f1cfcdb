/**
 * VXLAN links (IFLA_INFO_KIND "vxlan"): encoding of IFLA_VXLAN_* for creation and decoding for
 * inspection. The UDP ports are big-endian on the wire; everything else is host order.
 */
import { type EncodedAttr, attr, attrMap, attrU16be, attrU32, attrU8, getU16be, getU32, getU8 } from './codec.js';
import {
  IFLA_VXLAN_AGEING,
  IFLA_VXLAN_DF,
  IFLA_VXLAN_GBP,
  IFLA_VXLAN_GROUP,
  IFLA_VXLAN_GROUP6,
  IFLA_VXLAN_ID,
  IFLA_VXLAN_L2MISS,
  IFLA_VXLAN_L3MISS,
  IFLA_VXLAN_LEARNING,
  IFLA_VXLAN_LINK,
  IFLA_VXLAN_LOCAL,
  IFLA_VXLAN_LOCAL6,
  IFLA_VXLAN_PORT,
  IFLA_VXLAN_PORT_RANGE,
  IFLA_VXLAN_PROXY,
  IFLA_VXLAN_TOS,
  IFLA_VXLAN_TTL,
  IFLA_VXLAN_UDP_CSUM,
  IFLA_VXLAN_UDP_ZERO_CSUM6_RX,
  IFLA_VXLAN_UDP_ZERO_CSUM6_TX,
} from './constants.js';
import { type NewLinkBase, newLinkRequest } from './link.js';
import type { NlRequest } from './socket.js';
import { ipBytes, ipFamily, ipText } from './values.js';

export const VXLAN_DEFAULT_PORT = 4789;

export interface VxlanOptions {
  /** VNI, 0..2^24-1. */
  readonly vni: number;
  /** Source address of the tunnel (the node's underlay address), IPv4 or IPv6. */
  readonly local?: string;
  /** Default remote or multicast group; leave out for static FDB only. */
  readonly group?: string;
  /** Lower device index (IFLA_VXLAN_LINK). */
  readonly dev?: number;
  /** Destination UDP port; the kernel's own default is 8472, so podnet always sends one. */
  readonly port?: number;
  readonly srcPortRange?: { readonly low: number; readonly high: number };
  /** MAC learning from received frames; off when the FDB is programmed statically. */
  readonly learning?: boolean;
  readonly ttl?: number;
  readonly tos?: number;
  readonly ageing?: number;
  readonly proxy?: boolean;
  readonly l2miss?: boolean;
  readonly l3miss?: boolean;
  readonly udpCsum?: boolean;
  readonly udpZeroCsum6Tx?: boolean;
  readonly udpZeroCsum6Rx?: boolean;
  /** 0 unset, 1 set, 2 inherit (IFLA_VXLAN_DF). */
  readonly df?: number;
  readonly gbp?: boolean;
}

export interface VxlanSpec extends NewLinkBase, VxlanOptions {}

const bool = (t: number, v: boolean | undefined): EncodedAttr[] => (v === undefined ? [] : [attrU8(t, v ? 1 : 0)]);

export function encodeVxlanData(o: VxlanOptions): EncodedAttr[] {
  if (!Number.isInteger(o.vni) || o.vni < 0 || o.vni > 0xffffff) throw new RangeError(`bad VNI ${o.vni}`);
  const out: EncodedAttr[] = [attrU32(IFLA_VXLAN_ID, o.vni)];
  if (o.local !== undefined) out.push(attr(ipFamily(o.local) === 4 ? IFLA_VXLAN_LOCAL : IFLA_VXLAN_LOCAL6, ipBytes(o.local)));
  if (o.group !== undefined) out.push(attr(ipFamily(o.group) === 4 ? IFLA_VXLAN_GROUP : IFLA_VXLAN_GROUP6, ipBytes(o.group)));
  if (o.dev !== undefined) out.push(attrU32(IFLA_VXLAN_LINK, o.dev));
  out.push(attrU16be(IFLA_VXLAN_PORT, o.port ?? VXLAN_DEFAULT_PORT));
  if (o.srcPortRange) {
    const b = Buffer.alloc(4);
    b.writeUInt16BE(o.srcPortRange.low, 0);
    b.writeUInt16BE(o.srcPortRange.high, 2);
    out.push(attr(IFLA_VXLAN_PORT_RANGE, b));
  }
  if (o.ttl !== undefined) out.push(attrU8(IFLA_VXLAN_TTL, o.ttl));
  if (o.tos !== undefined) out.push(attrU8(IFLA_VXLAN_TOS, o.tos));
  if (o.ageing !== undefined) out.push(attrU32(IFLA_VXLAN_AGEING, o.ageing));
  if (o.df !== undefined) out.push(attrU8(IFLA_VXLAN_DF, o.df));
  out.push(
    ...bool(IFLA_VXLAN_LEARNING, o.learning),
    ...bool(IFLA_VXLAN_PROXY, o.proxy),
    ...bool(IFLA_VXLAN_L2MISS, o.l2miss),
    ...bool(IFLA_VXLAN_L3MISS, o.l3miss),
    ...bool(IFLA_VXLAN_UDP_CSUM, o.udpCsum),
    ...bool(IFLA_VXLAN_UDP_ZERO_CSUM6_TX, o.udpZeroCsum6Tx),
    ...bool(IFLA_VXLAN_UDP_ZERO_CSUM6_RX, o.udpZeroCsum6Rx),
  );
  if (o.gbp) out.push(attr(IFLA_VXLAN_GBP, Buffer.alloc(0)));
  return out;
}

export function createVxlanRequest(spec: VxlanSpec): NlRequest {
  return newLinkRequest(spec, 'vxlan', encodeVxlanData(spec), `create vxlan ${spec.name} id ${spec.vni}`);
}

/** What the kernel reports about a vxlan link. */
export interface VxlanInfo {
  readonly vni: number | undefined;
  readonly local: string | undefined;
  readonly group: string | undefined;
  readonly dev: number | undefined;
  readonly port: number | undefined;
  readonly learning: boolean | undefined;
  readonly ttl: number | undefined;
}

export function decodeVxlanData(data: Buffer): VxlanInfo {
  const m = attrMap(data);
  const addr = (t4: number, t6: number): string | undefined => {
    const v = m.get(t4) ?? m.get(t6);
    return v && (v.length === 4 || v.length === 16) && v.some((b) => b !== 0) ? ipText(v) : undefined;
  };
  const learning = getU8(m, IFLA_VXLAN_LEARNING);
  const dev = getU32(m, IFLA_VXLAN_LINK);
  return {
    vni: getU32(m, IFLA_VXLAN_ID),
    local: addr(IFLA_VXLAN_LOCAL, IFLA_VXLAN_LOCAL6),
    group: addr(IFLA_VXLAN_GROUP, IFLA_VXLAN_GROUP6),
    dev: dev === 0 ? undefined : dev,
    port: getU16be(m, IFLA_VXLAN_PORT),
    learning: learning === undefined ? undefined : learning !== 0,
    ttl: getU8(m, IFLA_VXLAN_TTL),
  };
}
