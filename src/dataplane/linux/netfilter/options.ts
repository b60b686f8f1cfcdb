/** Validation of reader options into a WorkerConfig; shared by the real readers and the fake. */
import { NFULNL_COPY_RANGE_MAX } from './constants.js';
import { FlowReaderError, NetfilterErrors } from './errors.js';
import type { ConntrackSourceConfig, NflogSourceConfig, WorkerConfig } from './reader-protocol.js';
import type { ConntrackEventType, ConntrackEventsOptions, NflogOptions, ReaderTuning } from './types.js';

export const DEFAULTS = {
  batchMax: 256,
  flushMs: 50,
  maxPendingBatches: 64,
  rcvbufBytes: 8 << 20,
  copyRange: 128,
  kernelFlushMs: 20,
  kernelQueueThreshold: 64,
} as const;

const EVENT_TYPES: readonly ConntrackEventType[] = ['new', 'update', 'destroy'];

function int(name: string, v: number | undefined, def: number, min: number, max: number): number {
  const x = v ?? def;
  if (!Number.isInteger(x) || x < min || x > max) {
    throw new FlowReaderError(NetfilterErrors.NETFILTER_INVALID_OPTIONS, `${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return x;
}

function bool(name: string, v: boolean | undefined, def: boolean): boolean {
  if (v !== undefined && typeof v !== 'boolean') throw new FlowReaderError(NetfilterErrors.NETFILTER_INVALID_OPTIONS, `${name} must be true or false, got ${String(v)}`);
  return v ?? def;
}

function tuning(t: ReaderTuning, netns: string | undefined, label: string): Omit<WorkerConfig, 'source'> {
  if (netns !== undefined && (typeof netns !== 'string' || netns === '' || netns.includes('\0'))) {
    throw new FlowReaderError(NetfilterErrors.NETFILTER_INVALID_OPTIONS, `bad network namespace path ${JSON.stringify(netns)}`);
  }
  return {
    netns,
    label,
    batchMax: int('batchMax', t.batchMax, DEFAULTS.batchMax, 1, 4096),
    flushMs: int('flushMs', t.flushMs, DEFAULTS.flushMs, 1, 1000),
    maxPendingBatches: int('maxPendingBatches', t.maxPendingBatches, DEFAULTS.maxPendingBatches, 1, 4096),
    rcvbufBytes: int('rcvbufBytes', t.rcvbufBytes, DEFAULTS.rcvbufBytes, 4096, 256 << 20),
    idlePriority: bool('idlePriority', t.idlePriority, false),
  };
}

export function conntrackConfig(o: ConntrackEventsOptions): WorkerConfig & { source: ConntrackSourceConfig } {
  const events = [...new Set(o.events ?? (['new', 'destroy'] as const))];
  if (events.length === 0 || events.some((e) => !EVENT_TYPES.includes(e))) {
    throw new FlowReaderError(NetfilterErrors.NETFILTER_INVALID_OPTIONS, `events must be a non-empty subset of ${EVENT_TYPES.join(', ')}, got ${JSON.stringify(o.events)}`);
  }
  const label = o.label ?? `conntrack events in ${o.netns ?? 'own namespace'}`;
  return { ...tuning(o, o.netns, label), source: { kind: 'conntrack', events } };
}

export function nflogConfig(o: NflogOptions): WorkerConfig & { source: NflogSourceConfig } {
  const group = int('group', o.group, -1, 0, 0xffff);
  const label = o.label ?? `NFLOG group ${group} in ${o.netns ?? 'own namespace'}`;
  const kernelFlushMs = int('kernelFlushMs', o.kernelFlushMs, DEFAULTS.kernelFlushMs, 10, 10_000);
  return {
    ...tuning(o, o.netns, label),
    source: {
      kind: 'nflog',
      group,
      copyRange: int('copyRange', o.copyRange, DEFAULTS.copyRange, 0, NFULNL_COPY_RANGE_MAX),
      timeoutCs: Math.round(kernelFlushMs / 10),
      qthresh: int('kernelQueueThreshold', o.kernelQueueThreshold, DEFAULTS.kernelQueueThreshold, 1, 10_000),
      resolveNames: o.resolveNames ?? true,
    },
  };
}
