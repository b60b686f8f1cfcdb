/**
 * CNI results. podnet holds them in 1.x form (CniResult) and converts on output:
 *  - 1.0.0 and 1.1.0 share one shape (as libcni's types100 does; 1.0.0 readers ignore the
 *    1.1.0 interface mtu/socketPath/pciID and route mtu/advmss/priority/table/scope);
 *  - 0.3.0, 0.3.1 and 0.4.0 add ips[].version ("4"/"6"), keep ips[].interface, and have only
 *    name/mac/sandbox for interfaces and dst/gw for routes (SPEC.md at spec-v0.4.0).
 * parseResult reads a result of any supported version (prevResult, or what the agent returns)
 * into 1.x form and validates it; failures are CNI_INVALID_CONFIG naming the field's path.
 */
import { PodnetError } from '../common/errors.js';
import { parseCidr } from '../common/ip.js';
import { parseDns } from './dns.js';
import { CniErrors } from './errors.js';
import { invalidField, joinPath, optArray, optInt, optIp, optString, reqObject, reqString, showJson } from './json.js';
import { isLegacyVersion, isSupportedVersion, supportedVersionsText } from './version.js';
import type { CniDns, CniInterface, CniIpConfig, CniResult, CniRoute, CniVersion } from './types.js';

/** A 0.3.x/0.4.0 result as written on stdout. */
export interface LegacyResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { version: '4' | '6'; interface?: number; address: string; gateway?: string }[];
  routes?: { dst: string; gw?: string }[];
  dns?: CniDns;
}

export type WireResult = CniResult | LegacyResult;

// Hardware addresses: Ethernet (6 bytes) and longer ones such as InfiniBand's 20 bytes.
const HWADDR_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5,19}$/;
const MAX_U32 = 0xffffffff;

function parseInterface(v: unknown, path: string): CniInterface {
  const obj = reqObject(v, path, 'an interface object');
  const out: CniInterface = { name: reqString(obj['name'], joinPath(path, 'name')) };
  const mac = optString(obj['mac'], joinPath(path, 'mac'));
  if (mac) {
    if (!HWADDR_RE.test(mac)) throw invalidField(joinPath(path, 'mac'), 'a hardware address', mac);
    out.mac = mac;
  }
  const mtu = optInt(obj['mtu'], joinPath(path, 'mtu'), 0, MAX_U32);
  if (mtu !== undefined) out.mtu = mtu;
  for (const key of ['sandbox', 'socketPath', 'pciID'] as const) {
    const s = optString(obj[key], joinPath(path, key));
    if (s) out[key] = s;
  }
  return out;
}

function parseIpConfig(v: unknown, path: string, interfaceCount: number): CniIpConfig {
  const obj = reqObject(v, path, 'an IP config object');
  const address = reqString(obj['address'], joinPath(path, 'address'));
  const cidr = parseCidr(address);
  if (cidr === undefined) throw invalidField(joinPath(path, 'address'), 'an address in CIDR notation', address);
  const version = optString(obj['version'], joinPath(path, 'version'));
  if (version !== undefined && version !== String(cidr.family)) {
    throw invalidField(joinPath(path, 'version'), `"${cidr.family}" for ${address}`, version);
  }
  const out: CniIpConfig = { address };
  const gateway = optIp(obj['gateway'], joinPath(path, 'gateway'));
  if (gateway !== undefined) out.gateway = gateway;
  const iface = optInt(obj['interface'], joinPath(path, 'interface'), 0, MAX_U32);
  if (iface !== undefined) {
    if (iface >= interfaceCount) {
      throw invalidField(joinPath(path, 'interface'), `an index into interfaces (which has ${interfaceCount})`, iface);
    }
    out.interface = iface;
  }
  return out;
}

function parseRoute(v: unknown, path: string): CniRoute {
  const obj = reqObject(v, path, 'a route object');
  const dst = reqString(obj['dst'], joinPath(path, 'dst'));
  if (parseCidr(dst) === undefined) throw invalidField(joinPath(path, 'dst'), 'a destination in CIDR notation', dst);
  const out: CniRoute = { dst };
  const gw = optIp(obj['gw'], joinPath(path, 'gw'));
  if (gw !== undefined) out.gw = gw;
  for (const key of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
    const n = optInt(obj[key], joinPath(path, key), 0, MAX_U32);
    if (n !== undefined) out[key] = n;
  }
  return out;
}

function list<T>(v: unknown, path: string, each: (item: unknown, path: string) => T): T[] | undefined {
  const arr = optArray(v, path);
  if (arr === undefined || arr.length === 0) return undefined;
  return arr.map((item, i) => each(item, joinPath(path, i)));
}

/**
 * Parses a result of any supported version into 1.x form. A result without cniVersion (the
 * spec's own examples omit it inside prevResult) takes `defaultVersion`, the config's.
 */
export function parseResult(v: unknown, opts: { path: string; defaultVersion: CniVersion }): CniResult {
  const { path } = opts;
  const obj = reqObject(v, path, 'a result object');
  const rawVersion = obj['cniVersion'] ?? opts.defaultVersion;
  if (!isSupportedVersion(rawVersion)) {
    throw new PodnetError(
      CniErrors.CNI_INCOMPATIBLE_VERSION,
      `${joinPath(path, 'cniVersion')} ${showJson(rawVersion)} is not supported; podnet supports ${supportedVersionsText()}`,
    );
  }
  const out: CniResult = { cniVersion: rawVersion };
  const interfaces = list(obj['interfaces'], joinPath(path, 'interfaces'), parseInterface);
  if (interfaces) out.interfaces = interfaces;
  const ips = list(obj['ips'], joinPath(path, 'ips'), (item, p) => parseIpConfig(item, p, interfaces?.length ?? 0));
  if (ips) out.ips = ips;
  const routes = list(obj['routes'], joinPath(path, 'routes'), parseRoute);
  if (routes) out.routes = routes;
  const dns = parseDns(obj['dns'], joinPath(path, 'dns'), 'spec');
  if (dns) out.dns = dns;
  return out;
}

function familyOf(address: string): '4' | '6' {
  return parseCidr(address)?.family === 4 ? '4' : '6';
}

function toLegacy(r: CniResult, to: CniVersion): LegacyResult {
  const out: LegacyResult = { cniVersion: to };
  if (r.interfaces?.length) {
    out.interfaces = r.interfaces.map((i) => ({
      name: i.name,
      ...(i.mac ? { mac: i.mac } : {}),
      ...(i.sandbox ? { sandbox: i.sandbox } : {}),
    }));
  }
  if (r.ips?.length) {
    out.ips = r.ips.map((ip) => ({
      version: familyOf(ip.address),
      ...(ip.interface !== undefined ? { interface: ip.interface } : {}),
      address: ip.address,
      ...(ip.gateway ? { gateway: ip.gateway } : {}),
    }));
  }
  if (r.routes?.length) out.routes = r.routes.map((rt) => ({ dst: rt.dst, ...(rt.gw ? { gw: rt.gw } : {}) }));
  if (r.dns && Object.keys(r.dns).length > 0) out.dns = { ...r.dns };
  return out;
}

function toCurrent(r: CniResult, to: CniVersion): CniResult {
  const out: CniResult = { cniVersion: to };
  if (r.interfaces?.length) out.interfaces = r.interfaces.map((i) => ({ ...i }));
  if (r.ips?.length) out.ips = r.ips.map((ip) => ({ ...ip }));
  if (r.routes?.length) out.routes = r.routes.map((rt) => ({ ...rt }));
  if (r.dns && Object.keys(r.dns).length > 0) out.dns = { ...r.dns };
  return out;
}

/** Converts a (valid) 1.x result to the wire form of `to`. */
export function convertResult(r: CniResult, to: CniVersion): WireResult {
  return isLegacyVersion(to) ? toLegacy(r, to) : toCurrent(r, to);
}

/**
 * What a delegated IPAM plugin returns: "missing the interfaces array, as well as the
 * interface entry in ips" (SPEC.md "Delegated plugins (IPAM)").
 */
export function ipamResult(r: CniResult): CniResult {
  const out: CniResult = { cniVersion: r.cniVersion };
  if (r.ips?.length) {
    out.ips = r.ips.map((ip) => {
      const copy: CniIpConfig = { address: ip.address };
      if (ip.gateway !== undefined) copy.gateway = ip.gateway;
      return copy;
    });
  }
  if (r.routes?.length) out.routes = r.routes.map((rt) => ({ ...rt }));
  if (r.dns) out.dns = { ...r.dns };
  return out;
}
