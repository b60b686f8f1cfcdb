/**
 * The lab's state file (`<lab dir>/state.json`): what separate `podnet lab` invocations need to
 * re-attach. Written atomically (temp file + rename). Namespaces are recorded BEFORE they are
 * created, so teardown after any crash finds them (it also scans by prefix). Read-modify-write
 * from concurrent commands is serialised by a lock directory holding its owner's pid; a lock whose
 * owner is dead is taken over. Every wait is bounded.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendName } from '../model/node.js';
import { PodnetError } from '../common/errors.js';
import type { JsonObject } from './cni-runtime.js';
import { LabErrors } from './errors.js';
import { isAlive, readPidFile } from './procs.js';
import type { SubnetId } from './topology.js';

export interface LabNodeState {
  readonly name: string;
  readonly index: number;
  readonly ns: string;
  readonly subnet: SubnetId;
  readonly v4: string;
  readonly v6: string;
  readonly dir: string;
  readonly socket: string;
}

export interface LabPodState {
  /** The lab's name for the pod (unique in the lab). */
  readonly name: string;
  readonly node: string;
  readonly namespace: string;
  /** The Kubernetes pod name (K8S_POD_NAME); absent in older state files: the lab name. */
  readonly podName?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ns: string;
  readonly containerId: string;
  readonly ifname: string;
  /** 'adding' while the CNI ADD runs (the name is reserved). */
  readonly phase: 'adding' | 'ready';
  readonly addresses: readonly string[];
  /** The CNI ADD result, given back as prevResult on DEL. */
  readonly result?: JsonObject;
}

export interface LabState {
  readonly version: 1;
  readonly name: string;
  readonly dir: string;
  readonly prefix: string;
  readonly backend: BackendName;
  readonly subnets: 1 | 2;
  readonly etcdMembers: number;
  readonly etcdToken: string;
  readonly detached: boolean;
  readonly createdAt: string;
  /** Every namespace the lab made (recorded before creation). */
  namespaces: string[];
  nodes: LabNodeState[];
  pods: LabPodState[];
  nextNodeIndex: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function readState(file: string): LabState | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const s = JSON.parse(text) as LabState;
    if (s.version !== 1 || !Array.isArray(s.nodes) || !Array.isArray(s.pods) || !Array.isArray(s.namespaces)) return undefined;
    return s;
  } catch {
    return undefined;
  }
}

export function writeState(file: string, s: LabState): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`);
  renameSync(tmp, file);
}

/** In-process queue per lock path: callers in one process never spin on each other. */
const queues = new Map<string, Promise<unknown>>();

/** Runs fn holding `<dir>/lock` (a directory: mkdir is atomic). */
export async function withLock<T>(dir: string, fn: () => Promise<T> | T, timeoutMs = 60_000): Promise<T> {
  const lock = join(dir, 'lock');
  const prev = queues.get(lock) ?? Promise.resolve();
  const run = prev.catch(() => undefined).then(async () => {
    await acquire(lock, timeoutMs);
    try {
      return await fn();
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  });
  queues.set(lock, run);
  try {
    return await run;
  } finally {
    if (queues.get(lock) === run) queues.delete(lock);
  }
}

async function acquire(lock: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 100_000; i++) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), `${process.pid}\n`);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = readPidFile(join(lock, 'pid'));
    // Dead owner, or no pid written 5 s after mkdir (the owner died in between): take it over.
    if (owner !== undefined ? !isAlive(owner) : ageMs(lock) > 5000) rmSync(lock, { recursive: true, force: true });
    if (Date.now() >= deadline) throw new PodnetError(LabErrors.LAB_LOCKED, `lab lock ${lock} held by pid ${owner ?? '?'} for more than ${timeoutMs} ms`);
    await sleep(20);
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
