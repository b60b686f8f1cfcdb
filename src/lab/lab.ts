/**
 * `podnet lab`: a multi-node podnet cluster made of network namespaces on one machine (address
 * plan in topology.ts). Usable in-process (tests, benchmarks: `Lab.up()` … `down()`) and from
 * separate CLI invocations (`Lab.up({detached: true})`, later `Lab.load(name)`), which re-attach
 * through `<lab dir>/state.json` and pid files.
 *
 * Real pieces only: etcd members in their namespaces, one `podnet agent` per node namespace
 * (`--datastore etcd --backend …`), pods attached by executing the built podnet-cni through a
 * libcni-like runtime. Detached labs outlive the process that made them; in-process labs are
 * killed (processes and namespaces) when the process exits, and always by down().
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { callRpc } from '../agent/client.js';
import type { StatusView } from '../agent/views.js';
import { PodnetError, errorMessage, isPodnetError } from '../common/errors.js';
import type { Family } from '../common/ip.js';
import type { LogLevel } from '../common/log.js';
import type { BackendName } from '../model/node.js';
import { AgentProcess } from './agent-process.js';
import { CniPluginError } from './cni-runtime.js';
import { ETCD_BIN } from './etcd.js';
import { LabErrors } from './errors.js';
import type { ExecResult } from './exec.js';
import { checkK8sName, labConflist, labRuntime, podAttachment, resultAddresses, POD_IFNAME } from './lab-cni.js';
import { toPod, type DelPodResult, type LabNodeStatus, type LabOptions, type LabPod, type LabStatus } from './lab-types.js';
import { waitSynced } from './lab-sync.js';
import { egressCheck, pingMatrix, type EgressResult, type PingMatrix, type PingMatrixOptions } from './lab-checks.js';
import { LabEtcd } from './lab-etcd.js';
import { readState, withLock, writeState, type LabNodeState, type LabPodState, type LabState } from './lab-state.js';
import { addNetns, delNetns, execIn, listNetns, netnsPath } from './netns.js';
import { PODNET_CNI_DIR, PODNET_JS } from './paths.js';
import { pidsMentioning, readPidFile, signalAll } from './procs.js';
import { assertComplete, teardownLab, type TeardownReport } from './teardown.js';
import { checkBackend, checkCount, checkLabName, checkPodName, DEFAULT_LAB, LAB_ROOT, MAX_ETCD_MEMBERS, MAX_NODES, POOLS, Topology } from './topology.js';
import { buildBackbone, plugEtcd, plugNode } from './underlay.js';

export type { DelPodResult, LabNodeStatus, LabOptions, LabPod, LabStatus } from './lab-types.js';

/** What a lab needs before it touches anything. */
function preflight(): void {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (namespaces, veths, nftables)');
  if (!existsSync(ETCD_BIN)) missing.push(`${ETCD_BIN} (Debian: etcd-server; ./scripts/setup installs it)`);
  if (!existsSync(PODNET_JS)) missing.push(`${PODNET_JS} (npm run build)`);
  if (!existsSync(`${PODNET_CNI_DIR}/podnet-cni`)) missing.push(`${PODNET_CNI_DIR}/podnet-cni (sh scripts/build-shim)`);
  if (missing.length) throw new PodnetError(LabErrors.LAB_PREREQUISITE, `podnet lab needs: ${missing.join('; ')}`);
}

/**
 * In-process (non-detached) labs die with the process: at exit, and on SIGINT/SIGTERM (after
 * which the signal is raised again, so the process still ends as it would have).
 */
const inProcess = new Set<Lab>();
let exitHook = false;
function killInProcess(): void {
  for (const l of inProcess) l.killSync();
  inProcess.clear();
}
function watchExit(lab: Lab): void {
  inProcess.add(lab);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', killInProcess);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      killInProcess();
      process.removeListener(sig, onSignal);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

export class Lab {
  private readonly agents = new Map<string, AgentProcess>();
  private readonly runtime = labRuntime();
  private readonly etcd: LabEtcd;
  private readonly logLevel: LogLevel;
  private readonly syncTimeoutMs: number;
  private readonly root: string;

  private constructor(
    readonly topo: Topology,
    private st: LabState,
    opts: { logLevel?: LogLevel; syncTimeoutMs?: number; root?: string },
  ) {
    this.root = opts.root ?? LAB_ROOT;
    this.logLevel = opts.logLevel ?? 'info';
    this.syncTimeoutMs = opts.syncTimeoutMs ?? 45_000;
    this.etcd = new LabEtcd(topo.etcdMembers(st.etcdMembers), topo.etcdDir, st.etcdToken, st.detached);
  }

  get name(): string {
    return this.st.name;
  }
  get backend(): BackendName {
    return this.st.backend;
  }
  get dir(): string {
    return this.st.dir;
  }
  get detached(): boolean {
    return this.st.detached;
  }
  get etcdEndpoints(): string[] {
    return this.etcd.endpoints;
  }

  /** Builds the underlay, starts etcd and one agent per node, waits until all agree. */
  static async up(opts: LabOptions = {}): Promise<Lab> {
    const name = checkLabName(opts.name ?? DEFAULT_LAB);
    const nodes = checkCount('nodes', opts.nodes ?? 3, 1, MAX_NODES);
    const subnets = opts.subnets ?? 1;
    if (subnets !== 1 && subnets !== 2) throw new PodnetError(LabErrors.LAB_INVALID, `subnets ${String(subnets)}: want 1 or 2`);
    const etcdMembers = checkCount('etcd members', opts.etcdMembers ?? 1, 1, MAX_ETCD_MEMBERS);
    const backend = checkBackend(opts.backend ?? 'vxlan');
    const root = opts.root ?? LAB_ROOT;
    const topo = new Topology(name, subnets, root);
    preflight();
    const exists = (): PodnetError =>
      new PodnetError(LabErrors.LAB_EXISTS, `lab ${name} already exists (${topo.dir} or ${topo.prefix}* namespaces); remove it with: podnet lab down --name ${name}`);
    if (listNetns(topo.prefix).length > 0) throw exists();
    mkdirSync(root, { recursive: true, mode: 0o755 });
    try {
      mkdirSync(topo.dir, { mode: 0o700 }); // atomic: two concurrent `up`s cannot both build
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw exists();
      throw e;
    }
    const st: LabState = {
      version: 1,
      name,
      dir: topo.dir,
      prefix: topo.prefix,
      backend,
      subnets,
      etcdMembers,
      etcdToken: `podnet-lab-${name}-${randomBytes(4).toString('hex')}`,
      detached: opts.detached === true,
      createdAt: new Date().toISOString(),
      namespaces: [],
      nodes: [],
      pods: [],
      nextNodeIndex: 1,
    };
    writeState(topo.stateFile, st);
    const lab = new Lab(topo, st, opts);
    if (!st.detached) watchExit(lab);
    const t0 = Date.now();
    const say = (what: string) => opts.progress?.(`${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    try {
      await buildBackbone(topo, (ns) => lab.makeNs(ns));
      for (const m of topo.etcdMembers(etcdMembers)) await plugEtcd(topo, m, (ns) => lab.makeNs(ns));
      if (backend === 'host-gw' && subnets === 2) say('note: host-gw needs L2 adjacency: pods on nodes of different subnets will not reach each other (podnet status lists the problem)');
      say(`underlay: ${topo.subnets().map((s) => `${s.cidrV4} + ${s.cidrV6}`).join(', ')}, router, ext`);
      await lab.etcd.startAll();
      say(`etcd: ${lab.etcd.endpoints.join(', ')}`);
      // The first agent creates the pools; the others start together (node plumbing meanwhile).
      const first = await lab.plugNewNode();
      const firstUp = lab.startAgent(first.name, false).then(() => undefined, (e: unknown) => e);
      const rest: LabNodeState[] = [];
      try {
        for (let i = 1; i < nodes; i++) rest.push(await lab.plugNewNode());
      } finally {
        const err = await firstUp;
        if (err !== undefined) throw err;
      }
      say(`agent ${first.name} up (pools created)`);
      await Promise.all(rest.map((n) => lab.startAgent(n.name, false)));
      say(`agents up on ${lab.st.nodes.map((n) => n.name).join(', ')}`);
      await lab.waitSynced();
      say(`cluster in sync: ${nodes} nodes, backend ${backend}`);
      return lab;
    } catch (e) {
      await lab.down().catch(() => undefined);
      throw e;
    }
  }

  /** Re-attaches to a running lab (a separate CLI invocation). */
  static async load(name: string = DEFAULT_LAB, opts: { root?: string; logLevel?: LogLevel; syncTimeoutMs?: number } = {}): Promise<Lab> {
    const topo0 = new Topology(checkLabName(name), 1, opts.root ?? LAB_ROOT);
    const st = readState(topo0.stateFile);
    if (!st) throw new PodnetError(LabErrors.LAB_NOT_FOUND, `no lab ${name} (no readable ${topo0.stateFile}); start one with: podnet lab up --name ${name}`);
    // An in-process lab stays owned by the process that made it: loading it never kills it.
    return new Lab(new Topology(name, st.subnets, opts.root ?? LAB_ROOT), st, opts);
  }

  /** Tears down lab `name` from whatever is left of it (no state needed). */
  static async destroy(name: string = DEFAULT_LAB, root = LAB_ROOT): Promise<TeardownReport> {
    const r = await teardownLab(checkLabName(name), root);
    assertComplete(r);
    return r;
  }

  // ---- state ----

  /** Read-modify-write of state.json under the lab lock (other CLI invocations may write too). */
  private async mutate<T>(fn: (s: LabState) => T): Promise<T> {
    return withLock(this.topo.dir, () => {
      const disk = readState(this.topo.stateFile);
      if (disk) this.st = disk;
      const out = fn(this.st);
      writeState(this.topo.stateFile, this.st);
      return out;
    });
  }

  private async makeNs(ns: string): Promise<void> {
    await this.mutate((s) => {
      if (!s.namespaces.includes(ns)) s.namespaces.push(ns);
    });
    await addNetns(ns);
  }

  nodes(): readonly LabNodeState[] {
    return this.st.nodes;
  }

  pods(): LabPod[] {
    return this.st.pods.filter((p) => p.phase === 'ready').map(toPod);
  }

  node(name: string): LabNodeState {
    const n = this.st.nodes.find((x) => x.name === name);
    if (!n) throw new PodnetError(LabErrors.LAB_NO_SUCH_NODE, `lab ${this.name} has no node ${JSON.stringify(name)} (nodes: ${this.st.nodes.map((x) => x.name).join(', ') || 'none'})`);
    return n;
  }

  pod(name: string): LabPod {
    const p = this.st.pods.find((x) => x.name === name && x.phase === 'ready');
    if (!p) throw new PodnetError(LabErrors.LAB_NO_SUCH_POD, `lab ${this.name} has no pod ${JSON.stringify(name)}`);
    return toPod(p);
  }

  agentSocket(node: string): string {
    return this.node(node).socket;
  }

  /** Log file of a node's agent. */
  agentLog(node: string): string {
    return this.agent(node).logFile;
  }

  /** The namespace of an exec target: a pod, a node (n1…), or ext, rt, etcd. */
  nsOf(target: string): string {
    const p = this.st.pods.find((x) => x.name === target && x.phase === 'ready');
    if (p) return p.ns;
    if (this.st.nodes.some((n) => n.name === target)) return this.node(target).ns;
    if (target === 'ext') return this.topo.extNs;
    if (target === 'rt') return this.topo.routerNs;
    if (target === 'etcd') return this.topo.etcd(0).ns;
    throw new PodnetError(LabErrors.LAB_NO_SUCH_POD, `lab ${this.name} has no pod or node ${JSON.stringify(target)} (also: ext, rt, etcd)`);
  }

  // ---- agents ----

  private agent(node: string): AgentProcess {
    let a = this.agents.get(node);
    if (!a) {
      const n = this.node(node);
      const opts = {
        ns: n.ns,
        nodeName: n.name,
        dir: n.dir,
        pools: POOLS,
        logLevel: this.logLevel,
        detached: this.st.detached,
        extraArgs: ['--datastore', 'etcd', '--etcd-endpoints', this.etcd.endpoints.join(','), '--backend', this.st.backend, '--underlay-interface', 'eth0'],
      };
      a = AgentProcess.adopt(opts, readPidFile(`${n.dir}/agent.pid`));
      this.agents.set(node, a);
    }
    return a;
  }

  /** Starts a node's agent (if stopped); waits until the cluster is in sync unless told not to. */
  async startAgent(node: string, wait = true): Promise<void> {
    const a = this.agent(node);
    if (!a.running) {
      try {
        await a.start(20_000);
      } catch (e) {
        throw new PodnetError(LabErrors.LAB_AGENT_FAILED, `agent of node ${node}: ${errorMessage(e)}`, { cause: e });
      }
    }
    if (wait) await this.waitSynced();
  }

  /** SIGTERM (graceful stop; the datapath stays). */
  async stopAgent(node: string): Promise<void> {
    await this.agent(node).stop();
  }

  /** SIGKILL: an agent crash. */
  async killAgent(node: string): Promise<void> {
    await this.agent(node).kill();
  }

  async restartAgent(node: string): Promise<void> {
    await this.stopAgent(node);
    await this.startAgent(node);
  }

  agentPid(node: string): number | undefined {
    return this.agent(node).pid;
  }

  async stopEtcdMember(i: number): Promise<void> {
    await this.etcd.stopMember(i);
  }

  async startEtcdMember(i: number): Promise<void> {
    await this.etcd.startMember(i);
  }

  /**
   * Waits until every running agent answers `status` with the cluster in sync, sees every node of
   * the lab, and all agree on the number of address blocks (so routes to new blocks are in place).
   */
  async waitSynced(timeoutMs = this.syncTimeoutMs): Promise<void> {
    await waitSynced(
      () => ({ running: this.st.nodes.filter((n) => this.agent(n.name).running), wantNodes: this.st.nodes.length }),
      timeoutMs,
      `lab ${this.name} (agent logs: ${this.topo.dir}/nodes/*/agent.log)`,
    );
  }

  // ---- nodes ----

  /** Records and plumbs the next node (no agent yet). */
  private async plugNewNode(): Promise<LabNodeState> {
    const n = await this.mutate((s) => {
      const plan = this.topo.node(s.nextNodeIndex);
      s.nextNodeIndex += 1;
      const rec: LabNodeState = { name: plan.name, index: plan.index, ns: plan.ns, subnet: plan.subnet, v4: plan.v4, v6: plan.v6, dir: this.topo.nodeDir(plan.name), socket: `${this.topo.nodeDir(plan.name)}/agent.sock` };
      s.nodes.push(rec);
      return rec;
    });
    mkdirSync(n.dir, { recursive: true });
    await plugNode(this.topo, this.topo.node(n.index), (ns) => this.makeNs(ns));
    return n;
  }

  /** Adds a node at run time (next free index); returns its name once the cluster agrees. */
  async addNode(): Promise<string> {
    const n = await this.plugNewNode();
    try {
      await this.startAgent(n.name);
    } catch (e) {
      await this.agent(n.name).kill().catch(() => undefined);
      this.agents.delete(n.name);
      await delNetns(n.ns).catch(() => undefined);
      await this.mutate((s) => {
        s.nodes = s.nodes.filter((x) => x.name !== n.name);
        s.namespaces = s.namespaces.filter((x) => x !== n.ns);
      });
      throw e;
    }
    return n.name;
  }

  /**
   * Removes a node: deletes its pods (CNI DEL while its agent runs), stops its agent, has another
   * node's agent remove it from the datastore (RPC node.remove, forced: its lease may not have
   * expired yet), deletes its namespace, and waits until the remaining agents agree.
   */
  async removeNode(name: string): Promise<void> {
    const node = this.node(name);
    for (const p of this.st.pods.filter((x) => x.node === name)) await this.delPod(p.name);
    await this.agent(name).stop();
    const other = this.st.nodes.find((n) => n.name !== name && this.agent(n.name).running);
    if (other) await callRpc(other.socket, 'node.remove', { name, force: true }, 15_000);
    await delNetns(node.ns);
    this.agents.delete(name);
    await this.mutate((s) => {
      s.nodes = s.nodes.filter((n) => n.name !== name);
      s.namespaces = s.namespaces.filter((ns) => ns !== node.ns);
    });
    if (other) await this.waitSynced();
  }

  // ---- pods ----

  /**
   * Creates a pod namespace on `node` and attaches it through podnet-cni (CNI ADD) as Kubernetes
   * pod `namespace`/`podName` (default: the lab name) with `labels` (passed as args.cni.labels).
   */
  async addPod(node: string, name: string, opts: { namespace?: string; podName?: string; labels?: Readonly<Record<string, string>> } = {}): Promise<LabPod> {
    checkPodName(name);
    const namespace = checkK8sName('namespace', opts.namespace ?? 'default');
    const podName = checkK8sName('pod name', opts.podName ?? name);
    const n = this.node(node);
    const rec: LabPodState = {
      name,
      node: n.name,
      namespace,
      ...(podName !== name ? { podName } : {}),
      labels: { ...opts.labels },
      ns: this.topo.podNs(name),
      containerId: this.topo.containerId(name),
      ifname: POD_IFNAME,
      phase: 'adding',
      addresses: [],
    };
    await this.mutate((s) => {
      if (s.pods.some((p) => p.name === name)) throw new PodnetError(LabErrors.LAB_POD_EXISTS, `lab ${this.name} already has a pod ${name}`);
      const same = s.pods.find((p) => p.namespace === namespace && (p.podName ?? p.name) === podName);
      if (same) throw new PodnetError(LabErrors.LAB_POD_EXISTS, `lab ${this.name}: Kubernetes pod ${namespace}/${podName} is already lab pod ${same.name}`);
      if (!s.nodes.some((x) => x.name === n.name)) throw new PodnetError(LabErrors.LAB_NO_SUCH_NODE, `node ${n.name} was removed meanwhile`);
      s.pods.push(rec);
    });
    const att = podAttachment(rec.containerId, netnsPath(rec.ns), rec.namespace, podName, rec.labels);
    try {
      await this.makeNs(rec.ns);
      const result = await this.runtime.add(labConflist(n.socket), att).catch((e: unknown) => {
        if (!(e instanceof CniPluginError)) throw e;
        throw new PodnetError(LabErrors.LAB_CNI_FAILED, `pod ${name} on ${n.name}: CNI ADD failed: ${e.message}`, { cause: e });
      });
      const ready: LabPodState = { ...rec, phase: 'ready', addresses: resultAddresses(result), result };
      await this.mutate((s) => {
        s.pods = s.pods.map((p) => (p.name === name ? ready : p));
      });
      return toPod(ready);
    } catch (e) {
      await this.runtime.del(labConflist(n.socket), att).catch(() => undefined);
      await delNetns(rec.ns).catch(() => undefined);
      await this.mutate((s) => {
        s.pods = s.pods.filter((p) => p.name !== name);
        s.namespaces = s.namespaces.filter((x) => x !== rec.ns);
      });
      throw e;
    }
  }

  /** CNI DEL, then the pod's namespace goes (also when DEL fails, e.g. its agent is down). */
  async delPod(name: string): Promise<DelPodResult> {
    const p = this.st.pods.find((x) => x.name === name);
    if (!p) throw new PodnetError(LabErrors.LAB_NO_SUCH_POD, `lab ${this.name} has no pod ${JSON.stringify(name)}`);
    const n = this.st.nodes.find((x) => x.name === p.node);
    let error: string | undefined;
    if (n) {
      await this.runtime.del(labConflist(n.socket), podAttachment(p.containerId, netnsPath(p.ns), p.namespace, p.podName ?? p.name, p.labels), p.result).catch((e: unknown) => {
        error = errorMessage(e);
      });
    } else error = `node ${p.node} is gone`;
    await delNetns(p.ns);
    await this.mutate((s) => {
      s.pods = s.pods.filter((x) => x.name !== name);
      s.namespaces = s.namespaces.filter((x) => x !== p.ns);
    });
    return { cniDeleted: error === undefined, error };
  }

  /** Runs argv (no shell) in a pod's or node's namespace; never rejects on a non-zero exit. */
  exec(target: string, argv: readonly string[], timeoutMs = 30_000): Promise<ExecResult> {
    const [cmd, ...args] = argv;
    if (!cmd) throw new PodnetError(LabErrors.LAB_INVALID, 'exec needs a command');
    return execIn(this.nsOf(target), cmd, args, { timeoutMs });
  }

  /** Every pod pings every other pod (see lab-checks.ts). */
  pingMatrix(opts: PingMatrixOptions = {}): Promise<PingMatrix> {
    return pingMatrix(this, opts);
  }

  /** A pod reaches ext through its node's egress NAT (ext sees the node's address). */
  egress(pod: string, family: Family = 4): Promise<EgressResult> {
    return egressCheck(this, pod, family);
  }

  // ---- status and teardown ----

  async status(): Promise<LabStatus> {
    const nodes = await Promise.all(
      this.st.nodes.map(async (n): Promise<LabNodeStatus> => {
        const pid = this.agent(n.name).pid;
        let status: StatusView | undefined;
        let error: string | undefined;
        if (pid === undefined) error = 'agent not running';
        else {
          try {
            status = await callRpc<StatusView>(n.socket, 'status', {}, 3000);
          } catch (e) {
            error = isPodnetError(e) ? e.message : errorMessage(e);
          }
        }
        return { name: n.name, ns: n.ns, subnet: n.subnet, v4: n.v4, v6: n.v6, agentPid: pid, agentUp: status !== undefined, status, error };
      }),
    );
    return {
      name: this.name,
      backend: this.st.backend,
      subnets: this.st.subnets,
      dir: this.st.dir,
      detached: this.st.detached,
      etcd: this.etcd.members.map((m, i) => ({ name: m.name, url: m.clientUrl, ns: m.ns, pid: this.etcd.pid(i) })),
      nodes,
      pods: this.pods(),
    };
  }

  /** Removes everything of the lab; throws LAB_TEARDOWN_INCOMPLETE if anything is left. */
  async down(): Promise<TeardownReport> {
    inProcess.delete(this);
    this.agents.clear();
    const r = await teardownLab(this.name, this.root);
    assertComplete(r);
    return r;
  }

  /** Synchronous last resort at process exit: kill the lab's processes, delete its namespaces. */
  killSync(): void {
    const pids = [...this.agents.values()].map((a) => a.pid).filter((p): p is number => p !== undefined);
    pids.push(...this.etcd.members.map((_, i) => this.etcd.pid(i)).filter((p): p is number => p !== undefined));
    pids.push(...pidsMentioning(this.topo.dir));
    signalAll(pids, 'SIGKILL');
    for (const ns of new Set([...this.st.namespaces, ...listNetns(this.topo.prefix)])) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5000 });
      } catch {
        /* best effort */
      }
    }
    rmSync(this.topo.dir, { recursive: true, force: true });
  }
}
