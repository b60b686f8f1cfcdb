/**
 * Flow records: every connection a local pod makes or receives (from conntrack) and every drop,
 * audit would-drop and Log record (from the policy table's NFLOG records), with the pods, the
 * policy and rule that decided, and counters where the kernel has them.
 */
import type { Family } from '../common/ip.js';

export type FlowEvent = 'new' | 'end' | 'drop' | 'audit' | 'log';
export const FLOW_EVENTS: readonly FlowEvent[] = ['new', 'end', 'drop', 'audit', 'log'];

/** forwarded: the connection passed policy; dropped: a packet was dropped; audit: a staged policy would have dropped it; logged: a Log rule matched. */
export type FlowVerdict = 'forwarded' | 'dropped' | 'audit' | 'logged';
export const FLOW_VERDICTS: readonly FlowVerdict[] = ['forwarded', 'dropped', 'audit', 'logged'];

export interface FlowEndpoint {
  readonly ip: string;
  readonly port?: number;
  /** Set when the address is a known pod's. */
  readonly namespace?: string;
  readonly pod?: string;
  readonly node?: string;
}

export interface FlowPolicy {
  readonly kind: 'NetworkPolicy' | 'ClusterNetworkPolicy' | 'none';
  readonly namespace?: string;
  readonly name: string;
  readonly direction: 'ingress' | 'egress';
  /** Rule index (absent for "isolated, no rule allows"). */
  readonly rule?: number;
  /** ClusterNetworkPolicy rules: Allow, Deny, Pass, Log. */
  readonly action?: string;
}

export interface FlowRecord {
  /** Per-node sequence number (the cursor of `podnet observe --follow`). */
  readonly seq: number;
  readonly node: string;
  /** ISO 8601. */
  readonly time: string;
  readonly event: FlowEvent;
  readonly verdict: FlowVerdict;
  readonly family: Family;
  /** TCP, UDP, SCTP, ICMP, ICMPv6 or the protocol number. */
  readonly protocol: string;
  readonly src: FlowEndpoint;
  readonly dst: FlowEndpoint;
  /** Which side's policy decided (drops, audit, log) or was consulted (connections). */
  readonly direction?: 'ingress' | 'egress';
  /** The rules that decided, each side's, in order egress then ingress. */
  readonly policies: readonly FlowPolicy[];
  /** Human summary of the decision. */
  readonly reason: string;
  readonly icmp?: { readonly type: number; readonly code: number };
  /** Connection end: packets and bytes each way (with nf_conntrack_acct) and duration. */
  readonly packets?: { readonly orig: number; readonly reply: number };
  readonly bytes?: { readonly orig: number; readonly reply: number };
  readonly durationMs?: number;
  /** conntrack id of the connection. */
  readonly connection?: number;
}

/** Family, protocol, addresses and ports of a connection's original direction or of a logged packet. */
export interface FlowTuple {
  readonly family: Family;
  readonly protocol: number;
  readonly src: string;
  readonly dst: string;
  readonly sport?: number;
  readonly dport?: number;
  readonly icmp?: { readonly type: number; readonly code: number };
}

/** A conntrack event as the recorder takes it (decoded by the kernel reader); the tuple is the original direction's. */
export interface ConnEvent extends FlowTuple {
  readonly type: 'new' | 'destroy';
  readonly id?: number;
  readonly packets?: { readonly orig: number; readonly reply: number };
  readonly bytes?: { readonly orig: number; readonly reply: number };
  /** Connection start and end (ms since the epoch, with nf_conntrack_timestamp). */
  readonly startMs?: number;
  readonly stopMs?: number;
  /** When the event was read (ms since the epoch). */
  readonly timeMs?: number;
}

/** An NFLOG packet as the recorder takes it. */
export interface LogPacket extends FlowTuple {
  readonly prefix: string;
  /** Milliseconds since the epoch (the kernel's timestamp when present). */
  readonly timeMs?: number;
}

export const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP' };
export const protocolName = (p: number): string => PROTOCOL_NAMES[p] ?? String(p);
