/**
 * Connectivity checks over a lab: the pod-to-pod ping matrix (every pod to every other pod, in
 * parallel but bounded) and egress through the node's NAT to the external namespace (ping, and a
 * TCP exchange whose listener reports the source address it saw: the node's underlay address
 * when the pod's traffic was masqueraded).
 */
import type { Family } from '../common/ip.js';
import type { Lab, LabPod } from './lab.js';
import { mapLimit, ping, whoAmI, type PingResult } from './probes.js';
import { addressOf, EXT } from './topology.js';

export interface PingCell extends PingResult {
  readonly from: string;
  readonly to: string;
  /** The address pinged (undefined when the target pod has none of the family). */
  readonly dst: string | undefined;
}

export interface PingMatrix {
  readonly family: Family;
  readonly pods: readonly string[];
  /** One cell per ordered pair of distinct pods. */
  readonly cells: readonly PingCell[];
  readonly passed: number;
  readonly failed: number;
}

export interface PingMatrixOptions {
  readonly family?: Family;
  /** Attempts per pair (default 3: a pair that needs retries still passes, with attempts > 1). */
  readonly attempts?: number;
  /** Pings in flight at once (default 8). */
  readonly concurrency?: number;
  /** Restrict to these pods (default all). */
  readonly pods?: readonly string[];
}

const addrOf = (p: LabPod, f: Family): string | undefined => (f === 4 ? p.v4 : p.v6);

export async function pingMatrix(lab: Lab, opts: PingMatrixOptions = {}): Promise<PingMatrix> {
  const family = opts.family ?? 4;
  const pods = lab.pods().filter((p) => !opts.pods || opts.pods.includes(p.name));
  const pairs = pods.flatMap((a) => pods.filter((b) => b.name !== a.name).map((b) => [a, b] as const));
  const cells = await mapLimit(pairs, opts.concurrency ?? 8, async ([a, b]): Promise<PingCell> => {
    const dst = addrOf(b, family);
    if (!dst) return { from: a.name, to: b.name, dst, ok: false, attempts: 0, rttMs: undefined, error: `${b.name} has no IPv${family} address` };
    return { from: a.name, to: b.name, dst, ...(await ping(a.ns, dst, opts.attempts ?? 3)) };
  });
  const passed = cells.filter((c) => c.ok).length;
  return { family, pods: pods.map((p) => p.name), cells, passed, failed: cells.length - passed };
}

export interface EgressResult {
  readonly pod: string;
  readonly node: string;
  readonly family: Family;
  /** The external address contacted. */
  readonly target: string;
  /** The node's underlay address: what ext must see when the pod's traffic is masqueraded. */
  readonly nodeAddress: string;
  readonly ping: PingResult;
  /** Source address the external listener saw. */
  readonly seen: string | undefined;
  readonly natted: boolean;
  readonly ok: boolean;
  readonly error: string | undefined;
}

/** Pod → ext: ping, then TCP; ext must see the node's address (egress NAT). */
export async function egressCheck(lab: Lab, podName: string, family: Family): Promise<EgressResult> {
  const pod = lab.pod(podName);
  const node = lab.node(pod.node);
  const nodeAddress = addressOf(family === 4 ? node.v4 : node.v6);
  const target = family === 4 ? EXT.v4 : EXT.v6;
  const p = await ping(pod.ns, target, 3);
  const w = await whoAmI(pod.ns, lab.topo.extNs, target);
  const natted = w.seen === nodeAddress;
  const error = !p.ok ? `ping ${target}: ${p.error ?? 'failed'}` : w.error ?? (natted ? undefined : `ext saw ${w.seen ?? 'nothing'}, not the node address ${nodeAddress}`);
  return { pod: pod.name, node: node.name, family, target, nodeAddress, ping: p, seen: w.seen, natted, ok: p.ok && w.ok && natted, error };
}
