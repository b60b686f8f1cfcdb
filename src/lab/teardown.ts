/**
 * Removing a lab completely, whatever state it was left in (crashed CLI, killed agents, a state
 * file that was never written): every process found through pid files, through a command line
 * naming the lab directory, or living in one of the lab's namespaces is SIGKILLed; every namespace
 * recorded in the state file or carrying the lab's prefix is deleted; the lab directory is
 * removed. Then the same searches are repeated to prove nothing is left. Bounded throughout.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PodnetError } from '../common/errors.js';
import { LabErrors } from './errors.js';
import { readState } from './lab-state.js';
import { delNetns, listNetns } from './netns.js';
import { pidsInNetns, pidsMentioning, readPidFile, signalAll, verifiedPid, waitGone } from './procs.js';
import { LAB_NS_PREFIX, LAB_ROOT, Topology } from './topology.js';

export interface TeardownReport {
  readonly lab: string;
  readonly killed: readonly number[];
  readonly namespaces: readonly string[];
  /** What could not be removed (empty when the teardown is complete). */
  readonly leftPids: readonly number[];
  readonly leftNamespaces: readonly string[];
}

function pidFiles(dir: string): string[] {
  const out: string[] = [];
  const nodes = join(dir, 'nodes');
  try {
    for (const n of readdirSync(nodes)) out.push(join(nodes, n, 'agent.pid'));
  } catch {
    /* none */
  }
  try {
    for (const f of readdirSync(join(dir, 'etcd'))) if (f.endsWith('.pid')) out.push(join(dir, 'etcd', f));
  } catch {
    /* none */
  }
  return out;
}

function labPids(dir: string, namespaces: readonly string[]): number[] {
  const fromFiles = pidFiles(dir)
    .map((f) => verifiedPid(readPidFile(f), dir))
    .filter((p): p is number => p !== undefined);
  return [...new Set([...fromFiles, ...pidsMentioning(dir), ...pidsInNetns(namespaces)])];
}

/** Pods first, nodes next, the backbone last (order only matters for tidiness). */
function nsOrder(prefix: string, ns: string): number {
  const rest = ns.slice(prefix.length);
  if (rest.startsWith('p-')) return 0;
  if (/^n\d+$/.test(rest)) return 1;
  return 2;
}

/** Tears down lab `name` (which need not be running or even exist). Never throws. */
export async function teardownLab(name: string, root = LAB_ROOT): Promise<TeardownReport> {
  const topo = new Topology(name, 1, root);
  const recorded = readState(topo.stateFile)?.namespaces ?? [];
  const namespaces = () => [...new Set([...recorded.filter((n) => n.startsWith(topo.prefix)), ...listNetns(topo.prefix)])];
  const killed = new Set<number>();
  let leftPids: number[] = [];
  for (let round = 0; round < 3; round++) {
    const pids = labPids(topo.dir, namespaces());
    if (pids.length === 0) break;
    for (const p of signalAll(pids, 'SIGKILL')) killed.add(p);
    leftPids = await waitGone(pids, 5000);
  }
  const removed: string[] = [];
  const todo = namespaces().sort((a, b) => nsOrder(topo.prefix, a) - nsOrder(topo.prefix, b) || a.localeCompare(b));
  for (const ns of todo) {
    await delNetns(ns).catch(() => undefined);
    if (!existsSync(`/run/netns/${ns}`)) removed.push(ns);
  }
  try {
    rmSync(topo.dir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    /* reported below through the leftovers */
  }
  leftPids = [...new Set([...leftPids.filter((p) => verifiedPid(p, topo.dir) !== undefined), ...pidsMentioning(topo.dir)])];
  return { lab: name, killed: [...killed], namespaces: removed, leftPids, leftNamespaces: listNetns(topo.prefix) };
}

/** Lab names present: directories under root and `pl-<lab>-…` namespaces. */
export function presentLabs(root = LAB_ROOT): string[] {
  const names = new Set<string>();
  try {
    for (const d of readdirSync(root)) if (/^[a-z0-9]{1,12}$/.test(d)) names.add(d);
  } catch {
    /* no root */
  }
  for (const ns of listNetns(LAB_NS_PREFIX)) {
    const m = /^pl-([a-z0-9]{1,12})-/.exec(ns);
    if (m?.[1]) names.add(m[1]);
  }
  return [...names].sort();
}

export async function teardownAll(root = LAB_ROOT): Promise<TeardownReport[]> {
  const out: TeardownReport[] = [];
  for (const name of presentLabs(root)) out.push(await teardownLab(name, root));
  return out;
}

export function assertComplete(r: TeardownReport): void {
  if (r.leftPids.length === 0 && r.leftNamespaces.length === 0) return;
  throw new PodnetError(
    LabErrors.LAB_TEARDOWN_INCOMPLETE,
    `lab ${r.lab}: teardown left ${r.leftPids.length ? `processes ${r.leftPids.join(', ')}` : ''}${r.leftPids.length && r.leftNamespaces.length ? ' and ' : ''}${r.leftNamespaces.length ? `namespaces ${r.leftNamespaces.join(', ')}` : ''}`,
  );
}
