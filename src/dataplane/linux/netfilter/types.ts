/**
 * What the flow readers deliver, and the handles they return. Records are plain data (strings,
 * numbers, booleans): they cross the worker boundary by structured clone and serialise to JSON.
 * Times are milliseconds since the Unix epoch as floats (sub-millisecond precision kept).
 */
import type { Family } from '../../../common/ip.js';
import type { FlowReaderError } from './errors.js';

// --- conntrack events -------------------------------------------------------------------------
export type ConntrackEventType = 'new' | 'update' | 'destroy';

/** One direction of a connection as conntrack sees it. */
export interface ConntrackTuple {
  /** Canonical address text ("10.0.0.1", "fd00::1"). */
  readonly src: string;
  readonly dst: string;
  /** IP protocol number (6 tcp, 17 udp, 1 icmp, 58 icmpv6, 132 sctp...). */
  readonly protocol: number;
  /** TCP, UDP, UDP-Lite, SCTP, DCCP. */
  readonly sport?: number;
  readonly dport?: number;
  /** ICMP / ICMPv6. */
  readonly icmpType?: number;
  readonly icmpCode?: number;
  readonly icmpId?: number;
  /** Conntrack zone of this direction, when it differs from the default. */
  readonly zone?: number;
}

export interface ConntrackCounters {
  readonly packets: number;
  readonly bytes: number;
}

export interface ConntrackEvent {
  readonly type: ConntrackEventType;
  /** CTA_ID: the kernel's id of the entry (stable over its life, reused afterwards). */
  readonly id?: number;
  readonly family: Family;
  /** Protocol of the original direction (same as orig.protocol). */
  readonly protocol: number;
  readonly orig: ConntrackTuple;
  readonly reply?: ConntrackTuple;
  /** IPS_* bits (see statusFlags()). */
  readonly status?: number;
  readonly mark?: number;
  readonly zone?: number;
  /** Seconds left before the entry expires (new/update). */
  readonly timeout?: number;
  /** TCP state name ("SYN_SENT", "ESTABLISHED", ...) when the event carries it. */
  readonly tcpState?: string;
  /** Per direction, on destroy when net.netfilter.nf_conntrack_acct=1 when the entry was made. */
  readonly counters?: { readonly orig?: ConntrackCounters; readonly reply?: ConntrackCounters };
  /** On destroy when net.netfilter.nf_conntrack_timestamp=1 when the entry was made. */
  readonly startMs?: number;
  readonly stopMs?: number;
  /** When the reader decoded it (the kernel gives no time on new/update events). */
  readonly observedMs: number;
}

// --- NFLOG --------------------------------------------------------------------------------------
/** The network and transport headers of a logged packet (as much as the copy range held). */
export interface ParsedPacket {
  readonly ipVersion: 4 | 6;
  readonly src: string;
  readonly dst: string;
  /** Transport protocol (after IPv6 extension headers). */
  readonly protocol: number;
  /** Length of the whole packet from its IP header (not the copied part). */
  readonly length: number;
  readonly ttl: number;
  /** A fragment other than the first: no transport header. */
  readonly fragment?: boolean;
  readonly sport?: number;
  readonly dport?: number;
  /** TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE, CWR). */
  readonly tcpFlags?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** Echo request/reply identifier. */
  readonly icmpId?: number;
  /** The copy range ended inside the headers this parser wanted. */
  readonly truncated?: boolean;
}

export interface NflogPacket {
  readonly group: number;
  /** The rule's `log prefix` text ("" when it had none). */
  readonly prefix: string;
  /** NFPROTO_* of the logging table: 2 ipv4, 10 ipv6, 7 bridge, 5 netdev, 3 arp. */
  readonly family: number;
  /** Ethertype of the packet (0x0800, 0x86dd), when known. */
  readonly hwProtocol?: number;
  /** Netfilter hook number; hookName for the inet families ("input", "forward", ...). */
  readonly hook?: number;
  readonly hookName?: string;
  readonly indev?: number;
  readonly outdev?: number;
  /** Interface names in the reader's namespace, resolved through a small cache. */
  readonly indevName?: string;
  readonly outdevName?: string;
  readonly mark?: number;
  /** Packet time from the kernel (prerouting, input and forward hooks only). */
  readonly timestampMs?: number;
  /** Owner of the local socket that sent it, when there is one. */
  readonly uid?: number;
  readonly gid?: number;
  /** Instance-local sequence number: gaps mean lost messages. */
  readonly seq?: number;
  /** Bytes of the packet copied (the copy range caps this). */
  readonly capturedLength: number;
  /** Headers parsed from the copied bytes; absent when nothing was copied or it is not IP. */
  readonly packet?: ParsedPacket;
  readonly observedMs: number;
}

// --- readers ------------------------------------------------------------------------------------
export interface FlowReaderStats {
  /** Records decoded and handed on (delivered or dropped). */
  readonly received: number;
  /** Records the kernel could not deliver: NFLOG sequence gaps (exact), plus one per overrun
   * for conntrack (a lower bound: the kernel does not say how many were dropped). */
  readonly lost: number;
  /** Times the socket overran (ENOBUFS). */
  readonly overruns: number;
  /** Messages that could not be decoded (skipped). */
  readonly decodeErrors: number;
  /** Records decoded but dropped because the main thread was behind (maxPendingBatches). */
  readonly dropped: number;
  /** Batches delivered to the callback. */
  readonly batches: number;
}

export interface FlowReaderHandle {
  /** Stops the reader: the worker ends, the socket closes, no callback runs afterwards. */
  close(): Promise<void>;
  stats(): FlowReaderStats;
  /** The reader thread's kernel thread id (for /proc/self/task/TID/stat); 0 for fakes. */
  readonly tid: number;
}

export type ConntrackEventsHandle = FlowReaderHandle;
export type NflogHandle = FlowReaderHandle;

export interface ReaderTuning {
  /** Deliver at most this many records per callback (default 256, 1..4096). */
  readonly batchMax?: number;
  /** Deliver a partial batch about this long after its first record (at most 1.25x; default 50 ms, 1..1000). */
  readonly flushMs?: number;
  /** Batches posted but not yet delivered before new ones are dropped and counted (default 64, 1..4096). */
  readonly maxPendingBatches?: number;
  /** Socket receive buffer, set with SO_RCVBUFFORCE (default 8 MiB, 4 KiB..256 MiB). */
  readonly rcvbufBytes?: number;
  /**
   * Run the reader thread in the SCHED_IDLE class (default false): it reads only on CPU time
   * nothing else wants, so under CPU saturation the kernel queues records in the socket buffer
   * (rcvbufBytes) instead of the reader competing with the workload; it catches up after.
   */
  readonly idlePriority?: boolean;
}

export interface ConntrackEventsOptions extends ReaderTuning {
  /** Namespace file (/run/netns/x, /proc/PID/ns/net); default: the process's namespace. */
  readonly netns?: string;
  /** Which events to subscribe to (default new and destroy). */
  readonly events?: readonly ConntrackEventType[];
  /** A batch of events in kernel order (on the main thread). Exceptions go to onError. */
  readonly onEvents: (records: readonly ConntrackEvent[]) => void;
  /**
   * Problems after open. fatal = false: a decode failure (rate-limited; all are counted in
   * stats) or a callback that threw; reading goes on. fatal = true: the reader stopped (its
   * thread failed or died) and delivers nothing more; reported once. Never called after close().
   */
  readonly onError: (err: FlowReaderError) => void;
  /** Names the reader in errors. */
  readonly label?: string;
}

export interface NflogOptions extends ReaderTuning {
  /** Namespace file (/run/netns/x, /proc/PID/ns/net); default: the process's namespace. */
  readonly netns?: string;
  /** The `log group N` number, 0..65535. One socket per group and namespace. */
  readonly group: number;
  /** Bytes of each packet to copy (default 128, 0 = metadata only, max 65531). */
  readonly copyRange?: number;
  /** How long the kernel may hold messages to batch them (default 20 ms, 10 ms steps). */
  readonly kernelFlushMs?: number;
  /** Messages the kernel batches into one datagram before sending (default 64). */
  readonly kernelQueueThreshold?: number;
  /** Resolve ifindex to names (default true). */
  readonly resolveNames?: boolean;
  /** A batch of packets in kernel order (on the main thread). Exceptions go to onError. */
  readonly onPackets: (records: readonly NflogPacket[]) => void;
  /** As for conntrack events (ConntrackEventsOptions.onError). */
  readonly onError: (err: FlowReaderError) => void;
  readonly label?: string;
}

/** The kernel sources the agent's flow logic reads; LinuxFlowSources or FakeFlowSources. */
export interface FlowSources {
  openConntrackEvents(opts: ConntrackEventsOptions): Promise<ConntrackEventsHandle>;
  openNflog(opts: NflogOptions): Promise<NflogHandle>;
  /** Turns on per-connection counters and timestamps in a namespace (see sysctl.ts). */
  enableConntrackAccounting(netns?: string): Promise<ConntrackAccounting>;
}

export interface ConntrackAccounting {
  /** net.netfilter.nf_conntrack_acct is 1. */
  readonly acct: boolean;
  /** net.netfilter.nf_conntrack_timestamp is 1. */
  readonly timestamp: boolean;
  /** net.netfilter.nf_conntrack_events (0 = none, 1 = all, 2 = when someone listens). */
  readonly events: number | undefined;
}

/** T with its readonly marks removed (decoders fill records field by field, then hand them out readonly). */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };
