/**
 * The probe daemon's control protocol (one unix-socket connection per request): the client writes
 * one JSON line, the daemon answers one JSON line and closes. Unix sockets are not bound to a
 * network namespace, so the test reaches every pod's daemon from the root namespace.
 */
import { isIP } from 'node:net';

export type ProbeProtocol = 'TCP' | 'UDP' | 'SCTP';
export const PROBE_PROTOCOLS: readonly ProbeProtocol[] = ['TCP', 'UDP', 'SCTP'];

/** Connect from the daemon's pod to `to`:`port`; answer within timeoutMs. */
export interface ProbeRequest {
  readonly op: 'probe';
  readonly to: string;
  readonly port: number;
  readonly protocol: ProbeProtocol;
  readonly timeoutMs: number;
}

export interface PingRequest {
  readonly op: 'ping';
}

export type ControlRequest = ProbeRequest | PingRequest;

export interface ProbeAnswer {
  /** A byte went there and back (TCP, UDP), or an INIT got its INIT-ACK (SCTP). */
  readonly connected: boolean;
  /** "echo", "timeout", "refused", "INIT-ACK", … */
  readonly detail: string;
  /** Time the probe took. */
  readonly ms: number;
  /** The probe could not be made (not a verdict): bad request, socket or tool failure. */
  readonly error?: string;
}

export interface PingAnswer {
  readonly ok: true;
  /** The pod (ns/name) the daemon serves. */
  readonly name: string;
  readonly ports: readonly number[];
}

export const MAX_PROBE_TIMEOUT_MS = 60_000;

/** Validates a decoded request; returns the problem, or undefined when it is fine. */
export function requestProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null) return 'request is not an object';
  const r = v as Record<string, unknown>;
  if (r.op === 'ping') return undefined;
  if (r.op !== 'probe') return `unknown op ${JSON.stringify(r.op)}`;
  if (typeof r.to !== 'string' || isIP(r.to) === 0) return `to ${JSON.stringify(r.to)} is not an IP address`;
  if (typeof r.port !== 'number' || !Number.isInteger(r.port) || r.port < 1 || r.port > 65535) return `port ${JSON.stringify(r.port)}: want 1-65535`;
  if (typeof r.protocol !== 'string' || !(PROBE_PROTOCOLS as readonly string[]).includes(r.protocol)) return `protocol ${JSON.stringify(r.protocol)}: want TCP, UDP or SCTP`;
  if (typeof r.timeoutMs !== 'number' || !Number.isInteger(r.timeoutMs) || r.timeoutMs < 1 || r.timeoutMs > MAX_PROBE_TIMEOUT_MS) return `timeoutMs ${JSON.stringify(r.timeoutMs)}: want 1-${MAX_PROBE_TIMEOUT_MS}`;
  return undefined;
}
