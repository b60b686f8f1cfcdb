/**
 * Dataplane ports: what the agent asks of the kernel, in pod terms. The linux adapters
 * (src/dataplane/linux) speak rtnetlink; the fake (src/dataplane/fake) keeps the same state in
 * memory so everything above is unit-tested without root.
 */
import type { Family } from '../common/ip.js';

/** podnet's route protocol number (`ip route ... proto 147`): how a restarted agent finds its routes. */
export const RTPROT_PODNET = 147;
/** Host-side pod interfaces are named HOST_IF_PREFIX + 12 hex characters. */
export const HOST_IF_PREFIX = 'pn';

/**
 * Interface group of host-side pod interfaces (IFLA_GROUP; "pnet"), set in the message that creates
 * them. The policy table closes interfaces of this group that it has no entry for: matching by
 * group, not by the "pn" name prefix, leaves an operator's own "pn..." devices alone.
 */
export const POD_IF_GROUP = 0x706e6574;
/** MAC of every host-side pod veth; the pod's gateway neighbour entry points at it. */
export const HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';
/** The pod's IPv4 default gateway: link-local, answered by a static neighbour entry. */
export const POD_GATEWAY_V4 = '169.254.1.1';
/** The pod's IPv6 default gateway: the host veth's EUI-64 link-local address. */
export const POD_GATEWAY_V6 = 'fe80::ecee:eeff:feee:eeee';

export interface PodAddress {
  readonly family: Family;
  /** The pod's address, e.g. "10.244.0.5". Installed as /32 or /128. */
  readonly address: string;
}

export interface PodNetSpec {
  /** Path to open to reach the pod's network namespace (e.g. /proc/PID/fd/N or /run/netns/x). */
  readonly netnsPath: string;
  /** Interface name inside the pod (CNI_IFNAME). */
  readonly ifname: string;
  /** Host-side veth name (HOST_IF_PREFIX + hash). */
  readonly hostIfname: string;
  readonly addresses: readonly PodAddress[];
  readonly mtu: number;
  /** Requested MAC for the pod interface (runtimeConfig.mac), else the kernel picks one. */
  readonly mac?: string;
}

export interface PodNetResult {
  readonly hostIfname: string;
  readonly hostMac: string;
  readonly podMac: string;
  readonly mtu: number;
}

export interface PodDataplane {
  /**
   * Creates the pod's veth pair, moves one end into the pod and names it spec.ifname, assigns
   * addresses, the gateway neighbour and the default routes, brings both ends up and installs the
   * host routes (proto RTPROT_PODNET). All or nothing: on failure everything it made is removed.
   */
  setup(spec: PodNetSpec): Promise<PodNetResult>;
  /** Removes the pod's host veth and host routes. Idempotent: what is already gone is success. */
  teardown(hostIfname: string): Promise<void>;
  /** Verifies the pod's plumbing matches spec; throws DATAPLANE_CHECK_FAILED saying what differs. */
  check(spec: PodNetSpec): Promise<void>;
  /** Host-side pod links that exist now (name starts with HOST_IF_PREFIX). */
  listPodLinks(): Promise<readonly { readonly name: string; readonly ifindex: number }[]>;
  /** MTU of the interface that holds the default route (the uplink), or undefined if none. */
  uplinkMtu(): Promise<number | undefined>;
  /** Node-level settings the routed design needs (forwarding on); run once at agent start. */
  prepareNode(): Promise<void>;
}
