/** Helpers shared by the IPAM tests. */
import type { Family } from '../common/ip.js';
import type { AssignRequest } from './types.js';

export function request(node: string, handle: string, families: readonly Family[], extra: Partial<AssignRequest> = {}): AssignRequest {
  const [containerId = handle, ifname = 'eth0'] = handle.split('/');
  return { handle, node, families, attrs: { containerId, ifname, node, namespace: 'default', pod: `pod-${containerId}` }, ...extra };
}

export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

export async function timed<T>(fn: () => Promise<T>, into: number[]): Promise<T> {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  into.push(Number(process.hrtime.bigint() - t0) / 1e6);
  return r;
}
