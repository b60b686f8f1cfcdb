/**
 * Routes (RTM_*ROUTE, struct rtmsg): codec, request builders and operations. Enough for the
 * route reconciler: list by protocol/table/device, replace, delete; table, scope, protocol, type,
 * gateway (RTA_VIA when its family differs), onlink, device, metric, MTU (RTAX_MTU), prefsrc.
 */
import { type Family, parseCidr } from '../../../common/ip.js';
import { isKernelError } from '../../errors.js';
import { type EncodedAttr, type NlMessage, attr, attrMap, attrNested, attrU32, decodeAttrs, getS32, getU32, readS32, readU16, readU32, u16, writeU32 } from './codec.js';
import {
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTAX_MTU,
  RTA_DST,
  RTA_GATEWAY,
  RTA_METRICS,
  RTA_MULTIPATH,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTA_VIA,
  RTMSG_LEN,
  RTM_DELROUTE,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTNH_F_ONLINK,
  RTNH_LEN,
  RTN_UNICAST,
  RTN_UNSPEC,
  RTPROT_BOOT,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RT_TABLE_UNSPEC,
} from './constants.js';
import type { NetlinkSocket, NlRequest } from './socket.js';
import { afOf, familyOfAf, ipBytes, ipFamily, ipText } from './values.js';

export interface RtMsg {
  readonly family: number;
  readonly dstLen: number;
  readonly srcLen: number;
  readonly tos: number;
  readonly table: number;
  readonly protocol: number;
  readonly scope: number;
  readonly type: number;
  readonly flags: number;
}

export function encodeRtmsg(h: RtMsg): Buffer {
  const b = Buffer.alloc(RTMSG_LEN);
  [h.family, h.dstLen, h.srcLen, h.tos, h.table, h.protocol, h.scope, h.type].forEach((v, i) => b.writeUInt8(v, i));
  writeU32(b, h.flags, 8);
  return b;
}

export function decodeRtmsg(p: Buffer): RtMsg {
  if (p.length < RTMSG_LEN) throw new RangeError(`short rtmsg (${p.length} bytes)`);
  const [family, dstLen, srcLen, tos, table, protocol, scope, type] = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => p.readUInt8(i)) as [number, number, number, number, number, number, number, number];
  return { family, dstLen, srcLen, tos, table, protocol, scope, type, flags: readU32(p, 8) };
}

export interface RouteSpec {
  readonly family: Family;
  /** Destination CIDR; "0.0.0.0/0" or "::/0" for the default route. */
  readonly dst: string;
  /** Default RT_TABLE_MAIN. */
  readonly table?: number;
  /** Default: link for a device-only route, universe with a gateway. */
  readonly scope?: number;
  /** Default RTPROT_BOOT (what `ip route add` uses). */
  readonly protocol?: number;
  /** Default RTN_UNICAST. */
  readonly type?: number;
  /** Next hop; RTA_VIA is used when its family differs from the route's. */
  readonly gateway?: string;
  /** Output device index ("dev"). */
  readonly oif?: number;
  /** Metric. */
  readonly priority?: number;
  /** Path MTU for the route (RTAX_MTU). */
  readonly mtu?: number;
  /** Trust the gateway to be on the link even without a matching prefix. */
  readonly onlink?: boolean;
  /** Preferred source address (RTA_PREFSRC). */
  readonly src?: string;
}

export interface NextHop {
  readonly gateway: string | undefined;
  readonly oif: number | undefined;
  readonly flags: number;
}

export interface RouteInfo {
  readonly family: Family;
  readonly dst: string;
  readonly table: number;
  readonly scope: number;
  readonly protocol: number;
  readonly type: number;
  readonly flags: number;
  readonly gateway: string | undefined;
  readonly oif: number | undefined;
  readonly priority: number | undefined;
  readonly mtu: number | undefined;
  readonly src: string | undefined;
  readonly onlink: boolean;
  /** ECMP next hops (RTA_MULTIPATH), empty for a single-path route. */
  readonly nexthops: readonly NextHop[];
}

function dstParts(s: { family: Family; dst: string }): { bytes: Buffer; len: number } {
  const c = parseCidr(s.dst);
  if (!c || c.family !== s.family) throw new RangeError(`bad IPv${s.family} route destination ${JSON.stringify(s.dst)}`);
  return { bytes: ipBytes(s.dst.slice(0, s.dst.indexOf('/'))), len: c.prefix };
}

function gatewayAttr(family: Family, gw: string): EncodedAttr {
  const gf = ipFamily(gw);
  if (gf === family) return attr(RTA_GATEWAY, ipBytes(gw));
  return attr(RTA_VIA, Buffer.concat([u16(afOf(gf)), ipBytes(gw)])); // struct rtvia
}

export function routeText(s: RouteSpec | RouteInfo): string {
  const p = [s.dst];
  if (s.gateway) p.push(`via ${s.gateway}`);
  if (s.oif !== undefined) p.push(`dev #${s.oif}`);
  if (s.table !== undefined && s.table !== RT_TABLE_MAIN) p.push(`table ${s.table}`);
  if (s.protocol !== undefined) p.push(`proto ${s.protocol}`);
  if (s.scope !== undefined) p.push(`scope ${s.scope}`);
  if (s.priority !== undefined) p.push(`metric ${s.priority}`);
  if (s.mtu !== undefined) p.push(`mtu ${s.mtu}`);
  if (s.onlink) p.push('onlink');
  return p.join(' ');
}

function routePayload(s: RouteSpec, del: boolean): Buffer {
  const { bytes, len } = dstParts(s);
  const table = s.table ?? RT_TABLE_MAIN;
  const defaultScope = del ? RT_SCOPE_NOWHERE : s.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  const head = encodeRtmsg({
    family: afOf(s.family),
    dstLen: len,
    srcLen: 0,
    tos: 0,
    table: table < 256 ? table : RT_TABLE_UNSPEC,
    protocol: s.protocol ?? (del ? 0 : RTPROT_BOOT),
    scope: s.scope ?? defaultScope,
    type: s.type ?? (del ? RTN_UNSPEC : RTN_UNICAST),
    flags: s.onlink ? RTNH_F_ONLINK : 0,
  });
  const attrs: EncodedAttr[] = [attrU32(RTA_TABLE, table)];
  if (len > 0) attrs.push(attr(RTA_DST, bytes));
  if (s.gateway) attrs.push(gatewayAttr(s.family, s.gateway));
  if (s.oif !== undefined) attrs.push(attrU32(RTA_OIF, s.oif));
  if (s.priority !== undefined) attrs.push(attrU32(RTA_PRIORITY, s.priority));
  if (s.src !== undefined) attrs.push(attr(RTA_PREFSRC, ipBytes(s.src)));
  if (s.mtu !== undefined) attrs.push(attrNested(RTA_METRICS, [attrU32(RTAX_MTU, s.mtu)]));
  return Buffer.concat([head, ...attrs]);
}

/** Creates or replaces the route with the same destination, table, tos and metric. */
export function replaceRouteRequest(s: RouteSpec): NlRequest {
  return { type: RTM_NEWROUTE, flags: NLM_F_CREATE | NLM_F_REPLACE, payload: routePayload(s, false), what: `replace route ${routeText(s)}` };
}

/** Creates the route; EEXIST when it is there already. */
export function addRouteRequest(s: RouteSpec): NlRequest {
  return { type: RTM_NEWROUTE, flags: NLM_F_CREATE | NLM_F_EXCL, payload: routePayload(s, false), what: `add route ${routeText(s)}` };
}

/** Deletes the first route matching every field given (unset scope/protocol/type match any). */
export function deleteRouteRequest(s: RouteSpec): NlRequest {
  return { type: RTM_DELROUTE, flags: 0, payload: routePayload(s, true), what: `delete route ${routeText(s)}` };
}

export interface RouteFilter {
  readonly family: Family;
  /** Default: every table. */
  readonly table?: number;
  readonly protocol?: number;
  readonly oif?: number;
  readonly type?: number;
}

/** Dump filtered by the kernel (strict checking) on table, protocol, type and device. */
export function listRoutesRequest(f: RouteFilter): NlRequest {
  const head = encodeRtmsg({ family: afOf(f.family), dstLen: 0, srcLen: 0, tos: 0, table: 0, protocol: f.protocol ?? 0, scope: 0, type: f.type ?? 0, flags: 0 });
  const attrs: EncodedAttr[] = [];
  if (f.table !== undefined) attrs.push(attrU32(RTA_TABLE, f.table));
  if (f.oif !== undefined) attrs.push(attrU32(RTA_OIF, f.oif));
  return { type: RTM_GETROUTE, flags: 0, payload: Buffer.concat([head, ...attrs]), what: `list IPv${f.family} routes` };
}

function decodeNexthops(buf: Buffer): NextHop[] {
  const out: NextHop[] = [];
  let off = 0;
  while (off + RTNH_LEN <= buf.length) {
    const len = readU16(buf, off);
    if (len < RTNH_LEN || off + len > buf.length) break;
    const m = attrMap(buf, off + RTNH_LEN, off + len);
    out.push({ gateway: gatewayOf(m), oif: readS32(buf, off + 4), flags: buf.readUInt8(off + 2) });
    off += (len + 3) & ~3;
  }
  return out;
}

function gatewayOf(m: ReadonlyMap<number, Buffer>): string | undefined {
  const gw = m.get(RTA_GATEWAY);
  if (gw) return ipText(gw);
  const via = m.get(RTA_VIA);
  return via && via.length >= 2 + 4 ? ipText(via.subarray(2)) : undefined;
}

export function decodeRoute(msg: NlMessage): RouteInfo | undefined {
  const h = decodeRtmsg(msg.payload);
  const family = familyOfAf(h.family);
  if (!family) return undefined;
  const m = attrMap(msg.payload, RTMSG_LEN);
  const dst = m.get(RTA_DST);
  const zero = family === 4 ? '0.0.0.0' : '::';
  let mtu: number | undefined;
  const metrics = m.get(RTA_METRICS);
  if (metrics) for (const a of decodeAttrs(metrics)) if (a.type === RTAX_MTU && a.value.length >= 4) mtu = readU32(a.value);
  const mp = m.get(RTA_MULTIPATH);
  const pref = m.get(RTA_PREFSRC);
  return {
    family,
    dst: `${dst ? ipText(dst) : zero}/${h.dstLen}`,
    table: getU32(m, RTA_TABLE) ?? h.table,
    scope: h.scope,
    protocol: h.protocol,
    type: h.type,
    flags: h.flags,
    gateway: gatewayOf(m),
    oif: getS32(m, RTA_OIF),
    priority: getU32(m, RTA_PRIORITY),
    mtu,
    src: pref ? ipText(pref) : undefined,
    onlink: (h.flags & RTNH_F_ONLINK) !== 0,
    nexthops: mp ? decodeNexthops(mp) : [],
  };
}

export function replaceRoute(sock: NetlinkSocket, s: RouteSpec): void {
  sock.request(replaceRouteRequest(s));
}

export function addRoute(sock: NetlinkSocket, s: RouteSpec): void {
  sock.request(addRouteRequest(s));
}

/** Deletes a route; returns false when no route matched (ESRCH). */
export function deleteRoute(sock: NetlinkSocket, s: RouteSpec): boolean {
  try {
    sock.request(deleteRouteRequest(s));
    return true;
  } catch (e) {
    if (isKernelError(e, 'ESRCH')) return false;
    throw e;
  }
}

/** Routes matching the filter (filtered again here, whatever the kernel did). */
export function listRoutes(sock: NetlinkSocket, f: RouteFilter): RouteInfo[] {
  let msgs: NlMessage[];
  try {
    msgs = sock.dump(listRoutesRequest(f));
  } catch (e) {
    // IPv4 answers ENOENT for a table that does not exist (yet): no routes in it.
    if (f.table !== undefined && isKernelError(e, 'ENOENT')) return [];
    throw e;
  }
  const out: RouteInfo[] = [];
  for (const msg of msgs) {
    if (msg.type !== RTM_NEWROUTE) continue;
    const r = decodeRoute(msg);
    if (!r || r.family !== f.family) continue;
    if (f.table !== undefined && r.table !== f.table) continue;
    if (f.protocol !== undefined && r.protocol !== f.protocol) continue;
    if (f.type !== undefined && r.type !== f.type) continue;
    if (f.oif !== undefined && r.oif !== f.oif && !r.nexthops.some((n) => n.oif === f.oif)) continue;
    out.push(r);
  }
  return out;
}
