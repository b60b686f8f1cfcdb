/**
 * Cluster states for tests (unit tests here, the fake's users, the privileged tests): nodes numbered
 * 1..n on one underlay subnet, each with an IPv4 /26 and an IPv6 /122 block and VXLAN identity.
 */
import type { IpPool } from '../ipam/types.js';
import type { BackendName, NodeRecord } from '../model/node.js';
import type { ClusterState, LocalNode } from './types.js';

export const POOL_V4 = '10.244.0.0/16';
export const POOL_V6 = 'fd10:244::/64';

export const testPools = (natOutgoing = true): IpPool[] => [
  { name: 'v4', cidr: POOL_V4, blockSize: 26, natOutgoing, disabled: false },
  { name: 'v6', cidr: POOL_V6, blockSize: 122, natOutgoing, disabled: false },
];

const hex = (i: number): string => i.toString(16).padStart(2, '0');

/** Node i's identity: 172.30.1.(10+i)/24, fd00:a::(10+i)/64, MAC 02:00:00:00:01:ii, tunnel .1 of its blocks. */
export function testNode(i: number, backend: BackendName, over: Partial<NodeRecord> = {}): NodeRecord {
  return {
    name: `n${i}`,
    addressV4: `172.30.1.${10 + i}/24`,
    addressV6: `fd00:a::${(10 + i).toString(16)}/64`,
    uplinkMtu: 1500,
    backend,
    vxlan: { mac: `02:00:00:00:01:${hex(i)}`, tunnelV4: v4Tunnel(i), tunnelV6: v6Tunnel(i) },
    agentVersion: 'test',
    ...over,
  };
}

/** Node i's blocks: 10.244.(i>>2).((i&3)*64)/26 and fd10:244::(i*64 in hex)/122. */
export function v4Block(i: number): string {
  return `10.244.${i >> 2}.${(i & 3) * 64}/26`;
}
export function v6Block(i: number): string {
  return `fd10:244::${(i * 64).toString(16)}/122`;
}
export function v4Tunnel(i: number): string {
  return `10.244.${i >> 2}.${(i & 3) * 64 + 1}`;
}
export function v6Tunnel(i: number): string {
  return `fd10:244::${(i * 64 + 1).toString(16)}`;
}

export function testState(nodes: readonly NodeRecord[], opts: { blocks?: boolean; pools?: IpPool[] } = {}): ClusterState {
  const blocks = new Map<string, { node: string; pool: string }>();
  if (opts.blocks !== false) {
    for (const n of nodes) {
      const i = Number(n.name.slice(1));
      blocks.set(v4Block(i), { node: n.name, pool: 'v4' });
      blocks.set(v6Block(i), { node: n.name, pool: 'v6' });
    }
  }
  return { nodes: new Map(nodes.map((n) => [n.name, n])), blocks, pools: opts.pools ?? testPools() };
}

export const localOf = (rec: NodeRecord, underlayDev = 'eth0'): LocalNode => ({ record: rec, underlayDev });
