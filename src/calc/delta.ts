/**
 * The smallest change from what a node has (ObservedCluster, read back from the kernel or held by
 * the fake) to what it should have (a validated DesiredCluster). Pure, and shared by the Linux
 * adapter and the fake so both count the same changes.
 *
 * Identity: routes by (family, destination) in the main table with protocol 148 (a route equal
 * but for its metric counts as the desired one: no churn); devices by name
 * (podnet.vxlan, podnet.vxlan6); FDB entries by (device, MAC); neighbours by (device, address),
 * permanent ones only; addresses by (device, CIDR). A device whose creation-time attributes differ
 * (VNI, port, local address, lower device, learning, group, MAC, or not a VXLAN device at all) is
 * deleted and created again; everything it held is then re-added.
 */
import type { Family } from '../common/ip.js';
import type { ApplyReport, DesiredCluster, DesiredRoute, DesiredVxlan } from './types.js';

export type ObservedRoute =
  | (DesiredRoute & { readonly priority?: number })
  /** A route of ours in a shape we never install (multipath, no gateway...): always replaced. */
  | { readonly kind: 'other'; readonly family: Family; readonly dst: string; readonly priority?: number; readonly dev?: string };

export interface FdbEntry {
  readonly dev: string;
  readonly mac: string;
  /** Remote VTEP underlay address. */
  readonly dst: string;
}

export interface NeighEntry {
  readonly dev: string;
  readonly ip: string;
  readonly mac: string;
}

export interface AddressEntry {
  readonly dev: string;
  /** "10.244.0.1/32" */
  readonly cidr: string;
}

export interface ObservedDevice {
  readonly name: string;
  /** false when a link of this name exists but is not a VXLAN device. */
  readonly isVxlan: boolean;
  readonly vni?: number | undefined;
  readonly port?: number | undefined;
  readonly local?: string | undefined;
  readonly group?: string | undefined;
  readonly learning?: boolean | undefined;
  readonly underlayDev?: string | undefined;
  readonly mac?: string | undefined;
  readonly mtu?: number | undefined;
  readonly up: boolean;
  /** Whether TX checksum offload (tx-checksum-ip-generic) is on; undefined when not read. */
  readonly txChecksum?: boolean | undefined;
  /** Global addresses (CIDR text). */
  readonly addresses: readonly string[];
  readonly fdb: readonly { readonly mac: string; readonly dst: string }[];
  /** Permanent neighbour entries. */
  readonly neigh: readonly { readonly ip: string; readonly mac: string }[];
}

export interface ObservedCluster {
  readonly routes: readonly ObservedRoute[];
  readonly devices: readonly ObservedDevice[];
}

export interface DeviceUpdate {
  readonly name: string;
  readonly mtu?: number;
  readonly up?: true;
  readonly disableTxChecksum?: true;
}

/** A route whose attributes change: `to` takes the place of `from` (same destination and metric). */
export interface RouteReplacement {
  readonly from: ObservedRoute;
  readonly to: DesiredRoute;
}

export interface ClusterDelta {
  /** Devices not desired, or to be created again (those are also in createDevices). */
  readonly deleteDevices: readonly string[];
  readonly createDevices: readonly DesiredVxlan[];
  readonly updateDevices: readonly DeviceUpdate[];
  readonly addAddresses: readonly AddressEntry[];
  readonly removeAddresses: readonly AddressEntry[];
  readonly setFdb: readonly FdbEntry[];
  readonly removeFdb: readonly FdbEntry[];
  readonly setNeigh: readonly NeighEntry[];
  readonly removeNeigh: readonly NeighEntry[];
  readonly addRoutes: readonly DesiredRoute[];
  readonly replaceRoutes: readonly RouteReplacement[];
  readonly removeRoutes: readonly ObservedRoute[];
}

export interface DiffOptions {
  /** Turn TX checksum offload off on VXLAN devices where it is on (flannel-io/flannel#1279). */
  readonly disableTxChecksum: boolean;
}

/** The metric a route gets when none is given: 0 for IPv4, 1024 for IPv6. */
export const defaultPriority = (f: Family): number => (f === 4 ? 0 : 1024);

function mustRecreate(d: DesiredVxlan, o: ObservedDevice): boolean {
  return (
    !o.isVxlan ||
    o.vni !== d.vni ||
    o.port !== d.port ||
    o.local !== d.local ||
    o.group !== undefined ||
    o.learning !== false ||
    o.underlayDev !== d.underlayDev ||
    o.mac !== d.mac
  );
}

export function sameRoute(d: DesiredRoute, o: ObservedRoute): boolean {
  if (o.kind !== d.kind || o.family !== d.family || o.dst !== d.dst) return false;
  if (d.kind === 'blackhole' || o.kind !== 'via' || d.kind !== 'via') return d.kind === 'blackhole';
  return o.via === d.via && o.dev === d.dev && o.onlink === d.onlink && o.mtu === d.mtu;
}

const routeKey = (r: { family: Family; dst: string }): string => `${r.family} ${r.dst}`;

function diffRoutes(desired: readonly DesiredRoute[], observed: readonly ObservedRoute[], gone: ReadonlySet<string>) {
  const byDst = new Map<string, ObservedRoute[]>();
  for (const o of observed) {
    if (o.kind === 'via' && gone.has(o.dev)) continue; // removed with its device
    const k = routeKey(o);
    byDst.set(k, [...(byDst.get(k) ?? []), o]);
  }
  const addRoutes: DesiredRoute[] = [];
  const replaceRoutes: RouteReplacement[] = [];
  const removeRoutes: ObservedRoute[] = [];
  for (const d of desired) {
    const here = byDst.get(routeKey(d)) ?? [];
    byDst.delete(routeKey(d));
    const same = here.find((o) => sameRoute(d, o));
    if (same) {
      removeRoutes.push(...here.filter((o) => o !== same));
      continue;
    }
    const slot = here.find((o) => (o.priority ?? defaultPriority(o.family)) === defaultPriority(d.family));
    if (slot) replaceRoutes.push({ from: slot, to: d });
    else addRoutes.push(d);
    removeRoutes.push(...here.filter((o) => o !== slot));
  }
  for (const rest of byDst.values()) removeRoutes.push(...rest);
  return { addRoutes, replaceRoutes, removeRoutes };
}

function diffFdb(d: DesiredVxlan, o: ObservedDevice | undefined, setFdb: FdbEntry[], removeFdb: FdbEntry[]): void {
  const byMac = new Map<string, string[]>();
  for (const e of o?.fdb ?? []) byMac.set(e.mac, [...(byMac.get(e.mac) ?? []), e.dst]);
  for (const p of d.peers) {
    const dsts = byMac.get(p.mac) ?? [];
    byMac.delete(p.mac);
    if (dsts.includes(p.underlay)) {
      for (const x of dsts) if (x !== p.underlay) removeFdb.push({ dev: d.name, mac: p.mac, dst: x });
      continue;
    }
    setFdb.push({ dev: d.name, mac: p.mac, dst: p.underlay });
    for (const x of dsts.slice(1)) removeFdb.push({ dev: d.name, mac: p.mac, dst: x }); // replace rewrites the first
  }
  for (const [mac, dsts] of byMac) for (const x of dsts) removeFdb.push({ dev: d.name, mac, dst: x });
}

function diffNeigh(d: DesiredVxlan, o: ObservedDevice | undefined, setNeigh: NeighEntry[], removeNeigh: NeighEntry[]): void {
  const have = new Map<string, string>();
  for (const n of o?.neigh ?? []) have.set(n.ip, n.mac);
  for (const p of d.peers) {
    for (const ip of p.tunnelIps) {
      if (have.get(ip) !== p.mac) setNeigh.push({ dev: d.name, ip, mac: p.mac });
      have.delete(ip);
    }
  }
  for (const [ip, mac] of have) removeNeigh.push({ dev: d.name, ip, mac });
}

export function diffCluster(desired: DesiredCluster, observed: ObservedCluster, opts: DiffOptions): ClusterDelta {
  const observedDevs = new Map(observed.devices.map((o) => [o.name, o]));
  const wanted = new Map(desired.vxlan.map((d) => [d.name, d]));
  const deleteDevices: string[] = [];
  const createDevices: DesiredVxlan[] = [];
  const updateDevices: DeviceUpdate[] = [];
  const addAddresses: AddressEntry[] = [];
  const removeAddresses: AddressEntry[] = [];
  const setFdb: FdbEntry[] = [];
  const removeFdb: FdbEntry[] = [];
  const setNeigh: NeighEntry[] = [];
  const removeNeigh: NeighEntry[] = [];
  for (const o of observed.devices) if (!wanted.has(o.name)) deleteDevices.push(o.name);
  for (const d of desired.vxlan) {
    let o = observedDevs.get(d.name);
    if (o && mustRecreate(d, o)) {
      deleteDevices.push(d.name);
      o = undefined;
    }
    if (!o) createDevices.push(d);
    else {
      const u: { -readonly [K in keyof DeviceUpdate]: DeviceUpdate[K] } = { name: d.name };
      if (o.mtu !== d.mtu) u.mtu = d.mtu;
      if (!o.up) u.up = true;
      if (opts.disableTxChecksum && o.txChecksum === true) u.disableTxChecksum = true;
      if (Object.keys(u).length > 1) updateDevices.push(u);
    }
    const have = new Set(o?.addresses ?? []);
    for (const a of d.addresses) if (!have.delete(a)) addAddresses.push({ dev: d.name, cidr: a });
    for (const a of have) removeAddresses.push({ dev: d.name, cidr: a });
    diffFdb(d, o, setFdb, removeFdb);
    diffNeigh(d, o, setNeigh, removeNeigh);
  }
  const gone = new Set(deleteDevices);
  return { deleteDevices, createDevices, updateDevices, addAddresses, removeAddresses, setFdb, removeFdb, setNeigh, removeNeigh, ...diffRoutes(desired.routes, observed.routes, gone) };
}

export function deltaSize(d: ClusterDelta): number {
  return (
    d.deleteDevices.length +
    d.createDevices.length +
    d.updateDevices.length +
    d.addAddresses.length +
    d.removeAddresses.length +
    d.setFdb.length +
    d.removeFdb.length +
    d.setNeigh.length +
    d.removeNeigh.length +
    d.addRoutes.length +
    d.replaceRoutes.length +
    d.removeRoutes.length
  );
}

export function reportOf(d: ClusterDelta, natChanged: boolean): ApplyReport {
  const touched = new Set([
    ...d.deleteDevices,
    ...d.createDevices.map((x) => x.name),
    ...d.updateDevices.map((x) => x.name),
    ...d.addAddresses.map((x) => x.dev),
    ...d.removeAddresses.map((x) => x.dev),
  ]);
  return {
    routesAdded: d.addRoutes.length,
    routesRemoved: d.removeRoutes.length,
    routesReplaced: d.replaceRoutes.length,
    fdbChanged: d.setFdb.length + d.removeFdb.length,
    neighChanged: d.setNeigh.length + d.removeNeigh.length,
    devicesChanged: touched.size,
    natChanged,
  };
}

export const EMPTY_REPORT: ApplyReport = Object.freeze({
  routesAdded: 0,
  routesRemoved: 0,
  routesReplaced: 0,
  fdbChanged: 0,
  neighChanged: 0,
  devicesChanged: 0,
  natChanged: false,
});
