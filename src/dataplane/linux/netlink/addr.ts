/** Addresses (RTM_*ADDR, struct ifaddrmsg): codec, request builders and operations. */
import type { Family } from '../../../common/ip.js';
import { type NlMessage, attr, attrMap, attrU32, getString, getU32, readU32, writeU32 } from './codec.js';
import {
  AF_UNSPEC,
  IFADDRMSG_LEN,
  IFA_ADDRESS,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
  RT_SCOPE_UNIVERSE,
} from './constants.js';
import type { NetlinkSocket, NlRequest } from './socket.js';
import { afOf, familyOfAf, ipBytes, ipFamily, ipText } from './values.js';

export interface IfAddrMsg {
  readonly family: number;
  readonly prefixlen: number;
  readonly flags: number;
  readonly scope: number;
  readonly index: number;
}

export function encodeIfaddrmsg(h: IfAddrMsg): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b.writeUInt8(h.family, 0);
  b.writeUInt8(h.prefixlen, 1);
  b.writeUInt8(h.flags & 0xff, 2);
  b.writeUInt8(h.scope, 3);
  writeU32(b, h.index, 4);
  return b;
}

export function decodeIfaddrmsg(p: Buffer): IfAddrMsg {
  if (p.length < IFADDRMSG_LEN) throw new RangeError(`short ifaddrmsg (${p.length} bytes)`);
  return { family: p.readUInt8(0), prefixlen: p.readUInt8(1), flags: p.readUInt8(2), scope: p.readUInt8(3), index: readU32(p, 4) };
}

export interface AddrSpec {
  readonly index: number;
  readonly address: string;
  readonly prefixlen: number;
  /** IFA_F_* (NODAD, NOPREFIXROUTE...), sent in full as IFA_FLAGS. */
  readonly flags?: number;
  readonly scope?: number;
  /** Device name, for error messages only. */
  readonly dev?: string;
}

export interface AddrInfo {
  readonly family: Family;
  readonly index: number;
  readonly address: string;
  /** IFA_LOCAL when it differs from IFA_ADDRESS (point-to-point peers). */
  readonly local: string | undefined;
  readonly prefixlen: number;
  /** All IFA_F_* flags (IFA_FLAGS when present, else the 8-bit header field). */
  readonly flags: number;
  readonly scope: number;
  readonly label: string | undefined;
}

/** undefined for families other than IPv4/IPv6. */
export function decodeAddr(msg: NlMessage): AddrInfo | undefined {
  const h = decodeIfaddrmsg(msg.payload);
  const family = familyOfAf(h.family);
  if (!family) return undefined;
  const m = attrMap(msg.payload, IFADDRMSG_LEN);
  const a = m.get(IFA_ADDRESS) ?? m.get(IFA_LOCAL);
  if (!a) return undefined;
  const l = m.get(IFA_LOCAL);
  const address = ipText(a);
  const local = l ? ipText(l) : undefined;
  return {
    family,
    index: h.index,
    address,
    local: local === address ? undefined : local,
    prefixlen: h.prefixlen,
    flags: getU32(m, IFA_FLAGS) ?? h.flags,
    scope: h.scope,
    label: getString(m, IFA_LABEL),
  };
}

const addrWhat = (verb: string, s: AddrSpec): string => `${verb} address ${s.address}/${s.prefixlen} dev ${s.dev ?? `#${s.index}`}`;

function addrPayload(s: AddrSpec): Buffer {
  const family = ipFamily(s.address);
  const bytes = ipBytes(s.address);
  const flags = s.flags ?? 0;
  return Buffer.concat([
    encodeIfaddrmsg({ family: afOf(family), prefixlen: s.prefixlen, flags, scope: s.scope ?? RT_SCOPE_UNIVERSE, index: s.index }),
    attr(IFA_LOCAL, bytes),
    attr(IFA_ADDRESS, bytes),
    attrU32(IFA_FLAGS, flags),
  ]);
}

/** Adds an address; with replace an existing one is updated instead of EEXIST. */
export function addAddressRequest(s: AddrSpec, replace = false): NlRequest {
  return { type: RTM_NEWADDR, flags: NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL), payload: addrPayload(s), what: addrWhat('add', s) };
}

export function deleteAddressRequest(s: AddrSpec): NlRequest {
  return { type: RTM_DELADDR, flags: 0, payload: addrPayload(s), what: addrWhat('delete', s) };
}

/** Dump; the kernel filters by device itself (strict checking on the socket). */
export function listAddressesRequest(filter: { family?: Family; index?: number } = {}): NlRequest {
  const head = encodeIfaddrmsg({ family: filter.family ? afOf(filter.family) : AF_UNSPEC, prefixlen: 0, flags: 0, scope: 0, index: filter.index ?? 0 });
  return { type: RTM_GETADDR, flags: 0, payload: head, what: `list addresses${filter.index ? ` dev #${filter.index}` : ''}` };
}

export function addAddress(sock: NetlinkSocket, s: AddrSpec, replace = false): void {
  sock.request(addAddressRequest(s, replace));
}

export function deleteAddress(sock: NetlinkSocket, s: AddrSpec): void {
  sock.request(deleteAddressRequest(s));
}

export function listAddresses(sock: NetlinkSocket, filter: { family?: Family; index?: number } = {}): AddrInfo[] {
  const out: AddrInfo[] = [];
  for (const m of sock.dump(listAddressesRequest(filter))) {
    if (m.type !== RTM_NEWADDR) continue;
    const a = decodeAddr(m);
    if (!a) continue;
    if (filter.family && a.family !== filter.family) continue;
    if (filter.index && a.index !== filter.index) continue;
    out.push(a);
  }
  return out;
}
