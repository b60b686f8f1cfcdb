/**
 * ClusterDataplane on Linux: read back what the reconciler owns (routes with protocol 148, the
 * podnet.vxlan devices with their addresses, FDB and neighbour entries, the NAT table), compute
 * the smallest delta (src/calc/delta.ts, shared with the fake) and apply it. An apply of what is
 * already there sends no change at all, which is what makes a periodic resync cheap; it also
 * repairs whatever someone changed behind our back.
 *
 * All work happens inside one network namespace (`netns`, a path), through one rtnetlink socket
 * opened there, one generic netlink socket for ethtool, and nft run under nsenter. Calls are
 * serialised; the netlink part of a call runs synchronously on the main thread.
 */
import { KeyedLock } from '../../../common/keyed-lock.js';
import { PodnetError } from '../../../common/errors.js';
import { type ObservedCluster, diffCluster, reportOf } from '../../../calc/delta.js';
import { ClusterErrors } from '../../../calc/errors.js';
import type { ApplyReport, ClusterDataplane, DesiredCluster } from '../../../calc/types.js';
import { OWNED_DEVICES, validateDesired } from '../../../calc/validate.js';
import { type LinkInfo, deleteLink } from '../netlink/link.js';
import { NetlinkSocket, type NetlinkStats } from '../netlink/socket.js';
import { NftNatTable, type ObservedNat } from '../nat/nat-table.js';
import { applyDelta, removeEach } from './apply.js';
import { Ethtool, TX_CHECKSUM_FEATURE } from './ethtool.js';
import { type KernelView, readCluster, readRoutes } from './observe.js';
import { type TxChecksumMode, disablesTxChecksum } from './offload.js';
import { removeRouteRequest } from './requests.js';

export interface LinuxClusterOptions {
  /** Path of the network namespace to work in (/run/netns/x); default: this process's own. */
  readonly netns?: string;
  /**
   * TX checksum offload on the VXLAN devices (see offload.ts): "disable" (default) turns
   * tx-checksum-ip-generic off (flannel-io/flannel#1279), "auto" only on kernels before 5.7,
   * "keep" leaves the kernel's default.
   */
  readonly txChecksumOffload?: TxChecksumMode;
  /** How long to wait for a netlink answer, in ms (default 5000). */
  readonly timeoutMs?: number;
  /** The nft executable (default "nft" from PATH). */
  readonly nftPath?: string;
}

/** Milliseconds spent in the phases of the last apply. */
export interface ApplyTimings {
  readonly readMs: number;
  readonly writeMs: number;
  readonly natMs: number;
}

export class LinuxClusterDataplane implements ClusterDataplane {
  private readonly netns: string | undefined;
  private readonly timeoutMs: number;
  private readonly lock = new KeyedLock();
  private readonly ethtool: Ethtool | undefined;
  private readonly nat: NftNatTable;
  private sock: NetlinkSocket | undefined;
  private timings: ApplyTimings = { readMs: 0, writeMs: 0, natMs: 0 };

  constructor(opts: LinuxClusterOptions = {}) {
    this.netns = opts.netns;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    const label = this.netns === undefined ? 'node' : `node ${this.netns}`;
    const where = this.netns === undefined ? {} : { netnsPath: this.netns };
    this.ethtool = disablesTxChecksum(opts.txChecksumOffload ?? 'disable') ? new Ethtool({ ...where, label, timeoutMs: this.timeoutMs }) : undefined;
    this.nat = new NftNatTable({ ...(this.netns === undefined ? {} : { netns: this.netns }), ...(opts.nftPath ? { nftPath: opts.nftPath } : {}), label, timeoutMs: this.timeoutMs });
  }

  get lastTimings(): ApplyTimings {
    return this.timings;
  }

  /** Counters of the rtnetlink socket (requests, sends, datagrams). */
  netlinkStats(): Readonly<NetlinkStats> {
    return { ...this.socket().stats };
  }

  async apply(desired: DesiredCluster): Promise<ApplyReport> {
    const d = validateDesired(desired);
    return this.lock.run('cluster', async () => {
      const t0 = performance.now();
      const sock = this.socket();
      const view = readCluster(sock, (l) => this.txChecksumOn(l));
      this.requireUnderlay(d, view);
      const t1 = performance.now();
      const delta = diffCluster(d, view.observed, { disableTxChecksum: this.ethtool !== undefined });
      applyDelta({ sock, ifindex: new Map(view.ifindex), ethtool: this.ethtool }, delta);
      const t2 = performance.now();
      const natChanged = await this.nat.apply(d.nat);
      this.timings = { readMs: t1 - t0, writeMs: t2 - t1, natMs: performance.now() - t2 };
      return reportOf(delta, natChanged);
    });
  }

  /** What the reconciler owns now (for `podnet status` and tests). */
  async observe(): Promise<ObservedCluster & { readonly nat: ObservedNat }> {
    return this.lock.run('cluster', async () => {
      const view = readCluster(this.socket(), (l) => this.txChecksumOn(l));
      return { ...view.observed, nat: await this.nat.read() };
    });
  }

  /** Removes every route with protocol 148, the VXLAN devices (their FDB and neighbours go too) and the NAT table. */
  async clear(): Promise<void> {
    await this.lock.run('cluster', async () => {
      const sock = this.socket();
      removeEach(sock, readRoutes(sock, new Map()).map(removeRouteRequest));
      for (const name of OWNED_DEVICES) deleteLink(sock, { name });
      await this.nat.clear();
    });
  }

  /** Closes the netlink sockets (a later call opens them again). */
  close(): void {
    this.sock?.close();
    this.sock = undefined;
    this.ethtool?.close();
    this.nat.close();
  }

  // --- internals -------------------------------------------------------------------------------

  private socket(): NetlinkSocket {
    if (!this.sock || this.sock.closed) {
      this.sock = NetlinkSocket.open({
        ...(this.netns === undefined ? {} : { netnsPath: this.netns }),
        label: this.netns === undefined ? 'node' : `node ${this.netns}`,
        timeoutMs: this.timeoutMs,
      });
    }
    return this.sock;
  }

  private txChecksumOn(l: LinkInfo): boolean | undefined {
    return this.ethtool ? this.ethtool.activeFeatures(l.index, l.name).has(TX_CHECKSUM_FEATURE) : undefined;
  }

  /** Refuses, before any change, a state whose underlay devices do not exist here. */
  private requireUnderlay(d: DesiredCluster, view: KernelView): void {
    const own = new Set(d.vxlan.map((v) => v.name));
    const need: [dev: string, what: string][] = d.vxlan.map((v) => [v.underlayDev, `VXLAN device ${v.name}`]);
    for (const r of d.routes) if (r.kind === 'via' && !own.has(r.dev)) need.push([r.dev, `route ${r.dst}`]);
    for (const [dev, what] of need) {
      if (!view.ifindex.has(dev)) {
        throw new PodnetError(ClusterErrors.CLUSTER_UNDERLAY_NOT_FOUND, `${what}: device ${dev} does not exist in ${this.netns ?? 'this namespace'}`);
      }
    }
  }
}

