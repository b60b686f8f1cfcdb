/**
 * Validation of PodNetSpec, shared by the Linux dataplane and the fake so that both refuse the
 * same requests with the same error (DATAPLANE_INVALID_SPEC).
 */
import { PodnetError } from '../common/errors.js';
import { type Family, formatIp, isMac, parseIp } from '../common/ip.js';
import { DataplaneErrors } from './errors.js';
import { HOST_IF_PREFIX, HOST_VETH_MAC, POD_GATEWAY_V4, POD_GATEWAY_V6, type PodAddress, type PodNetSpec } from './types.js';

/** The host-side name format: HOST_IF_PREFIX + 12 lower-case hex characters. */
export const HOST_IFNAME_RE = new RegExp(`^${HOST_IF_PREFIX}[0-9a-f]{12}$`);

export const MIN_MTU = 68;
export const MAX_MTU = 65535;
/** IPv6 needs links of at least 1280 bytes; below that the kernel turns IPv6 off on the link. */
export const MIN_MTU_V6 = 1280;

export interface ValidPodNetSpec extends PodNetSpec {
  /** Addresses in canonical text, IPv4 first. */
  readonly addresses: readonly PodAddress[];
  readonly hasV4: boolean;
  readonly hasV6: boolean;
}

const invalid = (msg: string): PodnetError => new PodnetError(DataplaneErrors.DATAPLANE_INVALID_SPEC, msg);

/** Linux's dev_valid_name: 1-15 bytes, not "." or "..", no "/", ":" or white space. */
export function isValidIfname(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length >= 1 &&
    Buffer.byteLength(name) <= 15 &&
    name !== '.' &&
    name !== '..' &&
    !/[/:\s\0]/.test(name)
  );
}

export function assertHostIfname(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !HOST_IFNAME_RE.test(name)) {
    throw invalid(`host interface name ${JSON.stringify(name)} is not ${HOST_IF_PREFIX} followed by 12 hex characters`);
  }
}

function validAddress(a: PodAddress): PodAddress {
  const ip = a && typeof a.address === 'string' ? parseIp(a.address) : undefined;
  if (!ip || ip.family !== a.family) throw invalid(`bad IPv${String(a?.family)} pod address ${JSON.stringify(a?.address)}`);
  const text = formatIp(ip);
  const top = Number(ip.value >> (ip.family === 4 ? 24n : 120n));
  const special =
    ip.value === 0n ||
    (ip.family === 4
      ? top === 127 || top >= 224 || ip.value >> 16n === 0xa9fen // 127/8, multicast and class E, 169.254/16
      : top === 0xff || ip.value === 1n || ip.value >> 118n === 0x3fan); // ff00::/8, ::1, fe80::/10
  if (special || text === POD_GATEWAY_V4 || text === POD_GATEWAY_V6) {
    throw invalid(`pod address ${text} is unspecified, loopback, multicast or link-local`);
  }
  return { family: ip.family, address: text };
}

/** Checks a PodNetSpec and returns it with canonical addresses; throws DATAPLANE_INVALID_SPEC. */
export function validatePodNetSpec(spec: PodNetSpec): ValidPodNetSpec {
  if (!spec || typeof spec !== 'object') throw invalid('missing pod network spec');
  if (typeof spec.netnsPath !== 'string' || spec.netnsPath === '' || spec.netnsPath.includes('\0')) {
    throw invalid(`bad network namespace path ${JSON.stringify(spec.netnsPath)}`);
  }
  if (!isValidIfname(spec.ifname)) throw invalid(`bad pod interface name ${JSON.stringify(spec.ifname)}`);
  assertHostIfname(spec.hostIfname);
  if (!Array.isArray(spec.addresses) || spec.addresses.length === 0) throw invalid('a pod needs at least one address');
  const addresses = (spec.addresses as readonly PodAddress[]).map(validAddress).sort((a, b) => a.family - b.family);
  const seen = new Set<string>();
  for (const a of addresses) {
    if (seen.has(a.address)) throw invalid(`pod address ${a.address} given twice`);
    seen.add(a.address);
  }
  const has = (f: Family): boolean => addresses.some((a) => a.family === f);
  if (!Number.isInteger(spec.mtu) || spec.mtu < MIN_MTU || spec.mtu > MAX_MTU) throw invalid(`MTU ${spec.mtu} outside ${MIN_MTU}..${MAX_MTU}`);
  if (has(6) && spec.mtu < MIN_MTU_V6) throw invalid(`MTU ${spec.mtu} is below ${MIN_MTU_V6}, too small for IPv6`);
  let mac: string | undefined;
  if (spec.mac !== undefined) {
    if (typeof spec.mac !== 'string' || !isMac(spec.mac)) throw invalid(`bad MAC address ${JSON.stringify(spec.mac)}`);
    mac = spec.mac.toLowerCase();
    const first = parseInt(mac.slice(0, 2), 16);
    if (first & 1 || mac === '00:00:00:00:00:00' || mac === HOST_VETH_MAC) throw invalid(`MAC ${mac} is multicast, zero or the host veth's`);
  }
  return {
    netnsPath: spec.netnsPath,
    ifname: spec.ifname,
    hostIfname: spec.hostIfname,
    addresses,
    mtu: spec.mtu,
    ...(mac === undefined ? {} : { mac }),
    hasV4: has(4),
    hasV6: has(6),
  };
}

export const hostPrefixLen = (f: Family): number => (f === 4 ? 32 : 128);
