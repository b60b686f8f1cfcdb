/**
 * runtimeConfig normalisation (SPEC.md "Deriving runtimeConfig"; CONVENTIONS.md well-known
 * capabilities). Runtimes differ in spelling:
 *  - containerd (go-cni) marshals Go structs without JSON tags: portMappings entries are
 *    {HostPort, ContainerPort, Protocol, HostIP} (HostIP "" when unset), bandwidth is
 *    {IngressRate, IngressBurst, EgressRate, EgressBurst} (0 when unset), dns is
 *    {Servers, Searches, Options};
 *  - podman sends lower-case portMappings with optional hostIP, `ips` without prefixes, and
 *    `aliases` as a map {networkName: [names]} rather than the conventions' list.
 * Unknown capabilities (ipRanges, cgroupPath, io.kubernetes.cri.pod-annotations, …) are left in
 * the raw config, not rejected: a runtime only sends what the config's `capabilities` asked for.
 */
import { isUnicastMac } from '../common/ip.js';
import { parseDns } from './dns.js';
import { eitherKey, invalidField, isIpOrCidr, joinPath, optArray, optInt, optIp, optObject, optString, optStringArray, reqObject, type JsonObject } from './json.js';
import { isValidNetworkName, NAME_RULE } from './names.js';
import type { BandwidthLimits, PortMapping, RuntimeConfig } from './types.js';

const PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;

function portMapping(v: unknown, path: string): PortMapping {
  const obj = reqObject(v, path, 'a port mapping object');
  const port = (lower: string, upper: string): number => {
    const f = eitherKey(obj, path, lower, upper);
    const n = optInt(f.value, f.path, 1, 65535);
    if (n === undefined) throw invalidField(f.path, 'a port number between 1 and 65535', f.value);
    return n;
  };
  const hostPort = port('hostPort', 'HostPort');
  const containerPort = port('containerPort', 'ContainerPort');
  const p = eitherKey(obj, path, 'protocol', 'Protocol');
  const proto = (optString(p.value, p.path) ?? '').toLowerCase() || 'tcp';
  if (!(PROTOCOLS as readonly string[]).includes(proto)) throw invalidField(p.path, PROTOCOLS.join(', ') + ' or empty', p.value);
  const h = eitherKey(obj, path, 'hostIP', 'HostIP');
  const hostIP = optIp(h.value, h.path);
  const out: PortMapping = { hostPort, containerPort, protocol: proto };
  if (hostIP !== undefined) out.hostIP = hostIP;
  return out;
}

function bandwidth(v: unknown, path: string): BandwidthLimits | undefined {
  const obj = optObject(v, path);
  if (obj === undefined) return undefined;
  const out: BandwidthLimits = {};
  for (const key of ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'] as const) {
    const f = eitherKey(obj, path, key, key[0]!.toUpperCase() + key.slice(1));
    const n = optInt(f.value, f.path, 0, Number.MAX_SAFE_INTEGER);
    if (n !== undefined && n > 0) out[key] = n; // 0 is how go-cni says "no limit"
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function aliases(v: unknown, path: string, networkName: string): string[] | undefined {
  let list: unknown = v;
  let listPath = path;
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    list = (v as JsonObject)[networkName];
    listPath = `${path}[${JSON.stringify(networkName)}]`;
  }
  const names = optStringArray(list, listPath, isValidNetworkName, `a name that ${NAME_RULE}`);
  return names && names.length > 0 ? names : undefined;
}

/** Normalises runtimeConfig; `networkName` picks podman's per-network aliases. */
export function normalizeRuntimeConfig(v: unknown, networkName: string, path = 'runtimeConfig'): RuntimeConfig {
  const obj = optObject(v, path);
  const out: RuntimeConfig = {};
  if (obj === undefined) return out;
  const ips = optStringArray(obj['ips'], joinPath(path, 'ips'), isIpOrCidr, 'an address or address/prefix');
  if (ips && ips.length > 0) out.ips = ips;
  const mac = optString(obj['mac'], joinPath(path, 'mac'));
  if (mac !== undefined && mac !== '') {
    if (!isUnicastMac(mac)) throw invalidField(joinPath(path, 'mac'), 'a unicast MAC address', mac);
    out.mac = mac.toLowerCase();
  }
  const pmPath = joinPath(path, 'portMappings');
  const pms = optArray(obj['portMappings'], pmPath);
  if (pms && pms.length > 0) out.portMappings = pms.map((pm, i) => portMapping(pm, joinPath(pmPath, i)));
  const bw = bandwidth(obj['bandwidth'], joinPath(path, 'bandwidth'));
  if (bw) out.bandwidth = bw;
  const dns = parseDns(obj['dns'], joinPath(path, 'dns'), 'runtime');
  if (dns) out.dns = dns;
  const al = aliases(obj['aliases'], joinPath(path, 'aliases'), networkName);
  if (al) out.aliases = al;
  return out;
}
