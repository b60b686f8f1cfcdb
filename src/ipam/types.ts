/**
 * IPAM contract. Pools are carved into blocks (default /26 for IPv4, /122 for IPv6); a node
 * claims whole blocks and allocates addresses from blocks it owns, claiming another block when
 * its blocks are full. An allocation is keyed by a handle, "<containerId>/<ifname>".
 */
import type { Family } from '../common/ip.js';

export interface IpPool {
  readonly name: string;
  readonly cidr: string;
  /** Prefix length of the blocks carved from the pool (default 26 for IPv4, 122 for IPv6). */
  readonly blockSize: number;
  /** Masquerade traffic from this pool to destinations outside all pools (issue 3). */
  readonly natOutgoing: boolean;
  /** A disabled pool allocates no new addresses; existing ones stay. */
  readonly disabled: boolean;
  /**
   * Optional gateway address inside the pool, for pools served to another plugin through
   * podnet-ipam (e.g. the bridge's address). It is never allocated to a pod.
   */
  readonly gateway?: string;
}

export interface AllocationAttrs {
  readonly containerId: string;
  readonly ifname: string;
  readonly namespace?: string;
  readonly pod?: string;
  readonly node: string;
  /** CNI network name (conf.name): CNI GC is scoped to one network. */
  readonly network?: string;
  /** 'cni' for podnet-cni pods, 'ipam' for another plugin using podnet-ipam, 'tunnel' for a node's VXLAN tunnel address. */
  readonly plugin?: 'cni' | 'ipam' | 'tunnel';
}

export interface AssignRequest {
  readonly handle: string;
  readonly node: string;
  /** One address from each of these families (ignored for families covered by `requested`). */
  readonly families: readonly Family[];
  /** Restrict to these pool names (default: every enabled pool of the family). */
  readonly pools?: readonly string[];
  /** Static addresses asked for (runtimeConfig.ips, IP= in CNI_ARGS): taken exactly or the call fails. */
  readonly requested?: readonly string[];
  readonly attrs: AllocationAttrs;
}

export interface Assignment {
  readonly family: Family;
  readonly address: string;
  /** The block's CIDR, e.g. "10.244.0.64/26". */
  readonly block: string;
  readonly pool: string;
}

export interface BlockInfo {
  readonly cidr: string;
  readonly pool: string;
  readonly node: string;
  readonly size: number;
  readonly used: number;
}

export interface PoolUsage {
  readonly pool: IpPool;
  readonly size: string;
  readonly used: number;
  readonly blocks: readonly BlockInfo[];
}

export interface AllocationRecord extends Assignment {
  readonly handle: string;
  readonly attrs: AllocationAttrs;
  /** When the address was assigned (ms since the epoch): lets a GC caller spare allocations younger than its own view. */
  readonly allocatedAt?: number;
}

export interface Ipam {
  /**
   * Assigns one address per family (or exactly the requested ones), all or nothing. Assigning an
   * existing handle again returns its existing addresses (idempotent ADD retry).
   * Errors: IPAM_POOL_EXHAUSTED, IPAM_ADDRESS_UNAVAILABLE, IPAM_NO_POOL.
   */
  assign(req: AssignRequest): Promise<readonly Assignment[]>;
  /** Releases every address of the handle; idempotent. Returns what was released. */
  release(handle: string): Promise<readonly Assignment[]>;
  get(handle: string): Promise<readonly AllocationRecord[]>;
  /** All allocations held by a node. */
  list(node: string): Promise<readonly AllocationRecord[]>;
  /** Releases every allocation of `node` whose handle is not in keep. Returns what was released. */
  gc(node: string, keep: (rec: AllocationRecord) => boolean): Promise<readonly AllocationRecord[]>;
  usage(): Promise<readonly PoolUsage[]>;
}
