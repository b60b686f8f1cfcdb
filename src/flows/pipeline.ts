/**
 * The kernel feeding the recorder: conntrack new/destroy events (with accounting and timestamps
 * turned on in the agent's namespace) and the policy table's NFLOG group, each read on its own
 * worker thread (src/dataplane/linux/netfilter). Records cross into the recorder's shapes here.
 */
import type { Logger } from '../common/log.js';
import type { ConntrackEvent, FlowReaderHandle, FlowSources, NflogPacket } from '../dataplane/linux/netfilter/types.js';
import type { FlowRecorder } from './recorder.js';
import type { ConnEvent, LogPacket } from './types.js';

export function connEventOf(e: ConntrackEvent): ConnEvent | undefined {
  if (e.type === 'update') return undefined;
  const o = e.orig;
  const c = e.counters;
  return {
    type: e.type,
    ...(e.id !== undefined ? { id: e.id } : {}),
    family: e.family,
    protocol: e.protocol,
    src: o.src,
    dst: o.dst,
    ...(o.sport !== undefined ? { sport: o.sport } : {}),
    ...(o.dport !== undefined ? { dport: o.dport } : {}),
    ...(o.icmpType !== undefined ? { icmp: { type: o.icmpType, code: o.icmpCode ?? 0 } } : {}),
    ...(c?.orig || c?.reply ? { packets: { orig: c.orig?.packets ?? 0, reply: c.reply?.packets ?? 0 }, bytes: { orig: c.orig?.bytes ?? 0, reply: c.reply?.bytes ?? 0 } } : {}),
    ...(e.startMs !== undefined ? { startMs: e.startMs } : {}),
    ...(e.stopMs !== undefined ? { stopMs: e.stopMs } : {}),
    timeMs: e.observedMs,
  };
}

export function logPacketOf(p: NflogPacket): LogPacket | undefined {
  const k = p.packet;
  if (!k) return undefined;
  return {
    prefix: p.prefix,
    family: k.ipVersion,
    protocol: k.protocol,
    src: k.src,
    dst: k.dst,
    ...(k.sport !== undefined ? { sport: k.sport } : {}),
    ...(k.dport !== undefined ? { dport: k.dport } : {}),
    ...(k.icmpType !== undefined ? { icmp: { type: k.icmpType, code: k.icmpCode ?? 0 } } : {}),
    timeMs: p.timestampMs ?? p.observedMs,
  };
}

export interface FlowPipeline {
  close(): Promise<void>;
  /** Kernel records lost (socket overruns, NFLOG gaps, batches dropped while the agent was busy). */
  lost(): number;
}

export interface FlowPipelineOptions {
  readonly sources: FlowSources;
  readonly recorder: FlowRecorder;
  readonly nflogGroup: number;
  readonly log: Logger;
  readonly netns?: string;
  /** Reader threads in SCHED_IDLE (they never compete with pods for CPU; records wait in the socket buffers meanwhile). */
  readonly idlePriority?: boolean;
  /** Receive buffer of each reader's socket. */
  readonly bufferBytes?: number;
}

export async function startFlowPipeline(o: FlowPipelineOptions): Promise<FlowPipeline> {
  const tuning = { ...(o.idlePriority !== undefined ? { idlePriority: o.idlePriority } : {}), ...(o.bufferBytes !== undefined ? { rcvbufBytes: o.bufferBytes } : {}) };
  const handles: FlowReaderHandle[] = [];
  const onError = (what: string) => (e: Error): void => o.log.warn(`flow reader (${what}) failed`, { error: e.message });
  try {
    const acct = await o.sources.enableConntrackAccounting(o.netns);
    if (!acct.acct || !acct.timestamp) o.log.warn('conntrack accounting or timestamps are off: connection ends lack counters or durations', { ...acct });
    handles.push(
      await o.sources.openConntrackEvents({
        ...(o.netns ? { netns: o.netns } : {}),
        events: ['new', 'destroy'],
        label: 'flows',
        ...tuning,
        onEvents: (evs) => o.recorder.onConnections(evs.flatMap((e) => connEventOf(e) ?? [])),
        onError: onError('conntrack'),
      }),
    );
    handles.push(
      await o.sources.openNflog({
        ...(o.netns ? { netns: o.netns } : {}),
        group: o.nflogGroup,
        label: 'flows',
        ...tuning,
        onPackets: (ps) => o.recorder.onLogs(ps.flatMap((p) => logPacketOf(p) ?? [])),
        onError: onError('nflog'),
      }),
    );
  } catch (e) {
    for (const h of handles) await h.close().catch(() => undefined);
    throw e;
  }
  return {
    async close() {
      for (const h of handles) await h.close();
    },
    lost: () => handles.reduce((n, h) => n + h.stats().lost + h.stats().dropped, 0),
  };
}
