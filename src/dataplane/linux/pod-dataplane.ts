/**
 * PodDataplane on Linux, over rtnetlink (see pod-plan.ts for the design). One netlink socket in
 * the host namespace lives as long as the object; each call that touches a pod opens one socket
 * in the pod's namespace and closes it at the end.
 *
 * Every call runs synchronously inside its (async) method: the kernel answers netlink at once, and
 * nothing else runs on the main thread meanwhile, so calls never interleave.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, statSync } from 'node:fs';
import { PodnetError, errorMessage } from '../../common/errors.js';
import { DataplaneErrors, isKernelError } from '../errors.js';
import { type ValidPodNetSpec, HOST_IFNAME_RE, assertHostIfname, validatePodNetSpec } from '../spec.js';
import { HOST_VETH_MAC, POD_IF_GROUP, type PodDataplane, type PodNetResult, type PodNetSpec } from '../types.js';
import { RTM_NEWLINK, RTN_UNICAST, RT_TABLE_MAIN } from './netlink/constants.js';
import { decodeLink, deleteLink, deleteLinkRequest, getLink, listLinks, setLinkRequest } from './netlink/link.js';
import { listRoutes } from './netlink/route.js';
import { NetlinkSocket, type NetlinkStats } from './netlink/socket.js';
import { currentNetnsId, netnsIdOfFd, openNetns, writeSysctl } from './netns.js';
import { checkHostSide, checkPodSide } from './pod-check.js';
import { hostRequests, podRequests, vethRequest } from './pod-plan.js';

export interface LinuxPodDataplaneOptions {
  /**
   * Path of the network namespace where all host-side work happens (host veths, host routes,
   * sysctls). Default: the namespace this process runs in.
   */
  readonly hostNetns?: string;
  /** How long to wait for a netlink answer, in ms (default 5000). */
  readonly timeoutMs?: number;
}

/** A random locally administered unicast MAC (what the kernel would pick, but known to us). */
export function randomPodMac(): string {
  const b = randomBytes(6);
  b[0] = ((b[0] as number) & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export class LinuxPodDataplane implements PodDataplane {
  private readonly hostNetns: string | undefined;
  private readonly timeoutMs: number;
  private hostSock: NetlinkSocket | undefined;
  /** Second host socket, only for requestAsync (slow deletes). */
  private slowSock: NetlinkSocket | undefined;
  private hostNsId: string | undefined;

  constructor(opts: LinuxPodDataplaneOptions = {}) {
    this.hostNetns = opts.hostNetns;
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  /** Closes the host netlink socket (a later call reopens it). */
  close(): void {
    this.hostSock?.close();
    this.hostSock = undefined;
    this.slowSock?.close();
    this.slowSock = undefined;
  }

  /** Netlink counters of the host socket (requests, sends, datagrams), for measurements. */
  hostStats(): Readonly<NetlinkStats> {
    return { ...this.host().stats };
  }

  async setup(spec: PodNetSpec): Promise<PodNetResult> {
    const s = validatePodNetSpec(spec);
    const host = this.host();
    const podFd = openNetns(s.netnsPath);
    let pod: NetlinkSocket | undefined;
    let hostIndex: number | undefined;
    try {
      if (netnsIdOfFd(podFd) === this.hostNetnsId()) {
        throw new PodnetError(DataplaneErrors.DATAPLANE_INVALID_SPEC, `pod namespace ${s.netnsPath} is the host's own namespace`);
      }
      pod = NetlinkSocket.open({ netnsFd: podFd, label: `pod ${s.netnsPath}`, timeoutMs: this.timeoutMs });
      const podMac = s.mac ?? randomPodMac();
      const ids = this.createVeth(host, pod, s, podFd, podMac);
      hostIndex = ids.hostIndex;
      pod.requestAll(podRequests(s, ids.podIndex));
      host.requestAll(hostRequests(s, ids.hostIndex));
      return { hostIfname: s.hostIfname, hostMac: HOST_VETH_MAC, podMac, mtu: s.mtu };
    } catch (e) {
      if (hostIndex !== undefined) this.undo(host, s.hostIfname, hostIndex, e);
      throw e;
    } finally {
      pod?.close();
      closeSync(podFd);
    }
  }

  /**
   * Deletes the host veth; its peer, their addresses and routes go with it. Deleting a veth waits
   * for an RCU grace period (15-50 ms here), so the send runs off the main thread on a second
   * host socket reserved for it.
   */
  async teardown(hostIfname: string): Promise<void> {
    assertHostIfname(hostIfname);
    try {
      await this.slow().requestAsync(deleteLinkRequest({ name: hostIfname }));
    } catch (e) {
      if (!isKernelError(e, 'ENODEV')) throw e;
    }
  }

  async check(spec: PodNetSpec): Promise<void> {
    const s = validatePodNetSpec(spec);
    const { diffs, link } = checkHostSide(this.host(), s);
    const podFd = openNetns(s.netnsPath);
    try {
      const pod = NetlinkSocket.open({ netnsFd: podFd, label: `pod ${s.netnsPath}`, timeoutMs: this.timeoutMs });
      try {
        diffs.push(...checkPodSide(pod, s, link));
      } finally {
        pod.close();
      }
    } finally {
      closeSync(podFd);
    }
    if (diffs.length > 0) {
      throw new PodnetError(DataplaneErrors.DATAPLANE_CHECK_FAILED, `pod ${s.hostIfname}/${s.ifname}: ${diffs.join('; ')}`, { details: diffs.join('\n') });
    }
  }

  async listPodLinks(): Promise<readonly { readonly name: string; readonly ifindex: number }[]> {
    return listLinks(this.host())
      .filter((l) => HOST_IFNAME_RE.test(l.name))
      .map((l) => ({ name: l.name, ifindex: l.index }));
  }

  async uplinkMtu(): Promise<number | undefined> {
    const host = this.host();
    for (const family of [4, 6] as const) {
      const defaults = listRoutes(host, { family, table: RT_TABLE_MAIN, type: RTN_UNICAST })
        .filter((r) => r.dst.endsWith('/0'))
        .sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0));
      for (const r of defaults) {
        const oif = r.oif ?? r.nexthops.find((n) => n.oif !== undefined)?.oif;
        if (oif === undefined) continue;
        const mtu = getLink(host, { index: oif })?.mtu;
        if (mtu !== undefined) return mtu;
      }
    }
    return undefined;
  }

  /**
   * Turns on IPv4 and IPv6 forwarding in the host namespace. Note for nodes that get their own
   * IPv6 address by SLAAC: with forwarding on, the kernel ignores router advertisements unless the
   * uplink has accept_ra=2; that is the node's configuration, left alone here.
   */
  async prepareNode(): Promise<void> {
    if (!writeSysctl(this.hostNetns, 'net/ipv4/ip_forward', '1')) {
      throw new PodnetError(DataplaneErrors.DATAPLANE_SYSCTL_FAILED, 'net/ipv4/ip_forward does not exist');
    }
    writeSysctl(this.hostNetns, 'net/ipv6/conf/all/forwarding', '1'); // absent when IPv6 is off: fine
    // Pod links made before interface groups were set (older agents) join the group now.
    for (const l of await this.listPodLinks()) this.host().request(setLinkRequest({ index: l.ifindex }, { ifGroup: POD_IF_GROUP }));
  }

  // --- internals -------------------------------------------------------------------------------

  private host(): NetlinkSocket {
    if (!this.hostSock || this.hostSock.closed) this.hostSock = this.openHost();
    return this.hostSock;
  }

  private slow(): NetlinkSocket {
    if (!this.slowSock || this.slowSock.closed) this.slowSock = this.openHost();
    return this.slowSock;
  }

  private openHost(): NetlinkSocket {
    return NetlinkSocket.open({
      ...(this.hostNetns === undefined ? {} : { netnsPath: this.hostNetns }),
      label: this.hostNetns === undefined ? 'host' : `host ${this.hostNetns}`,
      timeoutMs: this.timeoutMs,
    });
  }

  private hostNetnsId(): string {
    if (this.hostNsId === undefined) {
      if (this.hostNetns === undefined) this.hostNsId = currentNetnsId();
      else {
        const st = statSync(this.hostNetns, { bigint: true });
        this.hostNsId = `${st.dev}:${st.ino}`;
      }
    }
    return this.hostNsId;
  }

  /**
   * Creates the pair. EEXIST means the host name exists (a crashed earlier attempt for this very
   * container: the name is a hash of containerId/ifname) or the pod already has spec.ifname.
   * The first case is deleted and retried once; the second is DATAPLANE_IFNAME_IN_USE.
   */
  private createVeth(host: NetlinkSocket, pod: NetlinkSocket, s: ValidPodNetSpec, podFd: number, podMac: string): { hostIndex: number; podIndex: number } {
    for (let attempt = 0; ; attempt++) {
      try {
        const echoed = host.request(vethRequest(s, podFd, podMac));
        try {
          const m = echoed.find((x) => x.type === RTM_NEWLINK);
          const link = m ? decodeLink(m) : getLink(host, { name: s.hostIfname }); // echo: kernel 6.x
          if (!link || link.name !== s.hostIfname) throw new PodnetError(DataplaneErrors.DATAPLANE_NETLINK_FAILED, `created ${s.hostIfname} but cannot find it`);
          const podIndex = link.link ?? getLink(pod, { name: s.ifname })?.index;
          if (podIndex === undefined) throw new PodnetError(DataplaneErrors.DATAPLANE_NETLINK_FAILED, `created ${s.hostIfname} but cannot find its peer ${s.ifname}`);
          return { hostIndex: link.index, podIndex };
        } catch (e) {
          deleteLink(host, { name: s.hostIfname });
          throw e;
        }
      } catch (e) {
        if (!isKernelError(e, 'EEXIST')) throw e;
        const stale = getLink(host, { name: s.hostIfname });
        if (!stale) {
          throw new PodnetError(DataplaneErrors.DATAPLANE_IFNAME_IN_USE, `interface ${s.ifname} already exists in ${s.netnsPath}`, { cause: e });
        }
        if (attempt > 0) throw e;
        deleteLink(host, { index: stale.index });
      }
    }
  }

  /**
   * Deletes the half-made pair after a failure (synchronously: 15-50 ms, on an error path only);
   * a failure here is added to the original error.
   */
  private undo(host: NetlinkSocket, hostIfname: string, hostIndex: number, original: unknown): void {
    try {
      deleteLink(host, { index: hostIndex });
    } catch (e) {
      if (original instanceof Error) original.message += `; removing ${hostIfname} afterwards also failed: ${errorMessage(e)}`;
    }
  }
}
