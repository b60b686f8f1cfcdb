/**
 * Registers this node in the datastore and keeps it alive.
 *
 * The node record (`/podnet/nodes/v1/<name>`) persists: other nodes route to this node's blocks
 * as long as it exists, also while this agent is down or restarting. Liveness is a separate key
 * (`/podnet/alive/v1/<name>`) on a lease renewed every ttl/3; when it expires the node counts as
 * dead, which only matters for reclaiming its empty blocks.
 */
import { isPodnetError, PodnetError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { Datastore } from '../datastore/types.js';
import { aliveKey, nodeKey, type NodeRecord } from '../model/node.js';
import { AgentErrors } from './errors.js';

export interface NodeRegistryOptions {
  readonly ttlSeconds?: number;
  readonly log: Logger;
}

export class NodeRegistry {
  private lease: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private healthy = false;
  private renewing = false;
  private readonly ttl: number;

  constructor(
    private readonly store: Datastore,
    private record: NodeRecord,
    private readonly opts: NodeRegistryOptions,
  ) {
    this.ttl = opts.ttlSeconds ?? 20;
  }

  get alive(): boolean {
    return this.healthy;
  }

  get current(): NodeRecord {
    return this.record;
  }

  /** Writes the node record (create or update) and the leased liveness key. */
  async register(): Promise<void> {
    await this.putRecord(this.record);
    await this.renewLease();
    this.timer = setInterval(() => void this.tick(), Math.max(1000, (this.ttl * 1000) / 3));
    this.timer.unref();
  }

  /** Replaces the node record (e.g. when the tunnel addresses change). */
  async update(record: NodeRecord): Promise<void> {
    this.record = record;
    await this.putRecord(record);
  }

  private async putRecord(record: NodeRecord): Promise<void> {
    const key = nodeKey(record.name);
    const value = JSON.stringify(record);
    for (let attempt = 0; attempt < 10; attempt++) {
      const cur = await this.store.get(key);
      try {
        if (!cur) await this.store.create(key, value);
        else if (cur.value !== value) await this.store.update(key, value, cur.revision);
        return;
      } catch (e) {
        if (!isPodnetError(e, 'DATASTORE_CONFLICT') && !isPodnetError(e, 'DATASTORE_ALREADY_EXISTS') && !isPodnetError(e, 'DATASTORE_NOT_FOUND')) throw e;
      }
    }
    throw new PodnetError(AgentErrors.AGENT_CONFIG, `could not write node record ${key}: too many concurrent changes`);
  }

  private async renewLease(): Promise<void> {
    if (this.lease) {
      try {
        await this.store.keepAlive(this.lease);
        this.healthy = true;
        return;
      } catch (e) {
        if (!isPodnetError(e, 'DATASTORE_LEASE_NOT_FOUND')) throw e;
        this.lease = undefined;
      }
    }
    const lease = await this.store.grantLease(this.ttl);
    const key = aliveKey(this.record.name);
    const value = JSON.stringify({ since: new Date().toISOString(), pid: process.pid });
    const cur = await this.store.get(key);
    if (!cur) await this.store.create(key, value, { lease });
    else await this.store.update(key, value, cur.revision, { lease });
    this.lease = lease;
    this.healthy = true;
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.renewing) return;
    this.renewing = true;
    try {
      await this.renewLease();
    } catch (e) {
      if (this.healthy) this.opts.log.warn('node liveness renewal failed; will retry', { error: String(e) });
      this.healthy = false;
    } finally {
      this.renewing = false;
    }
  }

  /** Stops renewing. The lease is left to expire: a restart within the TTL is invisible. */
  close(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }
}

/** Removes a node from the cluster: its record and liveness key (routes to it vanish everywhere). */
export async function removeNodeRecord(store: Datastore, name: string): Promise<boolean> {
  const a = await store.delete(nodeKey(name));
  await store.delete(aliveKey(name));
  return a;
}
