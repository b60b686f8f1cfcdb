/**
 * The agent's CniBackend: CNI verbs in terms of IPAM and the pod dataplane.
 *
 * ADD: assign addresses (one CAS write) -> plumb the pod (veth, addresses, routes) -> result.
 * Each step registers its undo; a failure unwinds them, so a failed ADD leaves nothing behind.
 * DEL: remove plumbing, then release addresses (in that order, so an address is never handed
 * out again while a route to the old pod still exists). Both are idempotent.
 */
import type { CniBackend, PluginMode } from '../cni/backend.js';
import type { Attachment, CniIpConfig, CniRequest, CniResult, CniRoute, PodnetNetConf } from '../cni/types.js';
import { PodnetError } from '../common/errors.js';
import { canonicalIp, parseCidr, parseIp, formatIp, type Family } from '../common/ip.js';
import { KeyedLock } from '../common/keyed-lock.js';
import { UndoStack } from '../common/undo.js';
import { POD_GATEWAY_V4, POD_GATEWAY_V6, type PodDataplane, type PodNetSpec } from '../dataplane/types.js';
import { IpamErrors } from '../ipam/errors.js';
import type { AllocationRecord, Assignment, Ipam, IpPool } from '../ipam/types.js';
import type { Pod } from '../model/k8s.js';
import type { LocalEndpoint } from '../policy/compile/types.js';
import type { PodAttachment, PodIdentity } from '../resources/store.js';
import { AgentErrors } from './errors.js';
import { handleOf, hostIfnameOf } from './naming.js';
import { podIdentity } from './pod-identity.js';
import type { Logger } from '../common/log.js';

export interface PodNetworkDeps {
  readonly ipam: Ipam;
  readonly dataplane: PodDataplane;
  readonly nodeName: string;
  /** Pod MTU when the CNI config does not set one (read at each ADD: it follows the cluster). */
  readonly defaultMtu: () => number;
  /** Current pools (the agent keeps this fresh). */
  readonly pools: () => readonly IpPool[];
  /** Observes each verb's duration (metrics); optional. */
  readonly observe?: (verb: string, mode: PluginMode, seconds: number, ok: boolean) => void;
  /** Pod records (policy peers and subjects); absent: no records are written. */
  readonly pods?: PodRecords;
  /** Policy enforcement; absent: pod interfaces are not admitted (no policy table). */
  readonly policy?: PolicyAdmission;
  /** Warnings (e.g. a pod name Kubernetes would refuse). */
  readonly log?: Logger;
}

/** Where pod records go (src/resources/store.ts ResourceStore). */
export interface PodRecords {
  attachPod(id: PodIdentity, attachment: PodAttachment, ips: readonly string[]): Promise<Pod>;
  detachPod(namespace: string, name: string, attachment: PodAttachment): Promise<void>;
}

/** The policy programmer as pod plumbing sees it. */
export interface PolicyAdmission {
  /** Resolves once the interface's policy is enforced by the kernel. */
  admit(ep: LocalEndpoint, pod: Pod): Promise<unknown>;
  /** An admission will follow (full recompiles hold back until the returned function is called). */
  expectAdmission(): () => void;
  release(ifname: string): void;
}

export class PodNetwork implements CniBackend {
  private readonly locks = new KeyedLock();

  constructor(private readonly deps: PodNetworkDeps) {}

  async add(req: CniRequest, mode: PluginMode): Promise<CniResult> {
    const handle = handleOf(req.containerId, req.ifname);
    return this.timed('ADD', mode, () =>
      this.locks.run(handle, async () => {
        const undo = new UndoStack();
        let admitted: (() => void) | undefined;
        try {
          // Identity first: bad labels fail the ADD before anything is allocated.
          const id = mode === 'cni' ? podIdentity(req, this.deps.log) : undefined;
          if (id && this.deps.policy) admitted = this.deps.policy.expectAdmission();
          const families = this.families(req.conf);
          const requested = requestedAddresses(req);
          if (families.length === 0 && requested.length === 0) throw this.noPool(req.conf);
          const assignments = await this.deps.ipam.assign({
            handle,
            node: this.deps.nodeName,
            families,
            ...(req.conf.pools ? { pools: req.conf.pools } : {}),
            requested,
            attrs: {
              containerId: req.containerId,
              ifname: req.ifname,
              node: this.deps.nodeName,
              network: req.conf.name,
              plugin: mode,
              ...(id ? { namespace: id.namespace, pod: id.name } : {}),
              ...(!id && req.args.K8S_POD_NAMESPACE ? { namespace: req.args.K8S_POD_NAMESPACE } : {}),
              ...(!id && req.args.K8S_POD_NAME ? { pod: req.args.K8S_POD_NAME } : {}),
            },
          });
          undo.push('release addresses', () => this.deps.ipam.release(handle));
          if (mode === 'ipam' || !id) return this.ipamResult(req, assignments);
          const spec = this.podSpec(req, assignments);
          const attachment: PodAttachment = { node: this.deps.nodeName, containerId: req.containerId, ifname: req.ifname };
          const ips = assignments.map((a) => a.address);
          // The kernel plumbing and the pod record are independent: both at once.
          // Both settle before a failure unwinds, so the undo of the one that succeeded is registered.
          const [plumbing, record] = await Promise.allSettled([
            this.deps.dataplane.setup(spec).then((p) => {
              undo.push('remove pod plumbing', () => this.deps.dataplane.teardown(spec.hostIfname));
              return p;
            }),
            this.recordPod(id, attachment, ips, undo),
          ]);
          if (plumbing.status === 'rejected') throw plumbing.reason;
          if (record.status === 'rejected') throw record.reason;
          const plumbed = plumbing.value;
          const pod = record.value;
          if (this.deps.policy) {
            const ep: LocalEndpoint = { namespace: id.namespace, pod: id.name, ifname: spec.hostIfname, addresses: ips };
            undo.push('unmap the pod interface', async () => this.deps.policy?.release(spec.hostIfname));
            await this.deps.policy.admit(ep, pod ?? { kind: 'Pod', namespace: id.namespace, name: id.name, labels: id.labels, ports: [], nodeName: this.deps.nodeName, ips });
          }
          return mergePrev(req.conf.prevResult, {
            cniVersion: req.conf.cniVersion,
            interfaces: [
              { name: plumbed.hostIfname, mac: plumbed.hostMac },
              { name: req.ifname, mac: plumbed.podMac, mtu: plumbed.mtu, sandbox: req.netns },
            ],
            ips: assignments.map((a) => ({ address: `${a.address}/${a.family === 4 ? 32 : 128}`, gateway: gatewayOf(a.family), interface: 1 })),
            routes: defaultRoutes(assignments),
            ...dnsOf(req.conf),
          });
        } catch (e) {
          // The kernel side saw /proc/<shim pid>/fd/<n>; the runtime knows its namespace as CNI_NETNS.
          if (e instanceof Error && req.netns && req.netnsPath !== req.netns) e.message = e.message.split(req.netnsPath).join(`${req.netns} (CNI_NETNS)`);
          const failures = await undo.unwind();
          if (failures.length > 0 && e instanceof Error) e.message += ` (cleanup also failed: ${failures.join('; ')})`;
          throw e;
        } finally {
          admitted?.();
        }
      }),
    );
  }

  async del(req: CniRequest, mode: PluginMode): Promise<void> {
    const handle = handleOf(req.containerId, req.ifname);
    await this.timed('DEL', mode, () =>
      this.locks.run(handle, async () => {
        if (mode === 'cni') await this.unplumb(handle, req.containerId, req.ifname);
        await this.deps.ipam.release(handle);
      }),
    );
  }

  /**
   * Removes an attachment's interface, its policy mapping and its pod record. The record goes
   * before the addresses are released, so peers stop trusting the address before it can be reused.
   */
  private async unplumb(handle: string, containerId: string, ifname: string): Promise<void> {
    const hostIfname = hostIfnameOf(containerId, ifname);
    await this.deps.dataplane.teardown(hostIfname);
    this.deps.policy?.release(hostIfname);
    if (!this.deps.pods) return;
    const held = await this.deps.ipam.get(handle);
    const attrs = held[0]?.attrs;
    if (attrs?.namespace && attrs.pod) await this.deps.pods.detachPod(attrs.namespace, attrs.pod, { node: this.deps.nodeName, containerId, ifname });
  }

  private async recordPod(id: PodIdentity, attachment: PodAttachment, ips: readonly string[], undo: UndoStack): Promise<Pod | undefined> {
    if (!this.deps.pods) return undefined;
    const pod = await this.deps.pods.attachPod(id, attachment, ips);
    undo.push('remove the pod record', async () => this.deps.pods?.detachPod(id.namespace, id.name, attachment));
    return pod;
  }

  async check(req: CniRequest, mode: PluginMode): Promise<void> {
    const handle = handleOf(req.containerId, req.ifname);
    await this.timed('CHECK', mode, async () => {
      const held = await this.deps.ipam.get(handle);
      if (held.length === 0) {
        throw new PodnetError(AgentErrors.AGENT_UNKNOWN_ATTACHMENT, `no addresses are assigned to ${handle} on node ${this.deps.nodeName}`);
      }
      const want = new Set(held.map((r) => r.address));
      // In a chain, prevResult also holds other plugins' interfaces and addresses: compare only the
      // ips on this attachment's pod interface (CNI_IFNAME in a sandbox) and those without an interface.
      const prev = req.conf.prevResult;
      const mineIps = (prev?.ips ?? []).filter((ip) => {
        if (ip.interface === undefined) return true;
        const itf = prev?.interfaces?.[ip.interface];
        return itf !== undefined && itf.name === req.ifname && !!itf.sandbox;
      });
      const got = new Set(mineIps.map((ip) => canonicalIp(ip.address.split('/')[0] ?? '') ?? ip.address));
      for (const a of want) {
        if (!got.has(a)) throw new PodnetError(AgentErrors.AGENT_CHECK_MISMATCH, `prevResult lacks ${a}, which is assigned to ${handle}`);
      }
      for (const a of got) {
        if (!want.has(a)) throw new PodnetError(AgentErrors.AGENT_CHECK_MISMATCH, `prevResult has ${a}, which is not assigned to ${handle}`);
      }
      if (mode === 'cni') await this.deps.dataplane.check(this.podSpec(req, held));
    });
  }

  async status(_conf: PodnetNetConf, _mode: PluginMode): Promise<void> {
    if (!this.deps.pools().some((p) => !p.disabled)) {
      throw new PodnetError(AgentErrors.AGENT_NO_POOL, `node ${this.deps.nodeName} has no enabled IP pool`);
    }
  }

  async gc(conf: PodnetNetConf, valid: readonly Attachment[], mode: PluginMode): Promise<void> {
    const keep = new Set(valid.map((a) => handleOf(a.containerId, a.ifname)));
    const mine = (r: AllocationRecord) => (r.attrs.network ?? conf.name) === conf.name && (r.attrs.plugin ?? 'cni') === mode;
    const stale = (await this.deps.ipam.list(this.deps.nodeName)).filter((r) => mine(r) && !keep.has(r.handle));
    for (const handle of new Set(stale.map((r) => r.handle))) {
      const rec = stale.find((r) => r.handle === handle) as AllocationRecord;
      await this.locks.run(handle, async () => {
        if (mode === 'cni') await this.unplumb(handle, rec.attrs.containerId, rec.attrs.ifname);
        await this.deps.ipam.release(handle);
      });
    }
    if (mode === 'cni') await this.removeOrphanLinks();
  }

  /** Deletes podnet host links that no allocation explains (left by a crash between steps). */
  async removeOrphanLinks(): Promise<string[]> {
    // Links first, allocations second: an ADD commits its allocation before it creates its link,
    // so every link seen here is explained by the allocations read after it, even mid-ADD.
    const links = await this.deps.dataplane.listPodLinks();
    const expected = new Set(
      (await this.deps.ipam.list(this.deps.nodeName))
        .filter((r) => (r.attrs.plugin ?? 'cni') === 'cni')
        .map((r) => hostIfnameOf(r.attrs.containerId, r.attrs.ifname)),
    );
    const removed: string[] = [];
    for (const link of links) {
      if (expected.has(link.name)) continue;
      await this.deps.dataplane.teardown(link.name);
      removed.push(link.name);
    }
    return removed;
  }

  /** No enabled pool the config allows: IPAM_NO_POOL naming the missing or disabled pools (not IPAM's "no family requested"). */
  private noPool(conf: PodnetNetConf): PodnetError {
    const known = new Map(this.deps.pools().map((p) => [p.name, p]));
    const missing = (conf.pools ?? []).filter((n) => !known.has(n));
    if (missing.length > 0) return new PodnetError(IpamErrors.IPAM_NO_POOL, `pool ${missing.join(', ')} does not exist on node ${this.deps.nodeName}`);
    const among = conf.pools ? ` among ${conf.pools.join(', ')}` : '';
    return new PodnetError(IpamErrors.IPAM_NO_POOL, `no enabled IP pool${among} on node ${this.deps.nodeName}`);
  }

  private families(conf: PodnetNetConf): Family[] {
    if (conf.families && conf.families.length > 0) return [...conf.families];
    const pools = this.deps.pools().filter((p) => !p.disabled && (!conf.pools || conf.pools.includes(p.name)));
    const fams = new Set<Family>();
    for (const p of pools) {
      const c = parseCidr(p.cidr);
      if (c) fams.add(c.family);
    }
    return [...fams].sort();
  }

  private podSpec(req: CniRequest, held: readonly Assignment[]): PodNetSpec {
    return {
      netnsPath: req.netnsPath,
      ifname: req.ifname,
      hostIfname: hostIfnameOf(req.containerId, req.ifname),
      addresses: held.map((a) => ({ family: a.family, address: a.address })),
      mtu: req.conf.mtu ?? this.deps.defaultMtu(),
      ...(req.conf.runtimeConfig.mac ?? req.args.MAC ? { mac: (req.conf.runtimeConfig.mac ?? req.args.MAC) as string } : {}),
    };
  }

  /** podnet-ipam result: the addresses with their pool's prefix (the L2 subnet another plugin serves). */
  private ipamResult(req: CniRequest, assignments: readonly Assignment[]): CniResult {
    const pools = new Map(this.deps.pools().map((p) => [p.name, p]));
    const ips: CniIpConfig[] = assignments.map((a) => {
      const pool = pools.get(a.pool);
      const prefix = pool ? (parseCidr(pool.cidr)?.prefix ?? (a.family === 4 ? 32 : 128)) : a.family === 4 ? 32 : 128;
      const gw = pool?.gateway;
      return { address: `${a.address}/${prefix}`, ...(gw ? { gateway: gw } : {}) };
    });
    const routes: CniRoute[] = [];
    for (const ip of ips) {
      if (!ip.gateway) continue;
      const fam = parseIp(ip.gateway)?.family;
      routes.push({ dst: fam === 6 ? '::/0' : '0.0.0.0/0', gw: ip.gateway });
    }
    return { cniVersion: req.conf.cniVersion, ips, ...(routes.length ? { routes } : {}), ...dnsOf(req.conf) };
  }

  private async timed<T>(verb: string, mode: PluginMode, fn: () => Promise<T>): Promise<T> {
    const t0 = process.hrtime.bigint();
    let ok = false;
    try {
      const r = await fn();
      ok = true;
      return r;
    } finally {
      this.deps.observe?.(verb, mode, Number(process.hrtime.bigint() - t0) / 1e9, ok);
    }
  }
}

function gatewayOf(f: Family): string {
  return f === 4 ? POD_GATEWAY_V4 : POD_GATEWAY_V6;
}

function defaultRoutes(assignments: readonly Assignment[]): CniRoute[] {
  const fams = new Set(assignments.map((a) => a.family));
  const routes: CniRoute[] = [];
  if (fams.has(4)) routes.push({ dst: '0.0.0.0/0', gw: POD_GATEWAY_V4 });
  if (fams.has(6)) routes.push({ dst: '::/0', gw: POD_GATEWAY_V6 });
  return routes;
}

function dnsOf(conf: PodnetNetConf): Pick<CniResult, 'dns'> {
  const dns = conf.runtimeConfig.dns ?? conf.dns;
  return dns ? { dns } : {};
}

/** Static addresses from runtimeConfig.ips and IP= in CNI_ARGS, without prefix lengths. */
function requestedAddresses(req: CniRequest): string[] {
  const out: string[] = [];
  for (const s of [...(req.conf.runtimeConfig.ips ?? []), ...(req.args.IP ?? [])]) {
    const c = parseCidr(s);
    const ip = c ? c.ip : parseIp(s);
    if (ip) out.push(formatIp(ip));
  }
  return [...new Set(out)];
}

/** When podnet runs after another plugin, its interface and addresses are appended to prevResult. */
function mergePrev(prev: CniResult | undefined, ours: CniResult): CniResult {
  if (!prev) return ours;
  const offset = prev.interfaces?.length ?? 0;
  return {
    ...prev,
    cniVersion: ours.cniVersion,
    interfaces: [...(prev.interfaces ?? []), ...(ours.interfaces ?? [])],
    ips: [...(prev.ips ?? []), ...(ours.ips ?? []).map((ip) => ({ ...ip, ...(ip.interface !== undefined ? { interface: ip.interface + offset } : {}) }))],
    routes: [...(prev.routes ?? []), ...(ours.routes ?? [])],
    ...(ours.dns ?? prev.dns ? { dns: (ours.dns ?? prev.dns) as NonNullable<CniResult['dns']> } : {}),
  };
}
