/**
 * An in-memory ClusterDataplane for the agent's tests: it keeps the kernel objects the Linux
 * adapter would (routes with protocol 148, VXLAN devices with their addresses, FDB and neighbour
 * entries, the NAT sets), validates input and computes the delta with the same shared code
 * (src/calc/validate.ts, src/calc/delta.ts), so its ApplyReports are the ones Linux gives.
 * `tamper` changes the state behind the reconciler's back, as an operator might, to test resync.
 */
import { PodnetError } from '../../common/errors.js';
import { type ClusterDelta, type ObservedCluster, type ObservedDevice, type ObservedRoute, deltaSize, diffCluster, reportOf } from '../../calc/delta.js';
import { ClusterErrors } from '../../calc/errors.js';
import type { ApplyReport, ClusterDataplane, DesiredCluster, DesiredNat } from '../../calc/types.js';
import { validateDesired } from '../../calc/validate.js';
import { DataplaneErrors } from '../errors.js';

export interface FakeClusterOptions {
  /** Links that exist besides podnet's own; route and VXLAN lower devices must be among them. Default ["eth0"]. */
  readonly links?: readonly string[];
  /** As in LinuxClusterDataplane: "disable" (default) turns TX checksum offload off on VXLAN devices. */
  readonly txChecksumOffload?: 'disable' | 'keep';
}

export interface FakeClusterStats {
  applies: number;
  /** Applies that changed nothing. */
  noops: number;
  clears: number;
  /** Kernel objects changed over the object's life (the sum of every report's counts). */
  changes: number;
}

type Device = { -readonly [K in keyof ObservedDevice]: ObservedDevice[K] } & {
  fdb: { mac: string; dst: string }[];
  neigh: { ip: string; mac: string }[];
  addresses: string[];
};

const routeKey = (r: { family: number; dst: string }): string => `${r.family} ${r.dst}`;
const sameNat = (a: DesiredNat, b: DesiredNat): boolean =>
  JSON.stringify([[...a.natCidrs].sort(), [...a.clusterCidrs].sort()]) === JSON.stringify([[...b.natCidrs].sort(), [...b.clusterCidrs].sort()]);

export class FakeClusterDataplane implements ClusterDataplane {
  readonly stats: FakeClusterStats = { applies: 0, noops: 0, clears: 0, changes: 0 };
  private readonly links: Set<string>;
  private readonly disableTxChecksum: boolean;
  private readonly routes = new Map<string, ObservedRoute>();
  private readonly devices = new Map<string, Device>();
  private nat: DesiredNat | undefined;
  private readonly failures: string[] = [];

  constructor(opts: FakeClusterOptions = {}) {
    this.links = new Set(opts.links ?? ['eth0']);
    this.disableTxChecksum = (opts.txChecksumOffload ?? 'disable') === 'disable';
  }

  /** The next apply or clear fails with DATAPLANE_INJECTED before changing anything. */
  failNext(message = 'injected failure'): void {
    this.failures.push(message);
  }

  /** What the "kernel" holds now, in the shape the Linux adapter reads back. */
  observed(): ObservedCluster {
    return {
      routes: [...this.routes.values()],
      devices: [...this.devices.values()].map((d) => ({ ...d, addresses: [...d.addresses], fdb: d.fdb.map((e) => ({ ...e })), neigh: d.neigh.map((e) => ({ ...e })) })),
    };
  }

  /** The NAT sets installed, or undefined when there is no NAT table. */
  natState(): DesiredNat | undefined {
    return this.nat && { natCidrs: [...this.nat.natCidrs], clusterCidrs: [...this.nat.clusterCidrs] };
  }

  /** Changes made behind the reconciler's back (operator, reboot, another program). */
  readonly tamper = {
    removeRoute: (family: 4 | 6, dst: string): boolean => this.routes.delete(routeKey({ family, dst })),
    putRoute: (r: ObservedRoute): void => void this.routes.set(routeKey(r), r),
    removeDevice: (name: string): boolean => this.deleteDevice(name),
    setDown: (name: string): void => {
      const d = this.devices.get(name);
      if (d) d.up = false;
    },
    setTxChecksum: (name: string, on: boolean): void => {
      const d = this.devices.get(name);
      if (d) d.txChecksum = on;
    },
    removeNeigh: (dev: string, ip: string): void => {
      const d = this.devices.get(dev);
      if (d) d.neigh = d.neigh.filter((n) => n.ip !== ip);
    },
    removeNat: (): void => {
      this.nat = undefined;
    },
  };

  async apply(desired: DesiredCluster): Promise<ApplyReport> {
    this.injected();
    const d = validateDesired(desired);
    for (const v of d.vxlan) this.requireLink(v.underlayDev, `VXLAN device ${v.name}`);
    const own = new Set(d.vxlan.map((v) => v.name));
    for (const r of d.routes) if (r.kind === 'via' && !own.has(r.dev)) this.requireLink(r.dev, `route ${r.dst}`);
    const delta = diffCluster(d, this.observed(), { disableTxChecksum: this.disableTxChecksum });
    const natChanged = this.applyNat(d.nat);
    this.applyDelta(delta);
    const report = reportOf(delta, natChanged);
    this.stats.applies++;
    const n = deltaSize(delta) + (natChanged ? 1 : 0);
    if (n === 0) this.stats.noops++;
    this.stats.changes += n;
    return report;
  }

  async clear(): Promise<void> {
    this.injected();
    this.stats.clears++;
    this.stats.changes += this.routes.size + this.devices.size + (this.nat ? 1 : 0);
    this.routes.clear();
    this.devices.clear();
    this.nat = undefined;
  }

  // --- internals -------------------------------------------------------------------------------

  private injected(): void {
    const msg = this.failures.shift();
    if (msg !== undefined) throw new PodnetError(DataplaneErrors.DATAPLANE_INJECTED, msg);
  }

  private requireLink(name: string, what: string): void {
    if (!this.links.has(name)) throw new PodnetError(ClusterErrors.CLUSTER_UNDERLAY_NOT_FOUND, `${what}: device ${name} does not exist`);
  }

  private applyNat(n: DesiredNat): boolean {
    if (n.natCidrs.length === 0) {
      const had = this.nat !== undefined;
      this.nat = undefined;
      return had;
    }
    if (this.nat && sameNat(this.nat, n)) return false;
    this.nat = { natCidrs: [...n.natCidrs], clusterCidrs: [...n.clusterCidrs] };
    return true;
  }

  /** A device's routes go with it, as in the kernel. */
  private deleteDevice(name: string): boolean {
    for (const [k, r] of this.routes) if (r.kind === 'via' && r.dev === name) this.routes.delete(k);
    return this.devices.delete(name);
  }

  private applyDelta(delta: ClusterDelta): void {
    for (const r of delta.removeRoutes) this.routes.delete(routeKey(r));
    for (const name of delta.deleteDevices) this.deleteDevice(name);
    for (const v of delta.createDevices) {
      this.devices.set(v.name, {
        name: v.name,
        isVxlan: true,
        vni: v.vni,
        port: v.port,
        local: v.local,
        group: undefined,
        learning: false,
        underlayDev: v.underlayDev,
        mac: v.mac,
        mtu: v.mtu,
        up: true,
        txChecksum: !this.disableTxChecksum,
        addresses: [],
        fdb: [],
        neigh: [],
      });
    }
    for (const u of delta.updateDevices) {
      const d = this.devices.get(u.name);
      if (!d) continue;
      if (u.mtu !== undefined) d.mtu = u.mtu;
      if (u.up) d.up = true;
      if (u.disableTxChecksum) d.txChecksum = false;
    }
    for (const a of delta.removeAddresses) this.dev(a.dev).addresses = this.dev(a.dev).addresses.filter((x) => x !== a.cidr);
    for (const a of delta.addAddresses) this.dev(a.dev).addresses.push(a.cidr);
    for (const e of delta.setFdb) {
      const d = this.dev(e.dev);
      const i = d.fdb.findIndex((x) => x.mac === e.mac);
      if (i >= 0) d.fdb[i] = { mac: e.mac, dst: e.dst };
      else d.fdb.push({ mac: e.mac, dst: e.dst });
    }
    for (const e of delta.setNeigh) {
      const d = this.dev(e.dev);
      d.neigh = [...d.neigh.filter((x) => x.ip !== e.ip), { ip: e.ip, mac: e.mac }];
    }
    for (const r of [...delta.addRoutes, ...delta.replaceRoutes.map((x) => x.to)]) this.routes.set(routeKey(r), r);
    for (const e of delta.removeFdb) {
      const d = this.devices.get(e.dev);
      if (d) d.fdb = d.fdb.filter((x) => !(x.mac === e.mac && x.dst === e.dst));
    }
    for (const e of delta.removeNeigh) {
      const d = this.devices.get(e.dev);
      if (d) d.neigh = d.neigh.filter((x) => x.ip !== e.ip);
    }
  }

  private dev(name: string): Device {
    const d = this.devices.get(name);
    if (!d) throw new PodnetError(ClusterErrors.CLUSTER_INVALID_DESIRED, `device ${name} does not exist`);
    return d;
  }
}

