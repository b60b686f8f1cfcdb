/**
 * In-memory PodDataplane with the Linux adapter's observable semantics, for tests above the
 * dataplane (agent, CNI) without root:
 * - same validation and error codes (DATAPLANE_INVALID_SPEC, _NETNS_NOT_FOUND, _IFNAME_IN_USE,
 *   _CHECK_FAILED);
 * - setup is all or nothing; a host name that exists already (a crashed earlier attempt) is
 *   replaced; host routes are replace-semantics (the latest pod with an address wins);
 * - teardown of something absent succeeds; deleting a namespace takes its pods' links with it;
 * - failNext(op) injects failures, including in the middle of setup (after the link exists) to
 *   exercise undo paths, and drift helpers make check() fail the way a real node would.
 */
import { PodnetError } from '../../common/errors.js';
import { DataplaneErrors } from '../errors.js';
import { type ValidPodNetSpec, HOST_IFNAME_RE, assertHostIfname, hostPrefixLen, validatePodNetSpec } from '../spec.js';
import { HOST_VETH_MAC, type PodAddress, type PodDataplane, type PodNetResult, type PodNetSpec } from '../types.js';

/** Operations that can be made to fail. The setup:* ones fail part-way, after the link exists. */
export type FakeDataplaneOp =
  | 'setup'
  | 'setup:createLink'
  | 'setup:pod'
  | 'setup:host'
  | 'teardown'
  | 'check'
  | 'listPodLinks'
  | 'uplinkMtu'
  | 'prepareNode';

export interface FakePodLink {
  readonly hostIfname: string;
  readonly ifindex: number;
  readonly hostMac: string;
  readonly podMac: string;
  readonly mtu: number;
  readonly netnsPath: string;
  readonly ifname: string;
  readonly addresses: readonly PodAddress[];
  /** False after setLinkDown() (drift). */
  readonly up: boolean;
  /** Addresses removed from inside the pod by removePodAddress() (drift). */
  readonly missingPodAddresses: readonly string[];
}

export interface FakeHostRoute {
  /** "10.0.0.5/32" or "fd00::5/128". */
  readonly dst: string;
  readonly dev: string;
}

export interface FakeCall {
  readonly op: Exclude<FakeDataplaneOp, `setup:${string}`>;
  readonly arg?: string;
}

export interface FakePodDataplaneOptions {
  /** When given, only these namespace paths exist (more with addNetns); else every path exists. */
  readonly netns?: readonly string[];
  /** What uplinkMtu() answers (default 1500; undefined = no default route). */
  readonly uplinkMtu?: number | undefined;
}

interface MutableLink extends Omit<FakePodLink, 'up' | 'missingPodAddresses'> {
  up: boolean;
  missingPodAddresses: string[];
}

export class FakePodDataplane implements PodDataplane {
  private readonly linksByName = new Map<string, MutableLink>();
  private readonly routes = new Map<string, string>(); // dst -> host ifname
  private readonly knownNetns: Set<string> | undefined;
  private readonly deletedNetns = new Set<string>();
  /** Interfaces inside pods that podnet did not make (netnsPath -> names). */
  private readonly foreign = new Map<string, Set<string>>();
  private readonly failures: { op: FakeDataplaneOp; error: PodnetError }[] = [];
  private readonly log: FakeCall[] = [];
  private nextIndex = 100;
  private macCounter = 0;
  private uplink: number | undefined;
  private prepared = false;

  constructor(opts: FakePodDataplaneOptions = {}) {
    this.knownNetns = opts.netns ? new Set(opts.netns) : undefined;
    this.uplink = 'uplinkMtu' in opts ? opts.uplinkMtu : 1500;
  }

  // --- PodDataplane ----------------------------------------------------------------------------

  async setup(spec: PodNetSpec): Promise<PodNetResult> {
    this.log.push({ op: 'setup', arg: spec?.hostIfname });
    this.maybeFail('setup');
    const s = validatePodNetSpec(spec);
    this.assertNetns(s.netnsPath);
    const stale = this.linksByName.get(s.hostIfname);
    if (stale) this.removeLink(stale); // ours from a crashed attempt: replace it
    if (this.podHasIfname(s.netnsPath, s.ifname)) {
      throw new PodnetError(DataplaneErrors.DATAPLANE_IFNAME_IN_USE, `interface ${s.ifname} already exists in ${s.netnsPath}`);
    }
    this.maybeFail('setup:createLink');
    const link: MutableLink = {
      hostIfname: s.hostIfname,
      ifindex: this.nextIndex++,
      hostMac: HOST_VETH_MAC,
      podMac: s.mac ?? this.nextMac(),
      mtu: s.mtu,
      netnsPath: s.netnsPath,
      ifname: s.ifname,
      addresses: s.addresses,
      up: true,
      missingPodAddresses: [],
    };
    this.linksByName.set(link.hostIfname, link);
    try {
      this.maybeFail('setup:pod');
      this.maybeFail('setup:host');
      for (const a of s.addresses) this.routes.set(routeKey(a), link.hostIfname);
    } catch (e) {
      this.removeLink(link);
      throw e;
    }
    return { hostIfname: link.hostIfname, hostMac: link.hostMac, podMac: link.podMac, mtu: link.mtu };
  }

  async teardown(hostIfname: string): Promise<void> {
    this.log.push({ op: 'teardown', arg: hostIfname });
    this.maybeFail('teardown');
    assertHostIfname(hostIfname);
    const link = this.linksByName.get(hostIfname);
    if (link) this.removeLink(link);
  }

  async check(spec: PodNetSpec): Promise<void> {
    this.log.push({ op: 'check', arg: spec?.hostIfname });
    this.maybeFail('check');
    const s = validatePodNetSpec(spec);
    this.assertNetns(s.netnsPath);
    const diffs = this.differences(s);
    if (diffs.length > 0) {
      throw new PodnetError(DataplaneErrors.DATAPLANE_CHECK_FAILED, `pod ${s.hostIfname}/${s.ifname}: ${diffs.join('; ')}`, { details: diffs.join('\n') });
    }
  }

  async listPodLinks(): Promise<readonly { readonly name: string; readonly ifindex: number }[]> {
    this.log.push({ op: 'listPodLinks' });
    this.maybeFail('listPodLinks');
    return [...this.linksByName.values()].filter((l) => HOST_IFNAME_RE.test(l.hostIfname)).map((l) => ({ name: l.hostIfname, ifindex: l.ifindex }));
  }

  async uplinkMtu(): Promise<number | undefined> {
    this.log.push({ op: 'uplinkMtu' });
    this.maybeFail('uplinkMtu');
    return this.uplink;
  }

  async prepareNode(): Promise<void> {
    this.log.push({ op: 'prepareNode' });
    this.maybeFail('prepareNode');
    this.prepared = true;
  }

  // --- failure injection -----------------------------------------------------------------------

  /**
   * The next `times` calls reaching `op` throw `error` (default DATAPLANE_INJECTED). For the
   * setup:* steps, setup undoes what it made first, as the Linux adapter does.
   */
  failNext(op: FakeDataplaneOp, error?: PodnetError, times = 1): void {
    const e = error ?? new PodnetError(DataplaneErrors.DATAPLANE_INJECTED, `injected failure in ${op}`);
    for (let i = 0; i < times; i++) this.failures.push({ op, error: e });
  }

  /** Failures queued by failNext() that have not fired yet. */
  pendingFailures(): readonly FakeDataplaneOp[] {
    return this.failures.map((f) => f.op);
  }

  // --- world manipulation ----------------------------------------------------------------------

  addNetns(path: string): void {
    this.deletedNetns.delete(path);
    this.knownNetns?.add(path);
  }

  /** The namespace goes away, and with it the pod ends of its veths (so the host ends too). */
  deleteNetns(path: string): void {
    this.knownNetns?.delete(path);
    this.deletedNetns.add(path);
    this.foreign.delete(path);
    for (const l of [...this.linksByName.values()]) if (l.netnsPath === path) this.removeLink(l);
  }

  /** An interface in a pod that podnet did not create (e.g. an eth0 the runtime made). */
  addForeignInterface(netnsPath: string, ifname: string): void {
    const set = this.foreign.get(netnsPath) ?? new Set<string>();
    set.add(ifname);
    this.foreign.set(netnsPath, set);
  }

  setUplinkMtu(mtu: number | undefined): void {
    this.uplink = mtu;
  }

  /** Drift: deletes a host route ("10.0.0.5/32"); returns whether it existed. */
  removeHostRoute(dst: string): boolean {
    return this.routes.delete(dst);
  }

  /** Drift: an address disappears from inside the pod. */
  removePodAddress(hostIfname: string, address: string): void {
    this.mustLink(hostIfname).missingPodAddresses.push(address);
  }

  /** Drift: the host veth goes down. */
  setLinkDown(hostIfname: string): void {
    this.mustLink(hostIfname).up = false;
  }

  // --- inspection ------------------------------------------------------------------------------

  links(): readonly FakePodLink[] {
    return [...this.linksByName.values()].map((l) => ({ ...l, missingPodAddresses: [...l.missingPodAddresses] }));
  }

  link(hostIfname: string): FakePodLink | undefined {
    const l = this.linksByName.get(hostIfname);
    return l && { ...l, missingPodAddresses: [...l.missingPodAddresses] };
  }

  hostRoutes(): readonly FakeHostRoute[] {
    return [...this.routes].map(([dst, dev]) => ({ dst, dev }));
  }

  get nodePrepared(): boolean {
    return this.prepared;
  }

  /** Every call made, in order (setup:* steps are not calls). */
  calls(): readonly FakeCall[] {
    return [...this.log];
  }

  // --- internals -------------------------------------------------------------------------------

  private maybeFail(op: FakeDataplaneOp): void {
    const i = this.failures.findIndex((f) => f.op === op);
    if (i < 0) return;
    const [f] = this.failures.splice(i, 1);
    throw f?.error;
  }

  private assertNetns(path: string): void {
    const exists = !this.deletedNetns.has(path) && (this.knownNetns === undefined || this.knownNetns.has(path));
    if (!exists) throw new PodnetError(DataplaneErrors.DATAPLANE_NETNS_NOT_FOUND, `network namespace ${path} does not exist`);
  }

  private podHasIfname(netnsPath: string, ifname: string): boolean {
    if (this.foreign.get(netnsPath)?.has(ifname)) return true;
    return [...this.linksByName.values()].some((l) => l.netnsPath === netnsPath && l.ifname === ifname);
  }

  private removeLink(l: MutableLink): void {
    this.linksByName.delete(l.hostIfname);
    for (const [dst, dev] of [...this.routes]) if (dev === l.hostIfname) this.routes.delete(dst);
  }

  private mustLink(hostIfname: string): MutableLink {
    const l = this.linksByName.get(hostIfname);
    if (!l) throw new Error(`fake dataplane: no link ${hostIfname}`);
    return l;
  }

  private nextMac(): string {
    const n = ++this.macCounter;
    return `02:00:00:${((n >> 16) & 0xff).toString(16).padStart(2, '0')}:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
  }

  private differences(s: ValidPodNetSpec): string[] {
    const l = this.linksByName.get(s.hostIfname);
    if (!l) return [`host link ${s.hostIfname} does not exist`];
    const d: string[] = [];
    if (!l.up) d.push(`host link ${s.hostIfname} is down`);
    if (l.mtu !== s.mtu) d.push(`host link ${s.hostIfname} has MTU ${l.mtu}, expected ${s.mtu}`);
    if (l.netnsPath !== s.netnsPath || l.ifname !== s.ifname) d.push(`pod link ${s.ifname} in ${s.netnsPath} does not exist`);
    if (s.mac !== undefined && l.podMac !== s.mac) d.push(`pod link ${s.ifname} has MAC ${l.podMac}, expected ${s.mac}`);
    const have = new Set(l.addresses.map((a) => a.address).filter((a) => !l.missingPodAddresses.includes(a)));
    for (const a of s.addresses) {
      if (!have.has(a.address)) d.push(`pod link ${s.ifname} lacks address ${a.address}/${hostPrefixLen(a.family)}`);
      const dst = routeKey(a);
      if (this.routes.get(dst) !== s.hostIfname) d.push(`host route ${dst} dev ${s.hostIfname} is missing`);
    }
    const want = new Set(s.addresses.map((a) => a.address));
    for (const a of have) if (!want.has(a)) d.push(`pod link ${s.ifname} has unexpected address ${a}`);
    return d;
  }
}

const routeKey = (a: PodAddress): string => `${a.address}/${hostPrefixLen(a.family)}`;
