/**
 * In-memory FlowSources for unit tests of the agent's flow logic (no root, no kernel). Readers
 * opened here validate options exactly like the real ones, keep one NFLOG group per namespace,
 * deliver injected records asynchronously in batches of batchMax (as the real readers do), count
 * drops past maxPendingBatches, and can be made to fail.
 */
import { CommonErrors } from '../../../common/errors.js';
import { FlowReaderError, NetfilterErrors } from './errors.js';
import { conntrackConfig, nflogConfig } from './options.js';
import type { WorkerConfig } from './reader-protocol.js';
import type {
  ConntrackAccounting,
  ConntrackEvent,
  ConntrackEventType,
  ConntrackEventsHandle,
  ConntrackEventsOptions,
  FlowReaderHandle,
  FlowReaderStats,
  FlowSources,
  NflogHandle,
  NflogOptions,
  NflogPacket,
} from './types.js';

type Stats = { -readonly [K in keyof FlowReaderStats]: FlowReaderStats[K] };

class FakeReader<T> implements FlowReaderHandle {
  readonly tid = 0;
  closed = false;
  private readonly queue: T[] = [];
  private scheduled = false;
  private readonly s: Stats = { received: 0, lost: 0, overruns: 0, decodeErrors: 0, dropped: 0, batches: 0 };
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly netns: string,
    readonly cfg: WorkerConfig,
    private readonly deliver: (records: readonly T[]) => void,
    private readonly onError: (e: FlowReaderError) => void,
    private readonly onClose: () => void,
  ) {}

  push(records: readonly T[]): void {
    if (this.closed) return;
    this.s.received += records.length;
    const room = this.cfg.batchMax * this.cfg.maxPendingBatches - this.queue.length;
    const take = Math.max(0, Math.min(room, records.length));
    this.queue.push(...records.slice(0, take));
    this.s.dropped += records.length - take;
    this.schedule();
  }

  lose(n: number, overruns: number): void {
    this.s.lost += n;
    this.s.overruns += overruns;
  }

  decodeError(message: string): void {
    this.s.decodeErrors++;
    this.onError(new FlowReaderError(NetfilterErrors.NETFILTER_DECODE_FAILED, message, { fatal: false }));
  }

  fail(e: FlowReaderError): void {
    if (this.closed) return;
    this.shutdown();
    this.onError(e);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (!this.closed && this.queue.length > 0) {
        const batch = this.queue.splice(0, this.cfg.batchMax);
        this.s.batches++;
        try {
          this.deliver(batch);
        } catch (e) {
          this.onError(new FlowReaderError(CommonErrors.INTERNAL, `${this.cfg.label}: the records callback threw: ${String(e)}`, { cause: e }));
        }
      }
      this.wakeIdle();
    });
  }

  /** Resolves once everything injected so far has been delivered. */
  idle(): Promise<void> {
    if (!this.scheduled && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  private shutdown(): void {
    this.closed = true;
    this.queue.length = 0;
    this.onClose();
    this.wakeIdle();
  }

  stats(): FlowReaderStats {
    return { ...this.s };
  }

  async close(): Promise<void> {
    if (!this.closed) this.shutdown();
  }
}

const nsKey = (netns: string | undefined): string => netns ?? '';

export class FakeFlowSources implements FlowSources {
  private readonly conntrack = new Set<FakeReader<ConntrackEvent> & { events: readonly ConntrackEventType[] }>();
  private readonly nflog = new Map<string, FakeReader<NflogPacket>>();
  private readonly accounting = new Map<string, ConntrackAccounting>();
  private nextOpenError: FlowReaderError | undefined;

  /** The next open of either kind rejects with this error (default: NETFILTER_INJECTED). */
  failNextOpen(err?: FlowReaderError): void {
    this.nextOpenError = err ?? new FlowReaderError(NetfilterErrors.NETFILTER_INJECTED, 'injected open failure', { fatal: true });
  }

  private takeOpenError(): void {
    const e = this.nextOpenError;
    this.nextOpenError = undefined;
    if (e) throw e;
  }

  async openConntrackEvents(opts: ConntrackEventsOptions): Promise<ConntrackEventsHandle> {
    const cfg = conntrackConfig(opts);
    this.takeOpenError();
    const r = Object.assign(
      new FakeReader<ConntrackEvent>(nsKey(opts.netns), cfg, opts.onEvents, opts.onError, () => this.conntrack.delete(r)),
      { events: cfg.source.events },
    );
    this.conntrack.add(r);
    return r;
  }

  async openNflog(opts: NflogOptions): Promise<NflogHandle> {
    const cfg = nflogConfig(opts);
    this.takeOpenError();
    const key = `${nsKey(opts.netns)}\0${cfg.source.group}`;
    if (this.nflog.has(key)) {
      throw new FlowReaderError(NetfilterErrors.NETFILTER_GROUP_IN_USE, `NFLOG group ${cfg.source.group}: another socket in this namespace is bound to it`, { fatal: true, errno: 'EPERM' });
    }
    const r = new FakeReader<NflogPacket>(nsKey(opts.netns), cfg, opts.onPackets, opts.onError, () => this.nflog.delete(key));
    this.nflog.set(key, r);
    return r;
  }

  async enableConntrackAccounting(netns?: string): Promise<ConntrackAccounting> {
    const a: ConntrackAccounting = { acct: true, timestamp: true, events: 1 };
    this.accounting.set(nsKey(netns), a);
    return a;
  }

  /** What enableConntrackAccounting set in a namespace, if it was called. */
  accountingOf(netns?: string): ConntrackAccounting | undefined {
    return this.accounting.get(nsKey(netns));
  }

  /** Delivers events to every open conntrack reader of the namespace subscribed to their type. */
  emitConntrack(events: readonly ConntrackEvent[], netns?: string): void {
    for (const r of this.conntrack) {
      if (r.netns === nsKey(netns)) r.push(events.filter((e) => r.events.includes(e.type)));
    }
  }

  /** Delivers packets to the reader bound to each packet's group in the namespace (others vanish, as in the kernel). */
  emitNflog(packets: readonly NflogPacket[], netns?: string): void {
    const byGroup = new Map<number, NflogPacket[]>();
    for (const p of packets) byGroup.set(p.group, [...(byGroup.get(p.group) ?? []), p]);
    for (const [group, ps] of byGroup) this.nflog.get(`${nsKey(netns)}\0${group}`)?.push(ps);
  }

  /** Simulates kernel overruns: `lost` records missing, counted on every open reader of the namespace. */
  overrun(lost: number, netns?: string): void {
    for (const r of this.readers(netns)) r.lose(lost, 1);
  }

  /** Makes every open reader of the namespace report a decode error (non-fatal). */
  decodeError(message = 'injected decode error', netns?: string): void {
    for (const r of this.readers(netns)) r.decodeError(message);
  }

  /** Kills every open reader of the namespace with a fatal error, as a dying reader thread would. */
  crash(err?: FlowReaderError, netns?: string): void {
    const e = err ?? new FlowReaderError(NetfilterErrors.NETFILTER_INJECTED, 'injected reader failure', { fatal: true });
    for (const r of this.readers(netns)) r.fail(e);
  }

  /** Resolves once every injected record has been delivered. */
  async idle(): Promise<void> {
    await Promise.all(this.readers(undefined, true).map((r) => r.idle()));
  }

  /** Open readers: conntrack subscriptions and bound NFLOG groups. */
  openCount(): { conntrack: number; nflog: number } {
    return { conntrack: this.conntrack.size, nflog: this.nflog.size };
  }

  private readers(netns: string | undefined, all = false): FakeReader<ConntrackEvent | NflogPacket>[] {
    const rs = [...this.conntrack, ...this.nflog.values()] as FakeReader<ConntrackEvent | NflogPacket>[];
    return all ? rs : rs.filter((r) => r.netns === nsKey(netns));
  }
}

/** A conntrack event with defaults (a TCP connection 10.0.0.1:40000 -> 10.0.0.2:80), for tests. */
export function makeConntrackEvent(p: Partial<ConntrackEvent> & { type?: ConntrackEventType } = {}): ConntrackEvent {
  const orig = p.orig ?? { src: '10.0.0.1', dst: '10.0.0.2', protocol: 6, sport: 40000, dport: 80 };
  return {
    type: 'new',
    id: 1,
    family: orig.src.includes(':') ? 6 : 4,
    protocol: orig.protocol,
    reply: { src: orig.dst, dst: orig.src, protocol: orig.protocol, ...(orig.dport !== undefined ? { sport: orig.dport } : {}), ...(orig.sport !== undefined ? { dport: orig.sport } : {}) },
    observedMs: Date.now(),
    ...p,
    orig,
  };
}

/** An NFLOG packet with defaults (group 100, a TCP SYN 10.0.0.1:40000 -> 10.0.0.2:80), for tests. */
export function makeNflogPacket(p: Partial<NflogPacket> = {}): NflogPacket {
  return {
    group: 100,
    prefix: '',
    family: 2,
    hwProtocol: 0x0800,
    hook: 1,
    hookName: 'input',
    capturedLength: 60,
    packet: { ipVersion: 4, src: '10.0.0.1', dst: '10.0.0.2', protocol: 6, length: 60, ttl: 64, sport: 40000, dport: 80, tcpFlags: 0x02 },
    observedMs: Date.now(),
    ...p,
  };
}
