/**
 * Rule ports -> protocol/port spans. No ports: every protocol and port (ICMP included). A port
 * entry without a port: every port of its protocol. Named ports resolve against the destination
 * pod's container ports with the same name and protocol; a pod without one matches nothing.
 */
import type { PolicyPort, Pod } from '../../model/k8s.js';
import { ALL_SPANS, mergeSpans, PROTO_NUMBER, protoSpan, type PortSpan } from './space.js';

export const hasNamedPorts = (ports: readonly PolicyPort[]): boolean => ports.some((p) => typeof p.port === 'string');

/** Spans of the numeric and port-less entries (named ones are left out). */
export function numericSpans(ports: readonly PolicyPort[]): PortSpan[] {
  if (ports.length === 0) return [...ALL_SPANS];
  const out: PortSpan[] = [];
  for (const p of ports) {
    const proto = PROTO_NUMBER[p.protocol];
    if (p.port === undefined) out.push(protoSpan(proto));
    else if (typeof p.port === 'number') out.push(protoSpan(proto, p.port, p.endPort ?? p.port));
  }
  return mergeSpans(out);
}

/** The container port a named policy port means on pod, if any. */
export function resolveNamedPort(pod: Pod | undefined, name: string, protocol: PolicyPort['protocol']): number | undefined {
  if (!pod) return undefined;
  for (const c of pod.ports) if (c.name === name && c.protocol === protocol) return c.containerPort;
  return undefined;
}

/** Spans of the named entries as they resolve on pod. */
export function namedSpans(ports: readonly PolicyPort[], pod: Pod | undefined): PortSpan[] {
  const out: PortSpan[] = [];
  for (const p of ports) {
    if (typeof p.port !== 'string') continue;
    const n = resolveNamedPort(pod, p.port, p.protocol);
    if (n !== undefined) out.push(protoSpan(PROTO_NUMBER[p.protocol], n, n));
  }
  return mergeSpans(out);
}

/** How pod resolves the named ports of ports, as a key ("TCP/http=8080,TCP/dns=-"); "" when none are named. */
export function namedPortKey(ports: readonly PolicyPort[], pod: Pod | undefined): string {
  const parts = new Set<string>();
  for (const p of ports) {
    if (typeof p.port !== 'string') continue;
    parts.add(`${p.protocol}/${p.port}=${resolveNamedPort(pod, p.port, p.protocol) ?? '-'}`);
  }
  return [...parts].sort().join(',');
}
