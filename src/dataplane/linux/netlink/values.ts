/** Conversions between text (IP addresses, MACs) and the byte forms netlink carries. */
import { type Family, formatIp, isMac, parseIp } from '../../../common/ip.js';
import { AF_INET, AF_INET6 } from './constants.js';

export const afOf = (f: Family): number => (f === 4 ? AF_INET : AF_INET6);

export function familyOfAf(af: number): Family | undefined {
  if (af === AF_INET) return 4;
  if (af === AF_INET6) return 6;
  return undefined;
}

/** Network-order bytes of an IPv4 or IPv6 address; throws RangeError on junk. */
export function ipBytes(s: string): Buffer {
  const ip = parseIp(s);
  if (!ip) throw new RangeError(`not an IP address: ${JSON.stringify(s)}`);
  const n = ip.family === 4 ? 4 : 16;
  const out = Buffer.alloc(n);
  let v = ip.value;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function ipFamily(s: string): Family {
  const ip = parseIp(s);
  if (!ip) throw new RangeError(`not an IP address: ${JSON.stringify(s)}`);
  return ip.family;
}

/** Canonical text of a 4- or 16-byte address. */
export function ipText(b: Buffer): string {
  if (b.length !== 4 && b.length !== 16) throw new RangeError(`address of ${b.length} bytes`);
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return formatIp({ family: b.length === 4 ? 4 : 6, value: v });
}

export function macBytes(s: string): Buffer {
  if (!isMac(s)) throw new RangeError(`not a MAC address: ${JSON.stringify(s)}`);
  return Buffer.from(s.split(':').map((h) => parseInt(h, 16)));
}

/** Lower-case colon form; works for any length (6 for Ethernet). */
export function macText(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
