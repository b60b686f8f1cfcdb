/**
 * Checks a DesiredCluster before any adapter touches the kernel, and returns it in canonical text
 * (addresses and CIDRs as formatIp/formatCidr write them, MACs lower-case). Shared by the Linux
 * adapter and the fake so both refuse the same input with CLUSTER_INVALID_DESIRED; the nft
 * ruleset text is generated only from values that passed here.
 */
import { PodnetError } from '../common/errors.js';
import { type Family, formatCidr, formatIp, isMac, isNetworkAddress, parseCidr, parseIp } from '../common/ip.js';
import { BACKENDS } from '../model/node.js';
import { ClusterErrors } from './errors.js';
import type { DesiredCluster, DesiredNat, DesiredRoute, DesiredVxlan } from './types.js';
import { VXLAN_DEVICE, VXLAN_DEVICE_V6 } from './types.js';

/** The device names the cluster reconciler owns (and deletes when not desired). */
export const OWNED_DEVICES: readonly string[] = [VXLAN_DEVICE, VXLAN_DEVICE_V6];

const IFNAME_RE = /^[^/:\s\0]{1,15}$/;
const MIN_MTU = 68;
const MAX_MTU = 65535;

const invalid = (msg: string): never => {
  throw new PodnetError(ClusterErrors.CLUSTER_INVALID_DESIRED, msg);
};

function ip(s: unknown, what: string, family?: Family): string {
  const p = typeof s === 'string' ? parseIp(s) : undefined;
  if (!p || (family !== undefined && p.family !== family)) invalid(`${what} ${JSON.stringify(s)} is not an IPv${family ?? '4/6'} address`);
  return formatIp(p as NonNullable<typeof p>);
}

/** A network CIDR (no host bits), canonical. */
function network(s: unknown, what: string, family?: Family): string {
  const c = typeof s === 'string' ? parseCidr(s) : undefined;
  if (!c || (family !== undefined && c.family !== family) || !isNetworkAddress(c)) invalid(`${what} ${JSON.stringify(s)} is not an IPv${family ?? '4/6'} network CIDR`);
  return formatCidr(c as NonNullable<typeof c>);
}

function ifname(s: unknown, what: string): string {
  if (typeof s !== 'string' || !IFNAME_RE.test(s) || s === '.' || s === '..') invalid(`${what} ${JSON.stringify(s)} is not an interface name`);
  return s as string;
}

function mac(s: unknown, what: string): string {
  const m = typeof s === 'string' ? s.toLowerCase() : '';
  if (!isMac(m) || (parseInt(m.slice(0, 2), 16) & 1) === 1 || m === '00:00:00:00:00:00') invalid(`${what} ${JSON.stringify(s)} is not a unicast MAC`);
  return m;
}

function int(n: unknown, lo: number, hi: number, what: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < lo || n > hi) invalid(`${what} ${String(n)} is not an integer in ${lo}..${hi}`);
  return n as number;
}

const family = (f: unknown, what: string): Family => (f === 4 || f === 6 ? f : invalid(`${what}: family ${String(f)} is not 4 or 6`));

function route(r: DesiredRoute): DesiredRoute {
  const f = family(r?.family, 'route');
  const dst = network(r.dst, 'route destination', f);
  if (r.kind === 'blackhole') return { kind: 'blackhole', family: f, dst };
  if (r.kind !== 'via') return invalid(`route ${dst}: unknown kind ${JSON.stringify((r as { kind?: unknown }).kind)}`);
  const via = ip(r.via, `route ${dst} next hop`);
  if (f === 6 && parseIp(via)?.family === 4) invalid(`route ${dst}: an IPv6 route cannot go via IPv4 next hop ${via}`);
  const out = { kind: 'via' as const, family: f, dst, via, dev: ifname(r.dev, `route ${dst} device`), onlink: r.onlink === true };
  return r.mtu === undefined ? out : { ...out, mtu: int(r.mtu, MIN_MTU, MAX_MTU, `route ${dst} MTU`) };
}

function vxlan(d: DesiredVxlan): DesiredVxlan {
  const name = ifname(d?.name, 'VXLAN device');
  if (!OWNED_DEVICES.includes(name)) invalid(`VXLAN device ${name} is not one of ${OWNED_DEVICES.join(', ')}`);
  const f = family(d.family, `VXLAN device ${name}`);
  const hosts = (d.addresses ?? []).map((a) => {
    const c = typeof a === 'string' ? parseCidr(a) : undefined;
    if (!c) return invalid(`VXLAN device ${name}: address ${JSON.stringify(a)} is not a CIDR`);
    return `${formatIp(c.ip)}/${c.prefix}`;
  });
  const seenMac = new Set<string>();
  const seenTunnel = new Set<string>();
  const peers = (d.peers ?? []).map((p) => {
    const m = mac(p?.mac, `VXLAN device ${name}: peer MAC`);
    if (seenMac.has(m)) invalid(`VXLAN device ${name}: peer MAC ${m} given twice`);
    seenMac.add(m);
    const tunnelIps = (p.tunnelIps ?? []).map((t) => {
      const t2 = ip(t, `VXLAN device ${name}: peer ${m} tunnel address`);
      if (seenTunnel.has(t2)) invalid(`VXLAN device ${name}: tunnel address ${t2} given twice`);
      seenTunnel.add(t2);
      return t2;
    });
    return { mac: m, underlay: ip(p.underlay, `VXLAN device ${name}: peer ${m} underlay address`, f), tunnelIps };
  });
  return {
    name,
    family: f,
    vni: int(d.vni, 1, 0xffffff, `VXLAN device ${name} VNI`),
    port: int(d.port, 1, 65535, `VXLAN device ${name} port`),
    local: ip(d.local, `VXLAN device ${name} local address`, f),
    underlayDev: ifname(d.underlayDev, `VXLAN device ${name} underlay device`),
    mac: mac(d.mac, `VXLAN device ${name} MAC`),
    mtu: int(d.mtu, MIN_MTU, MAX_MTU, `VXLAN device ${name} MTU`),
    addresses: [...new Set(hosts)],
    peers,
  };
}

export function validateNat(n: DesiredNat): DesiredNat {
  const list = (xs: unknown, what: string): string[] => {
    if (!Array.isArray(xs)) return invalid(`NAT ${what} is not a list`);
    return [...new Set(xs.map((x) => network(x, `NAT ${what} entry`)))];
  };
  return { natCidrs: list(n?.natCidrs, 'source CIDRs'), clusterCidrs: list(n?.clusterCidrs, 'cluster CIDRs') };
}

export function validateDesired(d: DesiredCluster): DesiredCluster {
  if (!d || typeof d !== 'object') return invalid('missing desired cluster state');
  if (!(BACKENDS as readonly string[]).includes(d.backend)) invalid(`unknown backend ${JSON.stringify(d.backend)}`);
  const routes = (d.routes ?? []).map(route);
  const seen = new Set<string>();
  for (const r of routes) {
    if (seen.has(r.dst)) invalid(`two routes to ${r.dst}`);
    seen.add(r.dst);
  }
  const vx = (d.vxlan ?? []).map(vxlan);
  if (new Set(vx.map((v) => v.name)).size !== vx.length) invalid('a VXLAN device is given twice');
  const devices = new Set(vx.map((v) => v.name));
  for (const r of routes) {
    if (r.kind === 'via' && OWNED_DEVICES.includes(r.dev) && !devices.has(r.dev)) invalid(`route ${r.dst} goes through ${r.dev}, which is not desired`);
  }
  return {
    backend: d.backend,
    routes,
    vxlan: vx,
    nat: validateNat(d.nat),
    podMtu: int(d.podMtu, MIN_MTU, MAX_MTU, 'pod MTU'),
    problems: [...(d.problems ?? [])],
  };
}
