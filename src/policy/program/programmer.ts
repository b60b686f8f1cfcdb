/**
 * Keeps the node's policy table equal to what the resources say for the local endpoints.
 *
 * - Full programming: compile the node, build the table model, apply the smallest diff from
 *   what is programmed (the very first time, and after any failure, an atomic replacement).
 *   Changes are coalesced (debounceMs) and programming is strictly serial.
 * - Admission (CNI ADD): the new interface is dropped by the table until it is mapped; admit()
 *   maps it and resolves only once the kernel has it. When the pod's profiles already exist it
 *   is one map update; otherwise a table compiled for the pod alone is merged in. Admissions
 *   waiting together go in one transaction. A full programming follows to bring the rest of the
 *   table up to date (e.g. the new pod as a peer in other profiles).
 */
import type { Logger } from '../../common/log.js';
import { type CompileContext, compileContext, compileNodeInContext, compileWith, contextWithPod, predictProfileIds } from '../compile/compile-node.js';
import type { CompiledNode, EndpointPolicy, LocalEndpoint, PolicyState } from '../compile/types.js';
import type { Pod, Resource } from '../../model/k8s.js';
import { diffModels, type NftOp } from '../nft/diff.js';
import { buildModel, endpointVerdict, type NftModel, type RenderOptions } from '../nft/model.js';
import { mapEndpoint, mergeAdditive, withEndpoint } from './merge.js';
import type { PolicyDataplane } from './port.js';
import { ResourceState } from './resource-state.js';

export interface ProgrammerOptions {
  readonly dataplane: PolicyDataplane;
  readonly log: Logger;
  readonly render?: RenderOptions;
  /** Coalescing delay of full programming after a change; default 20 ms. */
  readonly debounceMs?: number;
  /** The same within this long of an admission (pods tend to start in bursts); default 250 ms. */
  readonly admitDebounceMs?: number;
  /** Longest a change waits for its full programming; default 1000 ms. */
  readonly maxDelayMs?: number;
  /** Retry delay after a failed programming; default 1000 ms. */
  readonly retryMs?: number;
  /** How often the kernel's table is checked (and replaced when lost or flushed); default 30 s, 0 = never. */
  readonly verifyMs?: number;
  /** Called after every successful programming (metrics, logs). */
  readonly onProgrammed?: (r: ProgramReport) => void;
}

export interface ProgramReport {
  readonly kind: 'replace' | 'update' | 'admit';
  /** Wall time of the whole step, compile included. */
  readonly ms: number;
  readonly compileMs: number;
  readonly ops: number;
  readonly endpoints: number;
  readonly profiles: number;
  /** Admissions only: how many were mapped and how many needed a compile of their own. */
  readonly admitted?: number;
  readonly compiledAlone?: number;
}

export interface ProgrammerStatus {
  /** Datastore revision of the resources the kernel table reflects (0: nothing programmed yet). */
  readonly programmedRevision: number;
  /** Datastore revision of the resources known. */
  readonly revision: number;
  readonly synced: boolean;
  readonly endpoints: number;
  readonly profiles: number;
  readonly resources: number;
  readonly problems: readonly string[];
  readonly lastError: string | undefined;
  readonly last: ProgramReport | undefined;
  /** The last admission step (a later full programming does not hide it). */
  readonly lastAdmission: ProgramReport | undefined;
  /** Times the kernel's table was found lost or changed and replaced. */
  readonly repairs: number;
}

interface PendingAdmit {
  readonly ep: LocalEndpoint;
  readonly pod: Pod;
  readonly resolve: (r: ProgramReport) => void;
  readonly reject: (e: unknown) => void;
}

export class PolicyProgrammer {
  private readonly res = new ResourceState();
  private readonly endpoints = new Map<string, LocalEndpoint>();
  private compiled: CompiledNode | undefined;
  /**
   * The last full compilation's context, and the policies and namespaces it saw: a new pod's
   * profile compiled for admission reuses its resolved peers while those are unchanged.
   */
  private context: { readonly ctx: CompileContext; readonly policies: PolicyState } | undefined;
  private model: NftModel | undefined;
  private revision = 0;
  private programmedRevision = 0;
  private synced = false;
  private endpointsKnown = false;
  private stopped = false;
  private tail: Promise<void> = Promise.resolve();
  private fullQueued = false;
  private dirty = false;
  /** A programming step is executing. */
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private admits: PendingAdmit[] = [];
  private admitQueued = false;
  private lastError: string | undefined;
  private last: ProgramReport | undefined;
  private lastAdmission: ProgramReport | undefined;
  private verifier: NodeJS.Timeout | undefined;
  private dirtySince: number | undefined;
  private lastAdmit = 0;
  /** Pods being added whose admission is still to come (expectAdmission). */
  private expected = 0;
  private repairs = 0;
  private readonly firstProgram: { promise: Promise<void>; resolve: () => void };

  constructor(private readonly o: ProgrammerOptions) {
    let resolve!: () => void;
    this.firstProgram = { promise: new Promise<void>((r) => (resolve = r)), resolve };
    const every = o.verifyMs ?? 30_000;
    if (every > 0) {
      this.verifier = setInterval(() => this.enqueue(() => this.verify()), every);
      this.verifier.unref();
    }
  }

  /** Replaces the table if the kernel lost it (deleted, flushed, maps emptied) behind our back. */
  private async verify(): Promise<void> {
    const model = this.model;
    if (this.stopped || !model) return;
    let ok: boolean;
    try {
      ok = await this.o.dataplane.intact(model);
    } catch (e) {
      this.o.log.warn('checking the policy table failed', { error: String(e) });
      return;
    }
    if (ok || this.model !== model) return;
    this.repairs++;
    this.o.log.warn('the policy table differs from what was programmed; replacing it', { repairs: this.repairs });
    this.model = undefined;
    this.dirty = true;
    this.changed();
  }

  // ---- inputs ----

  /** The full resource state at a revision (first list, or a re-list after a broken watch). */
  snapshot(entries: Iterable<readonly [string, Resource]>, revision: number): void {
    this.res.replace(entries);
    this.revision = revision;
    this.synced = true;
    this.changed();
  }

  /**
   * Changes after the last snapshot; `undefined` deletes the key. With no changes, `revision` is
   * a datastore write that concerns no resource: what is programmed then reflects it too (so a
   * caller holding any revision of the store can wait for it).
   */
  update(changes: Iterable<readonly [string, Resource | undefined]>, revision: number): void {
    let any = false;
    for (const [k, r] of changes) {
      any = true;
      if (r) this.res.put(k, r);
      else this.res.delete(k);
    }
    this.revision = Math.max(this.revision, revision);
    if (any) this.changed();
    else if (!this.dirty && !this.running && this.model) this.programmedRevision = this.revision;
  }

  /** The node's endpoints as found at start (from IPAM); later ones come through admit/release. */
  setEndpoints(eps: readonly LocalEndpoint[], nodeName?: string): void {
    this.endpoints.clear();
    for (const ep of eps) {
      this.endpoints.set(ep.ifname, ep);
      // Until (unless) the datastore has the pod's record, it is a pod without labels or ports.
      const ips = [...(ep.addresses ?? [])];
      this.res.setLocalPod(ep.ifname, { kind: 'Pod', namespace: ep.namespace, name: ep.pod, labels: {}, ports: [], ips, ...(nodeName ? { nodeName } : {}) });
    }
    this.endpointsKnown = true;
    this.changed();
  }

  /**
   * A pod is being added and its admission will follow (its record, written meanwhile, would
   * otherwise start a full recompile that the admission then waits behind): full recompiles wait
   * as after an admission until the returned function is called (never past maxDelayMs).
   */
  expectAdmission(): () => void {
    this.expected++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.expected--;
    };
  }

  /** Maps a new pod interface; resolves once the kernel enforces its policy. */
  admit(ep: LocalEndpoint, pod: Pod): Promise<ProgramReport> {
    return new Promise<ProgramReport>((resolve, reject) => {
      this.admits.push({ ep, pod, resolve, reject });
      if (!this.admitQueued) {
        this.admitQueued = true;
        this.enqueue(() => this.drainAdmits());
      }
    });
  }

  /** The interface is gone (CNI DEL, GC): the next programming unmaps it. */
  release(ifname: string): void {
    if (!this.endpoints.delete(ifname)) return;
    this.res.setLocalPod(ifname, undefined);
    this.changed();
  }

  // ---- lifecycle and views ----

  /** Resolves after the first programming (bounded by the caller). */
  get ready(): Promise<void> {
    return this.firstProgram.promise;
  }

  /** Resolves when nothing is pending (no change waiting, nothing queued or running); bounded. */
  async settled(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
      await this.tail;
      if (!this.timer && !this.fullQueued && !this.admitQueued && !this.running && !(this.dirty && this.synced && this.endpointsKnown)) return;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`policy programming did not settle within ${timeoutMs} ms`);
  }

  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.verifier) clearInterval(this.verifier);
    for (const a of this.admits.splice(0)) a.reject(new Error('the policy programmer is stopping'));
    return this.tail;
  }

  status(): ProgrammerStatus {
    return {
      programmedRevision: this.programmedRevision,
      revision: this.revision,
      synced: this.synced,
      endpoints: this.endpoints.size,
      profiles: this.compiled?.profiles.size ?? 0,
      resources: this.res.size,
      problems: this.compiled?.problems ?? [],
      lastError: this.lastError,
      last: this.last,
      lastAdmission: this.lastAdmission,
      repairs: this.repairs,
    };
  }

  /** The compiled node as programmed (flow records look verdicts up here). */
  get current(): CompiledNode | undefined {
    return this.compiled;
  }

  /** The resource state as known (explain). */
  get state(): PolicyState {
    return this.res.state();
  }

  // ---- programming ----

  /**
   * Schedules a full programming. After an admission it waits longer (admitDebounceMs), so that
   * pods started one after another are admitted without queueing behind full recompiles; a
   * change never waits more than maxDelayMs in all.
   */
  private changed(): void {
    this.dirty = true;
    this.dirtySince ??= Date.now();
    if (this.stopped || !this.synced || !this.endpointsKnown || this.timer || this.fullQueued) return;
    const admitting = this.expected > 0 || Date.now() - this.lastAdmit < (this.o.admitDebounceMs ?? 250);
    const quiet = admitting ? (this.o.admitDebounceMs ?? 250) : (this.o.debounceMs ?? 20);
    const wait = Math.max(0, Math.min(quiet, this.dirtySince + (this.o.maxDelayMs ?? 1000) - Date.now()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fullQueued = true;
      this.enqueue(() => this.full());
    }, wait);
  }

  private enqueue(step: () => Promise<void>): void {
    const run = async (): Promise<void> => {
      this.running = true;
      try {
        await step();
      } finally {
        this.running = false;
      }
    };
    this.tail = this.tail.then(run, run);
  }

  private report(r: ProgramReport): void {
    this.last = r;
    if (r.admitted !== undefined) this.lastAdmission = r;
    this.lastError = undefined;
    this.o.onProgrammed?.(r);
  }

  private async program(model: NftModel, ops: readonly NftOp[] | undefined): Promise<'replace' | 'update'> {
    if (!this.model || !ops) {
      await this.o.dataplane.replace(model);
      return 'replace';
    }
    if (ops.length > 0) await this.o.dataplane.update(ops, model);
    return 'update';
  }

  private async full(): Promise<void> {
    this.fullQueued = false;
    // Admissions waiting go first: a pod's ADD must not wait for a recompile of the node.
    if (this.admits.length > 0) await this.drainAdmits();
    if (this.stopped || !this.dirty) return;
    this.dirty = false;
    this.dirtySince = undefined;
    const t0 = performance.now();
    const revision = this.revision;
    try {
      const compiled = this.compileAll();
      const model = buildModel(compiled, this.o.render);
      const compileMs = performance.now() - t0;
      let ops: NftOp[] | undefined;
      try {
        ops = this.model ? diffModels(this.model, model) : undefined;
      } catch (e) {
        this.o.log.warn('policy table cannot be updated in place; replacing it', { error: String(e) });
      }
      const kind = await this.program(model, ops);
      this.model = model;
      this.compiled = compiled;
      // Revisions that arrived meanwhile without changing a resource are reflected as well.
      this.programmedRevision = this.dirty ? revision : this.revision;
      this.report({ kind, ms: performance.now() - t0, compileMs, ops: ops?.length ?? 0, endpoints: compiled.endpoints.length, profiles: compiled.profiles.size });
      this.firstProgram.resolve();
    } catch (e) {
      this.failed(e);
    }
  }

  /** Compiles every local endpoint from the current resources and keeps the context. */
  private compileAll(): CompiledNode {
    const eps = [...this.endpoints.values()];
    const policies = this.res.policyState();
    const { compiled, ctx } = compileNodeInContext(this.res.state(), eps);
    this.context = { ctx, policies };
    return compiled;
  }

  /**
   * The context a new pod's own profile is compiled in: the last full compilation's when no
   * policy or namespace changed since (its peer sets may lack pods that came since, exactly as
   * the programmed table does until the full recompile that follows every admission), else one
   * made now.
   */
  private admissionContext(): CompileContext {
    const policies = this.res.policyState();
    if (this.context?.policies === policies) return this.context.ctx;
    const ctx = compileContext(this.res.state(), [...this.endpoints.values()]);
    this.context = { ctx, policies };
    return ctx;
  }

  private failed(e: unknown): void {
    this.lastError = e instanceof Error ? e.message : String(e);
    this.o.log.error('programming network policy failed; will replace the table', { error: this.lastError });
    // What the kernel has is no longer known: the next programming replaces the table.
    this.model = undefined;
    this.dirty = true;
    if (this.stopped) return;
    setTimeout(() => this.changed(), this.o.retryMs ?? 1000).unref();
  }

  private async drainAdmits(): Promise<void> {
    this.admitQueued = false;
    const batch = this.admits.splice(0);
    if (batch.length === 0) return;
    this.lastAdmit = Date.now();
    const t0 = performance.now();
    try {
      for (const a of batch) {
        this.endpoints.set(a.ep.ifname, a.ep);
        this.res.setLocalPod(a.ep.ifname, a.pod);
      }
      let compileMs = 0;
      let alone = 0;
      let ops: NftOp[] | undefined;
      let kind: ProgramReport['kind'] = 'admit';
      if (!this.model || !this.compiled) {
        // Nothing programmed yet (or after a failure): this is the full programming.
        const compiled = this.compileAll();
        const model = buildModel(compiled, this.o.render);
        compileMs = performance.now() - t0;
        await this.program(model, undefined);
        this.model = model;
        this.compiled = compiled;
        this.programmedRevision = this.revision;
        this.dirty = false;
        kind = 'replace';
        this.firstProgram.resolve();
      } else {
        let model = this.model;
        let compiled = this.compiled;
        for (const a of batch) {
          const ids = predictProfileIds(this.res.policyState(), a.pod);
          const pi = compiled.profiles.get(ids.ingress);
          const pe = compiled.profiles.get(ids.egress);
          const policy: EndpointPolicy = { ifname: a.ep.ifname, namespace: a.ep.namespace, pod: a.ep.pod, ingress: ids.ingress, egress: ids.egress };
          if (pi && pe) {
            model = mapEndpoint(model, a.ep.ifname, endpointVerdict(pi), endpointVerdict(pe));
            compiled = withEndpoint(compiled, policy, []);
            continue;
          }
          const c0 = performance.now();
          const own = compileWith(contextWithPod(this.admissionContext(), a.pod), [a.ep]);
          const ep = own.endpoints[0];
          if (!ep) throw new Error(`pod ${a.ep.namespace}/${a.ep.pod} did not compile: ${own.problems.join('; ')}`);
          model = mergeAdditive(model, buildModel(own, this.o.render), a.ep.ifname);
          compiled = withEndpoint(compiled, ep, [...own.profiles.values()]);
          compileMs += performance.now() - c0;
          alone++;
        }
        ops = diffModels(this.model, model);
        await this.program(model, ops);
        this.model = model;
        this.compiled = compiled;
      }
      const r: ProgramReport = { kind, ms: performance.now() - t0, compileMs, ops: ops?.length ?? 0, endpoints: this.endpoints.size, profiles: this.compiled.profiles.size, admitted: batch.length, compiledAlone: alone };
      this.report(r);
      for (const a of batch) a.resolve(r);
      // The rest of the table (the new pods as peers elsewhere) follows.
      this.changed();
    } catch (e) {
      for (const a of batch) {
        this.endpoints.delete(a.ep.ifname);
        this.res.setLocalPod(a.ep.ifname, undefined);
        a.reject(e);
      }
      this.failed(e);
    }
  }
}
