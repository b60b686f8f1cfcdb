/** Links (RTM_*LINK, struct ifinfomsg): codec, request builders and the operations on a socket. */
import { isKernelError } from '../../errors.js';
import { type EncodedAttr, type NlMessage, attr, attrMap, attrNested, attrString, attrU32, attrU8, getS32, getString, getU32, getU8, readS32, readU16, readU32, writeS32, writeU16, writeU32 } from './codec.js';
import {
  AF_INET6,
  AF_UNSPEC,
  IFF_UP,
  IFINFOMSG_LEN,
  IFLA_ADDRESS,
  IFLA_AF_SPEC,
  IFLA_EXT_MASK,
  IFLA_IFNAME,
  IFLA_INET6_ADDR_GEN_MODE,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_LINK_NETNSID,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_GROUP,
  IFLA_NET_NS_FD,
  IFLA_OPERSTATE,
  NLM_F_CREATE,
  NLM_F_ECHO,
  NLM_F_EXCL,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  RTM_SETLINK,
} from './constants.js';
import type { NetlinkSocket, NlRequest } from './socket.js';
import { macBytes, macText } from './values.js';

/** RTEXT_FILTER_SKIP_STATS: leave the (large) counters out of link answers. */
const RTEXT_FILTER_SKIP_STATS = 1 << 3;

export interface IfInfoMsg {
  readonly family: number;
  readonly type: number;
  readonly index: number;
  readonly flags: number;
  readonly change: number;
}

export function encodeIfinfomsg(h: Partial<IfInfoMsg> = {}): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(h.family ?? AF_UNSPEC, 0);
  writeU16(b, h.type ?? 0, 2);
  writeS32(b, h.index ?? 0, 4);
  writeU32(b, h.flags ?? 0, 8);
  writeU32(b, h.change ?? 0, 12);
  return b;
}

export function decodeIfinfomsg(p: Buffer): IfInfoMsg {
  if (p.length < IFINFOMSG_LEN) throw new RangeError(`short ifinfomsg (${p.length} bytes)`);
  return { family: p.readUInt8(0), type: readU16(p, 2), index: readS32(p, 4), flags: readU32(p, 8), change: readU32(p, 12) };
}

export interface LinkInfo {
  readonly index: number;
  readonly name: string;
  readonly flags: number;
  readonly up: boolean;
  readonly mtu: number | undefined;
  readonly mac: string | undefined;
  /** IFLA_INFO_KIND ("veth", "vxlan", "bridge"...), undefined for physical devices and lo. */
  readonly kind: string | undefined;
  /** IFLA_LINK: a veth's peer index (in the peer's namespace), a vxlan's lower device... */
  readonly link: number | undefined;
  /** IFLA_LINK_NETNSID: set when `link` lives in another namespace. */
  readonly linkNetnsId: number | undefined;
  readonly master: number | undefined;
  readonly operstate: number | undefined;
  /** Raw IFLA_INFO_DATA (kind-specific; e.g. decodeVxlanData for "vxlan"). */
  readonly infoData: Buffer | undefined;
}

export function decodeLink(msg: NlMessage): LinkInfo {
  const h = decodeIfinfomsg(msg.payload);
  const m = attrMap(msg.payload, IFINFOMSG_LEN);
  const addr = m.get(IFLA_ADDRESS);
  const info = m.get(IFLA_LINKINFO);
  const im = info ? attrMap(info) : undefined;
  const kind = im ? getString(im, IFLA_INFO_KIND) : undefined;
  const data = im?.get(IFLA_INFO_DATA);
  return {
    index: h.index,
    name: getString(m, IFLA_IFNAME) ?? '',
    flags: h.flags,
    up: (h.flags & IFF_UP) !== 0,
    mtu: getU32(m, IFLA_MTU),
    mac: addr && addr.length > 0 ? macText(addr) : undefined,
    kind,
    link: getS32(m, IFLA_LINK),
    linkNetnsId: getS32(m, IFLA_LINK_NETNSID),
    master: getU32(m, IFLA_MASTER),
    operstate: getU8(m, IFLA_OPERSTATE),
    infoData: data,
  };
}

/** A link named or numbered. Names are looked up by the kernel (ifi_index 0 + IFLA_IFNAME). */
export type LinkRef = { readonly name: string } | { readonly index: number };

const refText = (r: LinkRef): string => ('name' in r ? r.name : `#${r.index}`);

function refHeader(r: LinkRef, h: Partial<IfInfoMsg> = {}): { head: Buffer; attrs: EncodedAttr[] } {
  if ('name' in r) return { head: encodeIfinfomsg(h), attrs: [attrString(IFLA_IFNAME, r.name)] };
  return { head: encodeIfinfomsg({ ...h, index: r.index }), attrs: [] };
}

export function getLinkRequest(r: LinkRef): NlRequest {
  const { head, attrs } = refHeader(r);
  return { type: RTM_GETLINK, flags: 0, payload: Buffer.concat([head, ...attrs, attrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)]), what: `get link ${refText(r)}` };
}

export function listLinksRequest(): NlRequest {
  return { type: RTM_GETLINK, flags: 0, payload: Buffer.concat([encodeIfinfomsg(), attrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)]), what: 'list links' };
}

export function deleteLinkRequest(r: LinkRef): NlRequest {
  const { head, attrs } = refHeader(r);
  return { type: RTM_DELLINK, flags: 0, payload: Buffer.concat([head, ...attrs]), what: `delete link ${refText(r)}` };
}

export interface SetLinkOptions {
  readonly up?: boolean;
  readonly mtu?: number;
  readonly mac?: string;
  /** IPv6 link-local generation (IN6_ADDR_GEN_MODE_*); NONE stops the kernel adding one. */
  readonly addrGenMode?: number;
  /** Interface group (IFLA_GROUP), which nftables matches as iifgroup/oifgroup. */
  readonly ifGroup?: number;
}

export function setLinkRequest(r: LinkRef, o: SetLinkOptions): NlRequest {
  const flags = o.up === undefined ? {} : { flags: o.up ? IFF_UP : 0, change: IFF_UP };
  const { head, attrs } = refHeader(r, flags);
  if (o.mtu !== undefined) attrs.push(attrU32(IFLA_MTU, o.mtu));
  if (o.mac !== undefined) attrs.push(attr(IFLA_ADDRESS, macBytes(o.mac)));
  if (o.ifGroup !== undefined) attrs.push(attrU32(IFLA_GROUP, o.ifGroup));
  if (o.addrGenMode !== undefined) {
    attrs.push(attrNested(IFLA_AF_SPEC, [attrNested(AF_INET6, [attrU8(IFLA_INET6_ADDR_GEN_MODE, o.addrGenMode)])]));
  }
  const parts = [o.up === undefined ? '' : o.up ? ' up' : ' down', o.mtu === undefined ? '' : ` mtu ${o.mtu}`, o.mac ? ` address ${o.mac}` : '', o.addrGenMode === undefined ? '' : ` addrgenmode ${o.addrGenMode}`, o.ifGroup === undefined ? '' : ` group ${o.ifGroup}`];
  return { type: RTM_SETLINK, flags: 0, payload: Buffer.concat([head, ...attrs]), what: `set link ${refText(r)}${parts.join('')}` };
}

/** Common settings of a link being created (also used for a veth's peer). */
export interface NewLinkBase {
  readonly name: string;
  readonly mtu?: number;
  readonly mac?: string;
  /** Bring it up as part of creation. */
  readonly up?: boolean;
  /** Create it directly inside the namespace open as this fd (IFLA_NET_NS_FD). */
  readonly netnsFd?: number;
  /** Interface group (IFLA_GROUP). */
  readonly ifGroup?: number;
}

/** ifinfomsg + the base attributes of a link being created. */
export function newLinkHeader(b: NewLinkBase): Buffer {
  const parts: Buffer[] = [encodeIfinfomsg(b.up ? { flags: IFF_UP, change: IFF_UP } : {}), attrString(IFLA_IFNAME, b.name)];
  if (b.mtu !== undefined) parts.push(attrU32(IFLA_MTU, b.mtu));
  if (b.mac !== undefined) parts.push(attr(IFLA_ADDRESS, macBytes(b.mac)));
  if (b.netnsFd !== undefined) parts.push(attrU32(IFLA_NET_NS_FD, b.netnsFd));
  if (b.ifGroup !== undefined) parts.push(attrU32(IFLA_GROUP, b.ifGroup));
  return Buffer.concat(parts);
}

/** RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL (never modifies an existing link) for `kind`. */
export function newLinkRequest(b: NewLinkBase, kind: string, data: readonly EncodedAttr[] | undefined, what: string, echo = false): NlRequest {
  const info = [attrString(IFLA_INFO_KIND, kind)];
  if (data) info.push(attrNested(IFLA_INFO_DATA, data));
  return {
    type: RTM_NEWLINK,
    flags: NLM_F_CREATE | NLM_F_EXCL | (echo ? NLM_F_ECHO : 0),
    payload: Buffer.concat([newLinkHeader(b), attrNested(IFLA_LINKINFO, info)]),
    what,
  };
}

// --- operations ------------------------------------------------------------------------------

/** The link, or undefined when it does not exist (ENODEV). */
export function getLink(sock: NetlinkSocket, r: LinkRef): LinkInfo | undefined {
  try {
    const msgs = sock.request(getLinkRequest(r));
    const m = msgs.find((x) => x.type === RTM_NEWLINK);
    return m ? decodeLink(m) : undefined;
  } catch (e) {
    if (isKernelError(e, 'ENODEV')) return undefined;
    throw e;
  }
}

export function listLinks(sock: NetlinkSocket): LinkInfo[] {
  return sock.dump(listLinksRequest()).filter((m) => m.type === RTM_NEWLINK).map(decodeLink);
}

/** Deletes a link; returns false when it did not exist. */
export function deleteLink(sock: NetlinkSocket, r: LinkRef): boolean {
  try {
    sock.request(deleteLinkRequest(r));
    return true;
  } catch (e) {
    if (isKernelError(e, 'ENODEV')) return false;
    throw e;
  }
}

export function setLink(sock: NetlinkSocket, r: LinkRef, o: SetLinkOptions): void {
  sock.request(setLinkRequest(r, o));
}
