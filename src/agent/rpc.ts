/** The agent's RPC methods (CLI queries), built from the same ports the CNI path uses. */
import type { DesiredCluster } from '../calc/types.js';
import type { Underlay } from '../dataplane/linux/underlay.js';
import type { PodDataplane } from '../dataplane/types.js';
import type { Datastore } from '../datastore/types.js';
import { ALIVE_PREFIX, NODE_PREFIX, type NodeRecord } from '../model/node.js';
import { CommonErrors, PodnetError } from '../common/errors.js';
import { removeNode } from './reclaim.js';
import type { Ipam, IpPool } from '../ipam/types.js';
import { hostIfnameOf } from './naming.js';
import type { RpcHandler } from './server.js';
import { policyRpcHandlers, type PolicyRpcDeps } from './rpc-policy.js';
import { flowRpcHandlers } from './rpc-flows.js';
import type { FlowRecorder } from '../flows/recorder.js';
import type { ProgrammerStatus } from '../policy/program/programmer.js';
import type { EndpointView, IpamView, NodeView, StatusView } from './views.js';

const policyView = (s: ProgrammerStatus): NonNullable<StatusView['policy']> => ({ programmedRevision: s.programmedRevision, endpoints: s.endpoints, profiles: s.profiles, lastError: s.lastError });

export interface RpcDeps extends PolicyRpcDeps {
  readonly apiPort: number | undefined;
  readonly flows: FlowRecorder | undefined;
  readonly metricsText: () => Promise<string>;
  readonly store: Datastore;
  readonly ipam: Ipam;
  readonly dataplane: PodDataplane;
  readonly nodeName: string;
  readonly socket: string;
  readonly version: string;
  readonly startedAt: number;
  readonly podMtu: () => number;
  readonly uplinkMtu: number | undefined;
  readonly datastore: () => { kind: string; healthy: boolean };
  readonly pools: () => readonly IpPool[];
  readonly cluster: () => {
    backend: string;
    underlay: Underlay;
    health: { status: string; inSync: boolean; lastError: string | undefined; nodes: number; blocks: number };
    desired: DesiredCluster | undefined;
  };
}

export async function endpointsOf(deps: Pick<RpcDeps, 'ipam' | 'dataplane' | 'nodeName'>): Promise<EndpointView[]> {
  const [records, links] = await Promise.all([deps.ipam.list(deps.nodeName), deps.dataplane.listPodLinks()]);
  const present = new Set(links.map((l) => l.name));
  const byHandle = new Map<string, EndpointView & { addresses: string[] }>();
  for (const r of records) {
    if (r.attrs.plugin === 'tunnel') continue;
    let ep = byHandle.get(r.handle);
    if (!ep) {
      const plugin = r.attrs.plugin === 'ipam' ? 'ipam' : 'cni';
      const hostIfname = plugin === 'cni' ? hostIfnameOf(r.attrs.containerId, r.attrs.ifname) : undefined;
      ep = {
        containerId: r.attrs.containerId,
        ifname: r.attrs.ifname,
        namespace: r.attrs.namespace,
        pod: r.attrs.pod,
        network: r.attrs.network,
        plugin,
        hostIfname,
        linkPresent: hostIfname !== undefined && present.has(hostIfname),
        addresses: [],
      };
      byHandle.set(r.handle, ep);
    }
    ep.addresses.push(r.address);
  }
  return [...byHandle.values()].sort((a, b) => `${a.namespace}/${a.pod}/${a.containerId}`.localeCompare(`${b.namespace}/${b.pod}/${b.containerId}`));
}

export function rpcHandlers(deps: RpcDeps): Record<string, RpcHandler> {
  return {
    ...policyRpcHandlers(deps),
    ...flowRpcHandlers(deps),
    status: async (): Promise<StatusView> => ({
      node: deps.nodeName,
      version: deps.version,
      pid: process.pid,
      uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
      socket: deps.socket,
      datastore: deps.datastore(),
      podMtu: deps.podMtu(),
      uplinkMtu: deps.uplinkMtu,
      pools: deps.pools().map((p) => ({ name: p.name, cidr: p.cidr, disabled: p.disabled })),
      endpoints: (await endpointsOf(deps)).length,
      cluster: clusterView(deps),
      ...(deps.policy ? { policy: policyView(deps.policy.status()) } : {}),
      ...(deps.flows ? { flows: { records: deps.flows.stats().records, kept: deps.flows.ring.length, capacity: deps.flows.ring.capacity } } : {}),
      ...(deps.apiPort !== undefined ? { apiPort: deps.apiPort } : {}),
    }),
    routes: async () => deps.cluster().desired?.routes ?? [],
    nodes: async (): Promise<NodeView[]> => {
      const [nodes, alive] = await Promise.all([deps.store.list(NODE_PREFIX), deps.store.list(ALIVE_PREFIX)]);
      const up = new Set(alive.entries.map((e) => e.key.slice(ALIVE_PREFIX.length)));
      return nodes.entries.map((e) => {
        const r = JSON.parse(e.value) as NodeRecord;
        return { name: r.name, alive: up.has(r.name), backend: r.backend, addressV4: r.addressV4, addressV6: r.addressV6, uplinkMtu: r.uplinkMtu, tunnelV4: r.vxlan?.tunnelV4, tunnelV6: r.vxlan?.tunnelV6, agentVersion: r.agentVersion };
      });
    },
    'node.remove': async (params: unknown) => {
      const p = (params ?? {}) as { name?: unknown; force?: unknown };
      if (typeof p.name !== 'string' || p.name === '') throw new PodnetError(CommonErrors.INVALID_ARGUMENT, 'node.remove needs a node name');
      if (p.name === deps.nodeName) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `refusing to remove this agent's own node ${p.name}; ask another node's agent`);
      return removeNode(deps.store, p.name, p.force === true);
    },
    endpoints: () => endpointsOf(deps),
    'ipam.show': async (): Promise<IpamView> => ({
      pools: (await deps.ipam.usage()).map((u) => ({
        name: u.pool.name,
        cidr: u.pool.cidr,
        blockSize: u.pool.blockSize,
        disabled: u.pool.disabled,
        natOutgoing: u.pool.natOutgoing,
        size: u.size,
        used: u.used,
        blocks: u.blocks.map((b) => ({ cidr: b.cidr, node: b.node, size: b.size, used: b.used })),
      })),
    }),
  };
}

function clusterView(deps: RpcDeps): StatusView['cluster'] {
  const c = deps.cluster();
  return {
    backend: c.backend,
    underlay: { dev: c.underlay.dev, mtu: c.underlay.mtu, v4: c.underlay.v4, v6: c.underlay.v6 },
    sync: c.health.status,
    inSync: c.health.inSync,
    lastError: c.health.lastError,
    nodes: c.health.nodes,
    blocks: c.health.blocks,
    routes: c.desired?.routes.length ?? 0,
    problems: c.desired?.problems ?? [],
  };
}
