/**
 * Kernel events -> flow records in the node's ring. Connections (conntrack new/destroy) are
 * recorded when a local pod is one end, with the decision of each local side's profile; NFLOG
 * records of the policy table become drop, audit and log records. Everything else (the node's
 * own connections, other tables' logs) is ignored. Bounded: the ring keeps the newest records.
 */
import type { Family } from '../common/ip.js';
import type { Pod } from '../model/k8s.js';
import { decidePrefix, decideSide, localEndpoint, podAt, type PolicyView, type SideDecision } from './decide.js';
import { Ring } from './ring.js';
import { protocolName, type ConnEvent, type FlowEndpoint, type FlowRecord, type LogPacket } from './types.js';

export interface RecorderOptions {
  readonly node: string;
  readonly capacity: number;
  /** The node's policy as programmed, read at each event. */
  readonly view: () => PolicyView;
  /** Each record as it is made (metrics). */
  readonly onRecord?: (r: FlowRecord) => void;
  readonly now?: () => number;
}

export interface RecorderStats {
  readonly records: number;
  readonly kept: number;
  readonly overwritten: number;
  readonly ignored: number;
}

function endpoint(ip: string, port: number | undefined, pod: Pod | undefined): FlowEndpoint {
  return { ip, ...(port !== undefined ? { port } : {}), ...(pod ? { namespace: pod.namespace, pod: pod.name, ...(pod.nodeName ? { node: pod.nodeName } : {}) } : {}) };
}

const hasPorts = (proto: number): boolean => proto === 6 || proto === 17 || proto === 132;

/** What decided a connection (shared by every record of the same pods, protocol and port). */
interface Decided {
  readonly srcPod: Pod | undefined;
  readonly dstPod: Pod | undefined;
  readonly direction: 'ingress' | 'egress' | undefined;
  readonly policies: FlowRecord['policies'];
  readonly reason: string;
}

export class FlowRecorder {
  readonly ring: Ring<FlowRecord>;
  private ignored = 0;
  private made = 0;
  private readonly now: () => number;

  constructor(private readonly o: RecorderOptions) {
    this.ring = new Ring<FlowRecord>(o.capacity);
    this.now = o.now ?? Date.now;
  }

  stats(): RecorderStats {
    return { records: this.made, kept: this.ring.length, overwritten: this.ring.dropped, ignored: this.ignored };
  }

  onConnections(events: readonly ConnEvent[]): void {
    const view = this.o.view();
    for (const e of events) this.connection(view, e);
  }

  onLogs(packets: readonly LogPacket[]): void {
    const view = this.o.view();
    for (const p of packets) this.logged(view, p);
  }

  /**
   * Decisions per (src, dst, protocol, port) for the policy as programmed: a flood of connections
   * between the same pods is looked up once, and its records share the policies and reason.
   */
  private cache: { readonly view: PolicyView['compiled']; readonly state: PolicyView['state']; readonly map: Map<string, Decided | null> } | undefined;

  private decided(view: PolicyView, e: ConnEvent, port: number): Decided | null {
    if (!this.cache || this.cache.view !== view.compiled || this.cache.state !== view.state || this.cache.map.size > 50_000) {
      this.cache = { view: view.compiled, state: view.state, map: new Map() };
    }
    const key = `${e.src}|${e.dst}|${e.protocol}|${port}`;
    const hit = this.cache.map.get(key);
    if (hit !== undefined) return hit;
    const srcPod = podAt(view, e.src);
    const dstPod = podAt(view, e.dst);
    const srcEp = localEndpoint(view, srcPod);
    const dstEp = localEndpoint(view, dstPod);
    let d: Decided | null = null;
    if (srcEp || dstEp) {
      const sides: SideDecision[] = [];
      if (srcEp) {
        const x = decideSide(view, srcEp, 'egress', e.dst, e.protocol, port);
        if (x) sides.push(x);
      }
      if (dstEp) {
        const x = decideSide(view, dstEp, 'ingress', e.src, e.protocol, port);
        if (x) sides.push(x);
      }
      d = {
        srcPod,
        dstPod,
        direction: srcEp && !dstEp ? 'egress' : dstEp && !srcEp ? 'ingress' : undefined,
        policies: sides.flatMap((x) => x.policies),
        reason: sides.map((x) => x.reason).join('; ') || 'forwarded',
      };
    }
    this.cache.map.set(key, d);
    return d;
  }

  private connection(view: PolicyView, e: ConnEvent): void {
    const port = hasPorts(e.protocol) ? (e.dport ?? 0) : 0;
    const d = this.decided(view, e, port);
    if (!d) {
      this.ignored++;
      return;
    }
    const end = e.type === 'destroy';
    const durationMs = e.startMs !== undefined && e.stopMs !== undefined && e.stopMs >= e.startMs ? Math.round((e.stopMs - e.startMs) * 1000) / 1000 : undefined;
    this.add(
      {
        event: end ? 'end' : 'new',
        verdict: 'forwarded',
        family: e.family,
        protocol: protocolName(e.protocol),
        src: endpoint(e.src, hasPorts(e.protocol) ? e.sport : undefined, d.srcPod),
        dst: endpoint(e.dst, hasPorts(e.protocol) ? e.dport : undefined, d.dstPod),
        ...(d.direction ? { direction: d.direction } : {}),
        policies: d.policies,
        reason: d.reason,
        ...(e.icmp ? { icmp: e.icmp } : {}),
        ...(end && e.packets ? { packets: e.packets } : {}),
        ...(end && e.bytes ? { bytes: e.bytes } : {}),
        ...(end && durationMs !== undefined ? { durationMs } : {}),
        ...(e.id !== undefined ? { connection: e.id } : {}),
      },
      end ? (e.stopMs ?? e.timeMs) : e.timeMs,
    );
  }

  private logged(view: PolicyView, p: LogPacket): void {
    const d = decidePrefix(view, p.prefix);
    if (!d) {
      this.ignored++;
      return;
    }
    const ports = hasPorts(p.protocol);
    this.add(
      {
        event: d.event,
        verdict: d.event === 'drop' ? 'dropped' : d.event === 'audit' ? 'audit' : 'logged',
        family: p.family as Family,
        protocol: protocolName(p.protocol),
        src: endpoint(p.src, ports ? p.sport : undefined, podAt(view, p.src)),
        dst: endpoint(p.dst, ports ? p.dport : undefined, podAt(view, p.dst)),
        ...(d.direction ? { direction: d.direction } : {}),
        policies: d.policies,
        reason: d.reason,
        ...(p.icmp ? { icmp: p.icmp } : {}),
      },
      p.timeMs,
    );
  }

  private add(r: Omit<FlowRecord, 'seq' | 'node' | 'time'>, timeMs?: number): void {
    this.made++;
    const rec = this.ring.push((seq) => ({ seq, node: this.o.node, time: new Date(timeMs ?? this.now()).toISOString(), ...r }));
    this.o.onRecord?.(rec);
  }
}
