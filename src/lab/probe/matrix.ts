/**
 * Reachability matrices over the real datapath: every ordered pair of distinct probe targets,
 * for each (port, protocol, family), probed from the source pod's daemon, with bounded
 * parallelism across all matrices at once. A pair that looks denied is probed once more with a
 * longer timeout (a loaded 2-core machine can be slow to answer); an allowed pair never is, so a
 * policy that leaks is never hidden by a retry.
 */
import type { Family } from '../../common/ip.js';
import { CommonErrors, PodnetError } from '../../common/errors.js';
import { mapLimit } from '../probes.js';
import { probeVia } from './client.js';
import type { ProbeTarget } from './fleet.js';
import type { ProbeProtocol } from './protocol.js';

export interface MatrixSpec {
  readonly port: number;
  readonly protocol: ProbeProtocol;
  readonly family: Family;
}

export interface MatrixCell {
  readonly from: string;
  readonly to: string;
  /** The address probed. */
  readonly dst: string;
  readonly connected: boolean;
  /** 1, or 2 when the first probe looked denied. */
  readonly attempts: number;
  readonly detail: string;
  readonly ms: number;
}

export interface Matrix {
  readonly spec: MatrixSpec;
  readonly pods: readonly string[];
  readonly cells: readonly MatrixCell[];
  /** "x/a>y/b" -> connected. */
  readonly reach: ReadonlyMap<string, boolean>;
}

export interface MatrixOptions {
  /** Probes in flight in the first pass (default 24). */
  readonly concurrency?: number;
  /** Default 300 ms. */
  readonly firstTimeoutMs?: number;
  /** Default 1500 ms. */
  readonly retryTimeoutMs?: number;
  /** Probes in flight in the retry pass (default 72: they mostly wait). */
  readonly retryConcurrency?: number;
}

export const specName = (s: MatrixSpec): string => `${s.port}/${s.protocol} IPv${s.family}`;

interface Job {
  readonly m: number;
  readonly from: ProbeTarget;
  readonly to: ProbeTarget;
  readonly dst: string;
}

export async function probeMatrices(targets: readonly ProbeTarget[], specs: readonly MatrixSpec[], o: MatrixOptions = {}): Promise<Matrix[]> {
  const jobs: Job[] = [];
  specs.forEach((spec, m) => {
    for (const from of targets) {
      for (const to of targets) {
        if (from.key === to.key) continue;
        const dst = spec.family === 4 ? to.v4 : to.v6;
        if (dst === undefined) throw new PodnetError(CommonErrors.NOT_FOUND, `${to.key} has no IPv${spec.family} address`);
        jobs.push({ m, from, to, dst });
      }
    }
  });
  const once = async (j: Job, timeoutMs: number, attempts: number): Promise<MatrixCell> => {
    const spec = specs[j.m] as MatrixSpec;
    const a = await probeVia(j.from.control, { to: j.dst, port: spec.port, protocol: spec.protocol, timeoutMs });
    if (a.error !== undefined) throw new PodnetError(CommonErrors.INTERNAL, `probe ${j.from.key} -> ${j.to.key} (${j.dst}) ${specName(spec)}: ${a.error}`);
    return { from: j.from.key, to: j.to.key, dst: j.dst, connected: a.connected, attempts, detail: a.detail, ms: a.ms };
  };
  const first = await mapLimit(jobs, o.concurrency ?? 24, (j) => once(j, o.firstTimeoutMs ?? 300, 1));
  const again = first.map((c, i) => ({ c, i })).filter((x) => !x.c.connected);
  const second = await mapLimit(again, o.retryConcurrency ?? 72, (x) => once(jobs[x.i] as Job, o.retryTimeoutMs ?? 1500, 2));
  again.forEach((x, k) => (first[x.i] = second[k] as MatrixCell));
  return specs.map((spec, m) => {
    const cells = first.filter((_, i) => (jobs[i] as Job).m === m);
    return { spec, pods: targets.map((t) => t.key), cells, reach: new Map(cells.map((c) => [`${c.from}>${c.to}`, c.connected])) };
  });
}

export async function probeMatrix(targets: readonly ProbeTarget[], spec: MatrixSpec, o: MatrixOptions = {}): Promise<Matrix> {
  return (await probeMatrices(targets, [spec], o))[0] as Matrix;
}
