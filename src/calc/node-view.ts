/**
 * A NodeRecord from the datastore, checked and in canonical form. Records come from other agents
 * (possibly older or broken ones), so nothing here throws: what does not parse is left out and
 * described in `problems`, and the calculation routes around it.
 */
import { type Cidr, type Family, formatIp, isMac, parseCidr, parseIp } from '../common/ip.js';
import type { NodeRecord } from '../model/node.js';

export interface Underlay {
  /** The node's underlay address with its subnet, as recorded ("172.30.1.11/24"). */
  readonly cidr: Cidr;
  /** The address alone, canonical ("172.30.1.11"). */
  readonly ip: string;
}

export interface Vtep {
  /** Lower-case MAC of the node's VXLAN device. */
  readonly mac: string;
  /** Canonical tunnel addresses by family. */
  readonly tunnel: { readonly 4?: string; readonly 6?: string };
}

export interface NodeView {
  readonly name: string;
  readonly underlay: { readonly 4?: Underlay; readonly 6?: Underlay };
  /** undefined when the record's value is not a usable MTU. */
  readonly uplinkMtu: number | undefined;
  readonly vtep: Vtep | undefined;
  readonly problems: readonly string[];
}

export const MIN_LINK_MTU = 576;
export const MAX_LINK_MTU = 65535;

function underlayOf(value: string | undefined, family: Family, what: string, problems: string[]): Underlay | undefined {
  if (value === undefined || value === '') return undefined;
  const c = typeof value === 'string' ? parseCidr(value) : undefined;
  if (!c || c.family !== family) {
    problems.push(`${what} ${JSON.stringify(value)} is not an IPv${family} address with a prefix length`);
    return undefined;
  }
  return { cidr: c, ip: formatIp(c.ip) };
}

/** A tunnel address may be recorded bare ("10.244.0.1") or as a host route ("10.244.0.1/32"). */
function tunnelOf(value: string | undefined, family: Family, problems: string[]): string | undefined {
  if (value === undefined || value === '') return undefined;
  const slash = typeof value === 'string' ? value.indexOf('/') : -1;
  const host = slash < 0 ? value : value.slice(0, slash);
  const ip = parseIp(host);
  const prefixOk = slash < 0 || value.slice(slash + 1) === String(family === 4 ? 32 : 128);
  if (!ip || ip.family !== family || !prefixOk) {
    problems.push(`VXLAN tunnel address ${JSON.stringify(value)} is not one IPv${family} address`);
    return undefined;
  }
  return formatIp(ip);
}

function vtepOf(rec: NodeRecord, problems: string[]): Vtep | undefined {
  const v = rec.vxlan;
  if (!v) return undefined;
  const mac = typeof v.mac === 'string' ? v.mac.toLowerCase() : '';
  if (!isMac(mac) || (parseInt(mac.slice(0, 2), 16) & 1) === 1 || mac === '00:00:00:00:00:00') {
    problems.push(`VXLAN MAC ${JSON.stringify(v.mac)} is not a unicast MAC address`);
    return undefined;
  }
  const t4 = tunnelOf(v.tunnelV4, 4, problems);
  const t6 = tunnelOf(v.tunnelV6, 6, problems);
  return { mac, tunnel: { ...(t4 === undefined ? {} : { 4: t4 }), ...(t6 === undefined ? {} : { 6: t6 }) } };
}

export function viewNode(rec: NodeRecord): NodeView {
  const problems: string[] = [];
  const u4 = underlayOf(rec.addressV4, 4, 'underlay address', problems);
  const u6 = underlayOf(rec.addressV6, 6, 'underlay address', problems);
  const mtuOk = Number.isInteger(rec.uplinkMtu) && rec.uplinkMtu >= MIN_LINK_MTU && rec.uplinkMtu <= MAX_LINK_MTU;
  if (!mtuOk) problems.push(`uplink MTU ${JSON.stringify(rec.uplinkMtu)} is not an integer in ${MIN_LINK_MTU}..${MAX_LINK_MTU}`);
  return {
    name: rec.name,
    underlay: { ...(u4 ? { 4: u4 } : {}), ...(u6 ? { 6: u6 } : {}) },
    uplinkMtu: mtuOk ? rec.uplinkMtu : undefined,
    vtep: vtepOf(rec, problems),
    problems,
  };
}
