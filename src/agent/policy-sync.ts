/**
 * Datastore resources -> the policy programmer, continuously: one syncer delivers the full list,
 * then changes; the programmer recompiles (coalesced) and updates the node's policy table.
 * Malformed records are logged and skipped. The syncer follows all of /podnet/ although only
 * /podnet/k8s/v1/ matters: every other write still tells the programmer the store's revision, so
 * `policy.status` can say "programmed as of revision R" for any R a client got from a write.
 */
import type { Logger } from '../common/log.js';
import { Syncer, type SyncStatus } from '../datastore/syncer.js';
import type { Datastore, KvEntry, WatchEvent } from '../datastore/types.js';
import type { Resource } from '../model/k8s.js';
import type { PolicyProgrammer } from '../policy/program/programmer.js';
import { RESOURCES_PREFIX } from '../resources/keys.js';
import { decodeStored } from '../resources/stored.js';

export class PolicySync {
  private syncer: Syncer | undefined;
  private st: SyncStatus = 'idle';

  constructor(
    private readonly store: Datastore,
    private readonly programmer: PolicyProgrammer,
    private readonly log: Logger,
  ) {}

  get status(): SyncStatus {
    return this.st;
  }

  /** Starts following; resolves after the first programming (or after timeoutMs, leaving the old table in force). */
  async start(timeoutMs = 30_000): Promise<void> {
    this.syncer = new Syncer(this.store, '/podnet/', {
      onSnapshot: (entries, revision) => this.programmer.snapshot(this.decodeAll(entries), revision),
      onEvents: (events) => this.events(events),
      onStatus: (s, err) => {
        this.st = s;
        if (err) this.log.warn('policy resource sync', { status: s, error: err.message });
      },
    });
    this.syncer.start();
    let t: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([this.programmer.ready.then(() => false), new Promise<boolean>((r) => (t = setTimeout(() => r(true), timeoutMs)))]);
    if (t) clearTimeout(t);
    if (timedOut) this.log.error('network policy not programmed within the start-up bound; the previous table stays in force', { timeoutMs });
  }

  stop(): void {
    this.syncer?.stop();
  }

  private decode(e: KvEntry): Resource | undefined {
    try {
      return decodeStored(e.value).resource;
    } catch (err) {
      this.log.warn('ignoring a malformed resource record', { key: e.key, error: String(err) });
      return undefined;
    }
  }

  private decodeAll(entries: readonly KvEntry[]): [string, Resource][] {
    const out: [string, Resource][] = [];
    for (const e of entries) {
      if (!e.key.startsWith(RESOURCES_PREFIX)) continue;
      const r = this.decode(e);
      if (r) out.push([e.key, r]);
    }
    return out;
  }

  private events(events: readonly WatchEvent[]): void {
    const changes: [string, Resource | undefined][] = [];
    let revision = 0;
    for (const ev of events) {
      const key = ev.type === 'put' ? ev.entry.key : ev.key;
      revision = Math.max(revision, ev.type === 'put' ? ev.entry.revision : ev.revision);
      if (!key.startsWith(RESOURCES_PREFIX)) continue;
      changes.push([key, ev.type === 'put' ? this.decode(ev.entry) : undefined]);
    }
    this.programmer.update(changes, revision);
  }
}
