/**
 * Neighbours (RTM_*NEIGH, struct ndmsg): IP neighbour entries (ARP/ND) and bridge FDB entries
 * (AF_BRIDGE), the latter for VXLAN devices with a static FDB: NTF_SELF, NDA_LLADDR = the remote
 * VTEP's MAC (or 00:00:00:00:00:00 for flooding), NDA_DST = the remote VTEP's underlay IP.
 */
import type { Family } from '../../../common/ip.js';
import { isKernelError } from '../../errors.js';
import { type EncodedAttr, type NlMessage, attr, attrMap, attrU16be, attrU32, getU16be, getU32, readS32, readU16, writeS32, writeU16 } from './codec.js';
import {
  AF_BRIDGE,
  AF_UNSPEC,
  NDA_DST,
  NDA_IFINDEX,
  NDA_LLADDR,
  NDA_MASTER,
  NDA_PORT,
  NDA_VNI,
  NDMSG_LEN,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NTF_SELF,
  NUD_PERMANENT,
  RTM_DELNEIGH,
  RTM_GETNEIGH,
  RTM_NEWNEIGH,
} from './constants.js';
import type { NetlinkSocket, NlRequest } from './socket.js';
import { afOf, familyOfAf, ipBytes, ipFamily, ipText, macBytes, macText } from './values.js';

export interface NdMsg {
  readonly family: number;
  readonly index: number;
  readonly state: number;
  readonly flags: number;
  readonly type: number;
}

export function encodeNdmsg(h: NdMsg): Buffer {
  const b = Buffer.alloc(NDMSG_LEN);
  b.writeUInt8(h.family, 0);
  writeS32(b, h.index, 4);
  writeU16(b, h.state, 8);
  b.writeUInt8(h.flags, 10);
  b.writeUInt8(h.type, 11);
  return b;
}

export function decodeNdmsg(p: Buffer): NdMsg {
  if (p.length < NDMSG_LEN) throw new RangeError(`short ndmsg (${p.length} bytes)`);
  return { family: p.readUInt8(0), index: readS32(p, 4), state: readU16(p, 8), flags: p.readUInt8(10), type: p.readUInt8(11) };
}

export interface NeighSpec {
  readonly index: number;
  /** The neighbour's IP address (the family follows from it). */
  readonly dst: string;
  readonly lladdr: string;
  /** Default NUD_PERMANENT. */
  readonly state?: number;
  readonly flags?: number;
  /** Device name, for error messages only. */
  readonly dev?: string;
}

export interface NeighInfo {
  /** 4 or 6 for IP neighbours, undefined for bridge FDB entries. */
  readonly family: Family | undefined;
  readonly bridge: boolean;
  readonly index: number;
  readonly state: number;
  readonly flags: number;
  readonly dst: string | undefined;
  readonly lladdr: string | undefined;
  readonly vni: number | undefined;
  readonly port: number | undefined;
  readonly master: number | undefined;
}

export function decodeNeigh(msg: NlMessage): NeighInfo {
  const h = decodeNdmsg(msg.payload);
  const m = attrMap(msg.payload, NDMSG_LEN);
  const dst = m.get(NDA_DST);
  const ll = m.get(NDA_LLADDR);
  return {
    family: familyOfAf(h.family),
    bridge: h.family === AF_BRIDGE,
    index: h.index,
    state: h.state,
    flags: h.flags,
    dst: dst && (dst.length === 4 || dst.length === 16) ? ipText(dst) : undefined,
    lladdr: ll && ll.length > 0 ? macText(ll) : undefined,
    vni: getU32(m, NDA_VNI),
    port: getU16be(m, NDA_PORT),
    master: getU32(m, NDA_MASTER),
  };
}

const neighWhat = (verb: string, s: NeighSpec): string => `${verb} neighbour ${s.dst} lladdr ${s.lladdr} dev ${s.dev ?? `#${s.index}`}`;

function neighPayload(s: NeighSpec): Buffer {
  return Buffer.concat([
    encodeNdmsg({ family: afOf(ipFamily(s.dst)), index: s.index, state: s.state ?? NUD_PERMANENT, flags: s.flags ?? 0, type: 0 }),
    attr(NDA_DST, ipBytes(s.dst)),
    attr(NDA_LLADDR, macBytes(s.lladdr)),
  ]);
}

export function replaceNeighRequest(s: NeighSpec): NlRequest {
  return { type: RTM_NEWNEIGH, flags: NLM_F_CREATE | NLM_F_REPLACE, payload: neighPayload(s), what: neighWhat('replace', s) };
}

export function deleteNeighRequest(s: NeighSpec): NlRequest {
  return { type: RTM_DELNEIGH, flags: 0, payload: neighPayload(s), what: neighWhat('delete', s) };
}

/** IP neighbours; the kernel filters by device (NDA_IFINDEX, strict checking). */
export function listNeighRequest(f: { family?: Family; index?: number } = {}): NlRequest {
  const head = encodeNdmsg({ family: f.family ? afOf(f.family) : AF_UNSPEC, index: 0, state: 0, flags: 0, type: 0 });
  const attrs: EncodedAttr[] = f.index ? [attrU32(NDA_IFINDEX, f.index)] : [];
  return { type: RTM_GETNEIGH, flags: 0, payload: Buffer.concat([head, ...attrs]), what: 'list neighbours' };
}

// --- bridge FDB (VXLAN) ----------------------------------------------------------------------

export interface FdbSpec {
  /** The VXLAN (or bridge port) device index. */
  readonly index: number;
  /** MAC behind the remote VTEP; "00:00:00:00:00:00" is the flood (BUM) entry. */
  readonly lladdr: string;
  /** Remote VTEP underlay address. */
  readonly dst?: string;
  readonly vni?: number;
  readonly port?: number;
  /** Default NUD_PERMANENT. */
  readonly state?: number;
  /** Default NTF_SELF (program the device's own FDB, not a bridge master's). */
  readonly flags?: number;
  readonly dev?: string;
}

const fdbWhat = (verb: string, s: FdbSpec): string => `${verb} fdb ${s.lladdr}${s.dst ? ` dst ${s.dst}` : ''} dev ${s.dev ?? `#${s.index}`}`;

export function encodeFdb(s: FdbSpec): Buffer {
  const attrs: EncodedAttr[] = [attr(NDA_LLADDR, macBytes(s.lladdr))];
  if (s.dst !== undefined) attrs.push(attr(NDA_DST, ipBytes(s.dst)));
  if (s.vni !== undefined) attrs.push(attrU32(NDA_VNI, s.vni));
  if (s.port !== undefined) attrs.push(attrU16be(NDA_PORT, s.port));
  return Buffer.concat([encodeNdmsg({ family: AF_BRIDGE, index: s.index, state: s.state ?? NUD_PERMANENT, flags: s.flags ?? NTF_SELF, type: 0 }), ...attrs]);
}

/** Sets the one entry for this MAC (replacing its destination). */
export function replaceFdbRequest(s: FdbSpec): NlRequest {
  return { type: RTM_NEWNEIGH, flags: NLM_F_CREATE | NLM_F_REPLACE, payload: encodeFdb(s), what: fdbWhat('replace', s) };
}

/** Adds one more destination for this MAC (several remotes for the flood entry). */
export function appendFdbRequest(s: FdbSpec): NlRequest {
  return { type: RTM_NEWNEIGH, flags: NLM_F_CREATE | NLM_F_APPEND, payload: encodeFdb(s), what: fdbWhat('append', s) };
}

export function addFdbRequest(s: FdbSpec): NlRequest {
  return { type: RTM_NEWNEIGH, flags: NLM_F_CREATE | NLM_F_EXCL, payload: encodeFdb(s), what: fdbWhat('add', s) };
}

/** Deletes the entry (with dst: only that destination of it). */
export function deleteFdbRequest(s: FdbSpec): NlRequest {
  return { type: RTM_DELNEIGH, flags: 0, payload: encodeFdb(s), what: fdbWhat('delete', s) };
}

export function listFdbRequest(index?: number): NlRequest {
  const head = encodeNdmsg({ family: AF_BRIDGE, index: 0, state: 0, flags: 0, type: 0 });
  return { type: RTM_GETNEIGH, flags: 0, payload: Buffer.concat([head, ...(index ? [attrU32(NDA_IFINDEX, index)] : [])]), what: 'list fdb' };
}

// --- operations ------------------------------------------------------------------------------

export function replaceNeigh(sock: NetlinkSocket, s: NeighSpec): void {
  sock.request(replaceNeighRequest(s));
}

export function deleteNeigh(sock: NetlinkSocket, s: NeighSpec): boolean {
  try {
    sock.request(deleteNeighRequest(s));
    return true;
  } catch (e) {
    if (isKernelError(e, 'ENOENT')) return false;
    throw e;
  }
}

export function listNeighbours(sock: NetlinkSocket, f: { family?: Family; index?: number } = {}): NeighInfo[] {
  return sock
    .dump(listNeighRequest(f))
    .filter((m) => m.type === RTM_NEWNEIGH)
    .map(decodeNeigh)
    .filter((n) => !n.bridge && (!f.family || n.family === f.family) && (!f.index || n.index === f.index));
}

export function replaceFdb(sock: NetlinkSocket, s: FdbSpec): void {
  sock.request(replaceFdbRequest(s));
}

export function appendFdb(sock: NetlinkSocket, s: FdbSpec): void {
  sock.request(appendFdbRequest(s));
}

export function deleteFdb(sock: NetlinkSocket, s: FdbSpec): boolean {
  try {
    sock.request(deleteFdbRequest(s));
    return true;
  } catch (e) {
    if (isKernelError(e, 'ENOENT')) return false;
    throw e;
  }
}

export function listFdb(sock: NetlinkSocket, index?: number): NeighInfo[] {
  return sock
    .dump(listFdbRequest(index))
    .filter((m) => m.type === RTM_NEWNEIGH)
    .map(decodeNeigh)
    .filter((n) => n.bridge && (!index || n.index === index));
}
