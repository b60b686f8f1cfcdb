/**
 * The agent's composition root:
 *   datastore -> pools -> IPAM -> pod dataplane -> node registration -> cluster sync -> CNI socket.
 *
 * Start-up order is what makes a restart invisible to traffic: nothing in the kernel is changed
 * until the datastore is loaded; the cluster reconciler waits for a complete list before its
 * first apply; pod links that no allocation explains are removed only then; the socket opens
 * last. Stopping leaves every kernel object in place.
 */
import { createHash } from 'node:crypto';
import { computeDesired } from '../calc/compute.js';
import { podMtuFor } from '../calc/mtu.js';
import { VXLAN_DEVICE, type ClusterDataplane } from '../calc/types.js';
import { CommonErrors, isPodnetError, PodnetError } from '../common/errors.js';
import { parseCidr, type Family } from '../common/ip.js';
import { createLogger, type Logger } from '../common/log.js';
import { LinuxClusterDataplane } from '../dataplane/linux/cluster/index.js';
import { LinuxPodDataplane } from '../dataplane/linux/pod-dataplane.js';
import { discoverUnderlay, type Underlay } from '../dataplane/linux/underlay.js';
import type { PodDataplane } from '../dataplane/types.js';
import { EmbeddedDatastore } from '../datastore/embedded.js';
import { EtcdDatastore } from '../datastore/etcd.js';
import type { Datastore } from '../datastore/types.js';
import { DatastoreIpam } from '../ipam/ipam.js';
import { createPool, listPools } from '../ipam/pools.js';
import type { IpPool } from '../ipam/types.js';
import type { BackendName, NodeRecord } from '../model/node.js';
import { LinuxPolicyDataplane } from '../dataplane/linux/policy/nft-policy.js';
import type { LocalEndpoint } from '../policy/compile/types.js';
import { PolicyProgrammer } from '../policy/program/programmer.js';
import type { PolicyDataplane } from '../policy/program/port.js';
import { ResourceStore } from '../resources/store.js';
import { ClusterSync } from './cluster-sync.js';
import { hostIfnameOf } from './naming.js';
import { nameForContainer, DEFAULT_NAMESPACE } from './pod-identity.js';
import { PolicySync } from './policy-sync.js';
import { AgentApi } from '../flows/api.js';
import { AgentMetrics } from '../flows/metrics.js';
import { startFlowPipeline, type FlowPipeline } from '../flows/pipeline.js';
import { FlowRecorder } from '../flows/recorder.js';
import type { PolicyView } from '../flows/decide.js';
import { LinuxFlowSources } from '../dataplane/linux/netfilter/linux.js';
import type { FlowSources } from '../dataplane/linux/netfilter/types.js';
import { splitListen } from './config.js';
import type { AgentConfig } from './config.js';
import { NodeRegistry } from './node-registry.js';
import { PodNetwork } from './pod-network.js';
import { startReclaimer } from './reclaim.js';
import { rpcHandlers } from './rpc.js';
import { AgentServer, assertSocketFree } from './server.js';

export interface Agent {
  readonly podNetwork: PodNetwork;
  readonly clusterSync: ClusterSync;
  /** Absent when policy is disabled in the config. */
  readonly policy: PolicyProgrammer | undefined;
  readonly flows: FlowRecorder | undefined;
  readonly metrics: AgentMetrics;
  /** Port of the HTTP endpoint (metrics, flows), when it listens. */
  readonly apiPort: number | undefined;
  close(): Promise<void>;
}

export interface AgentDeps {
  readonly version: string;
  readonly log?: Logger;
  /** Tests inject these; production builds them from the config. */
  readonly datastore?: Datastore;
  readonly dataplane?: PodDataplane;
  readonly clusterDataplane?: ClusterDataplane;
  readonly policyDataplane?: PolicyDataplane;
  readonly flowSources?: FlowSources;
  readonly underlay?: Underlay;
}

const TUNNEL_CONTAINER = 'podnet-tunnel';

export function openDatastore(config: AgentConfig): Promise<Datastore> | Datastore {
  const ds = config.datastore;
  if (ds.type === 'etcd') return new EtcdDatastore({ endpoints: ds.endpoints, ...(ds.prefix ? { prefix: ds.prefix } : {}) });
  return EmbeddedDatastore.open(config.stateDir);
}

/** A stable, locally administered unicast MAC for the node's VXLAN device. */
export function vtepMac(node: string): string {
  const h = createHash('sha256').update(`podnet-vtep/${node}`).digest();
  const b = [...h.subarray(0, 6)];
  b[0] = ((b[0] ?? 0) & 0xfe) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export async function runAgent(config: AgentConfig, deps: AgentDeps): Promise<Agent> {
  const log = deps.log ?? createLogger(config.logLevel, { node: config.nodeName });
  const startedAt = Date.now();
  // Before the datastore, the kernel or the cluster state is touched (see assertSocketFree).
  await assertSocketFree(config.socket);
  const store = deps.datastore ?? (await openDatastore(config));
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    await ensurePools(store, config, log);
    const ipam = new DatastoreIpam(store, config.nodeName);
    await ipam.start();
    cleanups.push(() => ipam.stop());

    const dataplane = deps.dataplane ?? new LinuxPodDataplane();
    await dataplane.prepareNode();
    const underlay = deps.underlay ?? discoverUnderlay(config.underlayInterface ? { dev: config.underlayInterface } : {});
    const backend: BackendName = config.backend ?? (store.kind === 'etcd' ? 'vxlan' : 'host-gw');
    const encapsulates = backend !== 'host-gw';

    // Observability first (its closures read the parts built below): metrics, the flow ring, the HTTP endpoint.
    let policy: PolicyProgrammer | undefined;
    let clusterSyncRef: ClusterSync | undefined;
    let pipeline: FlowPipeline | undefined;
    const metrics = new AgentMetrics(config.nodeName, {
      pools: async () => (await ipam.usage()).map((u) => ({ pool: u.pool.name, used: u.used, size: Number(u.size) })),
      datastore: () => ({ kind: store.kind, healthy: !!clusterSyncRef && clusterSyncRef.health.inSync && clusterSyncRef.health.status !== 'failed' }),
      policy: () => policy?.status(),
      flows: () => (flows ? { kept: flows.ring.length, overwritten: flows.ring.dropped, lost: pipeline?.lost() ?? 0 } : undefined),
    });
    const view = (): PolicyView => ({ state: policy?.state ?? EMPTY_STATE, compiled: policy?.current });
    const flows = config.flows.enabled ? new FlowRecorder({ node: config.nodeName, capacity: config.flows.capacity, view, onRecord: (r) => metrics.flow(r) }) : undefined;
    const apiPort = await startApi(config, deps, metrics, () => flows, log, cleanups);

    const record: NodeRecord = {
      name: config.nodeName,
      ...(apiPort !== undefined ? { apiPort } : {}),
      ...(underlay.v4 ? { addressV4: underlay.v4 } : {}),
      ...(underlay.v6 ? { addressV6: underlay.v6 } : {}),
      uplinkMtu: underlay.mtu,
      backend,
      agentVersion: deps.version,
      ...(encapsulates ? { vxlan: await tunnelAddresses(ipam, config.nodeName, await listPools(store)) } : {}),
    };
    const registry = new NodeRegistry(store, record, { log });
    await registry.register();
    cleanups.push(() => registry.close());

    // 'auto': the VXLAN TX checksum workaround (flannel#1279) only where the bug lives (kernels < 5.7);
    // disabling offload halves VXLAN throughput on newer kernels.
    const clusterDataplane = deps.clusterDataplane ?? new LinuxClusterDataplane({ txChecksumOffload: 'auto' });
    const clusterSync = new ClusterSync({
      store,
      local: () => ({ record: registry.current, underlayDev: underlay.dev }),
      dataplane: clusterDataplane,
      compute: computeDesired,
      log,
      onApplied: (desired, report, ms) => {
        const changed = report.routesAdded + report.routesRemoved + report.routesReplaced + report.fdbChanged + report.neighChanged + report.devicesChanged;
        if (changed > 0 || report.natChanged) log.info('cluster dataplane applied', { ...report, latencyMs: ms, problems: desired.problems.length });
        for (const p of desired.problems) log.debug('cluster problem', { problem: p });
      },
    });
    await clusterSync.start();
    clusterSyncRef = clusterSync;
    cleanups.push(() => clusterSync.stop());

    const underlayFamily: Family = underlay.v4 ? 4 : 6;
    // The cluster's pod MTU (smallest uplink, minus encapsulation) once known; this node's until then.
    const localMtu = encapsulates ? podMtuFor(underlay.mtu, [underlayFamily]) : underlay.mtu;
    const podMtu = (): number => config.mtu || clusterSync.desired?.podMtu || localMtu;
    const pools = (): readonly IpPool[] => clusterSync.currentPools();
    const resources = new ResourceStore(store);
    policy = config.policy.enabled ? await startPolicy(config, deps, store, ipam, log, cleanups, (kind, ms) => metrics.programmed(kind, ms)) : undefined;
    if (flows) pipeline = await startFlows(config, deps, flows, log, cleanups);
    const podNetwork = new PodNetwork({
      ipam,
      dataplane,
      nodeName: config.nodeName,
      defaultMtu: podMtu,
      pools,
      pods: resources,
      ...(policy ? { policy } : {}),
      observe: (verb, mode, seconds, ok) => metrics.cniRequest(verb, mode, seconds, ok),
      log,
    });

    const orphans = await podNetwork.removeOrphanLinks();
    if (orphans.length > 0) log.warn('removed pod links no allocation explains', { links: orphans });

    const server = new AgentServer({
      socketPath: config.socket,
      backend: podNetwork,
      log,
      rpc: rpcHandlers({
        store,
        ipam,
        dataplane,
        nodeName: config.nodeName,
        socket: config.socket,
        version: deps.version,
        startedAt,
        podMtu,
        uplinkMtu: underlay.mtu,
        datastore: () => {
          const h = clusterSync.health;
          return { kind: store.kind, healthy: h.inSync && h.status !== 'failed' && registry.alive };
        },
        pools,
        cluster: () => ({ backend, underlay, health: clusterSync.health, desired: clusterSync.desired }),
        resources,
        policy,
        flows,
        metricsText: () => metrics.text(),
        apiPort,
      }),
    });
    await server.listen();
    cleanups.push(() => server.close());
    cleanups.push(startReclaimer(store, log));
    log.info('agent ready', { socket: config.socket, backend, podMtu: podMtu(), underlay: underlay.dev, datastore: store.kind });
    let closed = false;
    return {
      podNetwork,
      clusterSync,
      policy,
      flows,
      metrics,
      apiPort,
      async close() {
        if (closed) return;
        closed = true;
        for (const c of cleanups.reverse()) await c();
        if (!deps.datastore) await store.close();
        log.info('agent stopped; datapath left in place');
      },
    };
  } catch (e) {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
    if (!deps.datastore) await store.close().catch(() => undefined);
    throw e;
  }
}

/**
 * Policy enforcement: the programmer (compile -> nft) fed by the resource syncer, with this
 * node's existing pod interfaces as endpoints. Resolves after the first programming (bounded):
 * until then the table a previous agent left stays in force.
 */
const EMPTY_STATE: PolicyView['state'] = { namespaces: [], pods: [], networkPolicies: [], clusterNetworkPolicies: [] };

/** The HTTP endpoint (metrics, flows), unless configured off; tests on fakes never open one by default. */
async function startApi(config: AgentConfig, deps: AgentDeps, metrics: AgentMetrics, flows: () => FlowRecorder | undefined, log: Logger, cleanups: (() => Promise<void> | void)[]): Promise<number | undefined> {
  if (config.httpListen === '') return undefined;
  if (deps.dataplane || deps.clusterDataplane) throw new PodnetError(CommonErrors.INTERNAL, 'fake dataplanes were injected with the HTTP endpoint on; set httpListen to ""');
  const { host, port } = splitListen(config.httpListen);
  const api = new AgentApi({ node: config.nodeName, host, port, metrics, flows, log });
  const bound = await api.listen();
  cleanups.push(() => api.close());
  return bound;
}

/** Flow recording from the kernel: conntrack events and the policy table's NFLOG group. A failure costs the flows, not the agent. */
async function startFlows(config: AgentConfig, deps: AgentDeps, flows: FlowRecorder, log: Logger, cleanups: (() => Promise<void> | void)[]): Promise<FlowPipeline | undefined> {
  if (!deps.flowSources && (deps.dataplane || deps.clusterDataplane)) {
    throw new PodnetError(CommonErrors.INTERNAL, 'fake dataplanes were injected without flow sources; inject them or disable flows');
  }
  try {
    const p = await startFlowPipeline({
      sources: deps.flowSources ?? new LinuxFlowSources(),
      recorder: flows,
      nflogGroup: config.policy.nflogGroup,
      log,
      idlePriority: config.flows.readerPriority === 'idle',
      bufferBytes: config.flows.bufferBytes,
    });
    cleanups.push(() => p.close());
    return p;
  } catch (e) {
    log.error('flow recording could not start; continuing without it', { error: String(e) });
    return undefined;
  }
}

async function startPolicy(config: AgentConfig, deps: AgentDeps, store: Datastore, ipam: DatastoreIpam, log: Logger, cleanups: (() => Promise<void> | void)[], programmed: (kind: string, ms: number) => void): Promise<PolicyProgrammer> {
  // An agent built on fake dataplanes must never program this process's real namespace.
  if (!deps.policyDataplane && (deps.dataplane || deps.clusterDataplane)) {
    throw new PodnetError(CommonErrors.INTERNAL, 'fake dataplanes were injected without a policy dataplane; inject one or disable policy');
  }
  const programmer = new PolicyProgrammer({
    dataplane: deps.policyDataplane ?? new LinuxPolicyDataplane(),
    log,
    render: { nflogGroup: config.policy.nflogGroup, logDrops: config.policy.logDrops },
    onProgrammed: (r) => {
      programmed(r.kind, r.ms);
      if (r.kind !== 'admit' || r.compiledAlone) log.debug('policy programmed', { ...r });
    },
  });
  cleanups.push(() => programmer.stop());
  programmer.setEndpoints(localEndpoints(await ipam.list(config.nodeName)), config.nodeName);
  const sync = new PolicySync(store, programmer, log);
  cleanups.push(() => sync.stop());
  await sync.start();
  return programmer;
}

/** The node's pod interfaces, from its allocations (one endpoint per CNI attachment). */
export function localEndpoints(records: readonly { attrs: { containerId: string; ifname: string; plugin?: string; namespace?: string; pod?: string }; address: string }[]): LocalEndpoint[] {
  const byIf = new Map<string, { namespace: string; pod: string; ifname: string; addresses: string[] }>();
  for (const r of records) {
    if ((r.attrs.plugin ?? 'cni') !== 'cni') continue;
    const ifname = hostIfnameOf(r.attrs.containerId, r.attrs.ifname);
    let ep = byIf.get(ifname);
    if (!ep) byIf.set(ifname, (ep = { namespace: r.attrs.namespace ?? DEFAULT_NAMESPACE, pod: r.attrs.pod ?? nameForContainer(r.attrs.containerId), ifname, addresses: [] }));
    ep.addresses.push(r.address);
  }
  return [...byIf.values()];
}

/** The node's VXLAN tunnel addresses: one per pool family, held by IPAM like a pod's. */
async function tunnelAddresses(ipam: DatastoreIpam, node: string, pools: readonly IpPool[]): Promise<NonNullable<NodeRecord['vxlan']>> {
  const families = [...new Set(pools.filter((p) => !p.disabled).map((p) => parseCidr(p.cidr)?.family).filter((f): f is Family => f !== undefined))].sort();
  const got = await ipam.assign({
    handle: `${TUNNEL_CONTAINER}/${node}`,
    node,
    families,
    attrs: { containerId: TUNNEL_CONTAINER, ifname: VXLAN_DEVICE, node, plugin: 'tunnel' },
  });
  const v4 = got.find((a) => a.family === 4)?.address;
  const v6 = got.find((a) => a.family === 6)?.address;
  return { mac: vtepMac(node), ...(v4 ? { tunnelV4: v4 } : {}), ...(v6 ? { tunnelV6: v6 } : {}) };
}

/** Creates the configured pools that the datastore lacks; the datastore's pools are the truth. */
async function ensurePools(store: Datastore, config: AgentConfig, log: Logger): Promise<void> {
  const have = new Map((await listPools(store)).map((p) => [p.name, p]));
  for (const want of config.pools) {
    const got = have.get(want.name);
    if (got) {
      if (got.cidr !== want.cidr) log.warn('pool differs from the datastore; keeping the datastore', { pool: want.name, datastore: got.cidr, config: want.cidr });
      continue;
    }
    try {
      await createPool(store, want);
    } catch (e) {
      if (!isPodnetError(e, 'DATASTORE_ALREADY_EXISTS') && !isPodnetError(e, 'IPAM_POOL_EXISTS')) throw e;
    }
  }
}
