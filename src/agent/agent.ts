/**
 * The agent's composition root: datastore -> pools -> IPAM -> dataplane -> CNI socket.
 *
 * Start-up order matters for "a restart must not drop a packet": nothing in the kernel is
 * touched until the datastore is loaded; then pod links that no allocation explains (left by a
 * crash between an ADD's steps) are removed; existing pods' plumbing is left as it is.
 */
import type { Datastore } from '../datastore/types.js';
import type { PodDataplane } from '../dataplane/types.js';
import type { IpPool } from '../ipam/types.js';
import { createLogger, type Logger } from '../common/log.js';
import { EmbeddedDatastore } from '../datastore/embedded.js';
import { LinuxPodDataplane } from '../dataplane/linux/pod-dataplane.js';
import { DatastoreIpam } from '../ipam/ipam.js';
import { createPool, listPools } from '../ipam/pools.js';
import { isPodnetError } from '../common/errors.js';
import type { AgentConfig } from './config.js';
import { PodNetwork } from './pod-network.js';
import { rpcHandlers } from './rpc.js';
import { AgentServer } from './server.js';

export interface Agent {
  readonly podNetwork: PodNetwork;
  close(): Promise<void>;
}

export interface AgentDeps {
  readonly version: string;
  readonly log?: Logger;
  /** Tests inject these; production builds them from the config. */
  readonly datastore?: Datastore;
  readonly dataplane?: PodDataplane;
}

const FALLBACK_MTU = 1500;

export async function runAgent(config: AgentConfig, deps: AgentDeps): Promise<Agent> {
  const log = deps.log ?? createLogger(config.logLevel, { node: config.nodeName });
  const startedAt = Date.now();
  const store = deps.datastore ?? (await EmbeddedDatastore.open(config.stateDir));
  try {
    let pools = await ensurePools(store, config, log);
    const ipam = new DatastoreIpam(store, config.nodeName);
    await ipam.start();
    const dataplane = deps.dataplane ?? new LinuxPodDataplane();
    await dataplane.prepareNode();
    const uplinkMtu = await dataplane.uplinkMtu();
    const podMtu = config.mtu || uplinkMtu || FALLBACK_MTU;
    const podNetwork = new PodNetwork({ ipam, dataplane, nodeName: config.nodeName, defaultMtu: podMtu, pools: () => pools });

    const orphans = await podNetwork.removeOrphanLinks();
    if (orphans.length > 0) log.warn('removed pod links no allocation explains', { links: orphans });

    const server = new AgentServer({
      socketPath: config.socket,
      backend: podNetwork,
      log,
      rpc: rpcHandlers({
        ipam,
        dataplane,
        nodeName: config.nodeName,
        socket: config.socket,
        version: deps.version,
        startedAt,
        podMtu,
        uplinkMtu,
        datastore: () => ({ kind: store.kind, healthy: true }),
        pools: () => pools,
      }),
    });
    await server.listen();
    const poolTimer = setInterval(() => {
      listPools(store).then(
        (p) => {
          pools = p;
        },
        (e: unknown) => log.warn('pool refresh failed', { error: String(e) }),
      );
    }, 10_000);
    poolTimer.unref();
    log.info('agent ready', { socket: config.socket, podMtu, uplinkMtu, pools: pools.map((p) => p.cidr) });
    return {
      podNetwork,
      async close() {
        clearInterval(poolTimer);
        await server.close();
        await ipam.stop();
        if (!deps.datastore) await store.close();
        log.info('agent stopped; pod datapath left in place');
      },
    };
  } catch (e) {
    if (!deps.datastore) await store.close().catch(() => undefined);
    throw e;
  }
}

/** Creates the configured pools that the datastore lacks; the datastore's pools are the truth. */
async function ensurePools(store: Datastore, config: AgentConfig, log: Logger): Promise<IpPool[]> {
  const have = new Map((await listPools(store)).map((p) => [p.name, p]));
  for (const want of config.pools) {
    const got = have.get(want.name);
    if (got) {
      if (got.cidr !== want.cidr) log.warn('pool differs from the datastore; keeping the datastore', { pool: want.name, datastore: got.cidr, config: want.cidr });
      continue;
    }
    try {
      have.set(want.name, await createPool(store, want));
    } catch (e) {
      if (!isPodnetError(e, 'DATASTORE_ALREADY_EXISTS')) throw e;
    }
  }
  return listPools(store);
}
