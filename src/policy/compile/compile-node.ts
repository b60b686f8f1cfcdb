/**
 * compileNode: policy state + this node's pod interfaces -> per endpoint and direction a shared
 * profile (src/policy/compile/types.ts). Pure; the cost is one selector pass per local pod and
 * one partition per distinct profile.
 */
import { canonicalIp } from '../../common/ip.js';
import { CommonErrors, PodnetError } from '../../common/errors.js';
import { HOST_IF_PREFIX } from '../../dataplane/types.js';
import type { ClusterNetworkPolicy, Pod } from '../../model/k8s.js';
import { PolicyErrors } from '../errors.js';
import { compileSelector } from '../selectors.js';
import { PeerResolver } from './peers.js';
import { allowKey, type AllowHalf, BoxCache, clusterKey, type ClusterHalf, compileAllowHalf, compileClusterHalf, halfId, joinHalves, profileId, profileKey, type ProfileInput, ruleEntries } from './profile.js';
import { buildIndex, podKey, type StateIndex } from './state-index.js';
import type { CompiledNode, Direction, DirectionProfile, EndpointPolicy, LocalEndpoint, PolicyState } from './types.js';

export const IFNAME_RE = new RegExp(`^${HOST_IF_PREFIX}[0-9a-f]{12}$`);

function checkEndpoints(eps: readonly LocalEndpoint[]): Map<string, readonly string[]> {
  const seen = new Set<string>();
  const extra = new Map<string, string[]>();
  for (const ep of eps) {
    if (!IFNAME_RE.test(ep.ifname)) throw new PodnetError(PolicyErrors.POLICY_INVALID_ENDPOINT, `endpoint ${ep.namespace}/${ep.pod}: interface ${JSON.stringify(ep.ifname)} is not ${HOST_IF_PREFIX} + 12 hex digits`);
    if (seen.has(ep.ifname)) throw new PodnetError(PolicyErrors.POLICY_INVALID_ENDPOINT, `interface ${ep.ifname} is given for two endpoints`);
    seen.add(ep.ifname);
    for (const a of ep.addresses ?? []) {
      const c = canonicalIp(a);
      if (!c) throw new PodnetError(PolicyErrors.POLICY_INVALID_ENDPOINT, `endpoint ${ep.namespace}/${ep.pod}: ${JSON.stringify(a)} is not an IP address`);
      const k = podKey(ep.namespace, ep.pod);
      const list = extra.get(k) ?? [];
      list.push(c);
      extra.set(k, list);
    }
  }
  return extra;
}

function subjectOf(index: StateIndex, c: ClusterNetworkPolicy, pod: Pod): boolean {
  if (c.namespaceSelector && !compileSelector(c.namespaceSelector)(index.namespaceLabels(pod.namespace))) return false;
  return !c.podSelector || compileSelector(c.podSelector)(pod.labels);
}

/** The inputs of a pod's profile for one direction (also used by explain). */
export function profileInput(index: StateIndex, pod: Pod, direction: Direction): ProfileInput {
  const type = direction === 'ingress' ? 'Ingress' : 'Egress';
  const policies = index.policiesIn(pod.namespace).filter((p) => p.policyTypes.includes(type) && compileSelector(p.podSelector)(pod.labels));
  const clusterPolicies = index.clusterPolicies.filter((c) => (direction === 'ingress' ? c.ingress : c.egress).length > 0 && subjectOf(index, c, pod));
  return { direction, pod, policies, clusterPolicies };
}

/**
 * What a compilation resolves once and later compilations against the same resources can reuse:
 * the state index and the rules' boxes (peer selectors resolved to addresses). Immutable: a
 * context describes the resources of one moment.
 */
export interface CompileContext {
  readonly index: StateIndex;
  readonly boxes: BoxCache;
}

/** A context for state and the node's endpoints (their addresses count as their pods'). */
export function compileContext(state: PolicyState, localEndpoints: readonly LocalEndpoint[]): CompileContext {
  const index = buildIndex(state, checkEndpoints(localEndpoints));
  return { index, boxes: new BoxCache(new PeerResolver(index)) };
}

/**
 * `ctx` with `pod` known by name (added, or replacing its older record), for compiling that
 * pod's own profiles: its labels select the policies and its named ports resolve its ingress
 * rules. Peer sets stay ctx's, i.e. the pod is not yet a peer of anything.
 */
export function contextWithPod(ctx: CompileContext, pod: Pod): CompileContext {
  const base = ctx.index;
  const index: StateIndex = { ...base, pod: (ns, name) => (ns === pod.namespace && name === pod.name ? pod : base.pod(ns, name)) };
  return { index, boxes: ctx.boxes };
}

export function compileNode(state: PolicyState, localEndpoints: readonly LocalEndpoint[]): CompiledNode {
  return compileNodeInContext(state, localEndpoints).compiled;
}

/** compileNode, also returning the context it made (for later compilations of single pods). */
export function compileNodeInContext(state: PolicyState, localEndpoints: readonly LocalEndpoint[]): { readonly compiled: CompiledNode; readonly ctx: CompileContext } {
  const ctx = compileContext(state, localEndpoints); // checks the endpoints
  return { compiled: compileIn(ctx, localEndpoints), ctx };
}

/** compileNode with a context made earlier (the endpoints are checked; their addresses are the context's). */
export function compileWith(ctx: CompileContext, localEndpoints: readonly LocalEndpoint[]): CompiledNode {
  checkEndpoints(localEndpoints);
  return compileIn(ctx, localEndpoints);
}

function compileIn(ctx: CompileContext, localEndpoints: readonly LocalEndpoint[]): CompiledNode {
  const { index, boxes } = ctx;
  const problems = [...index.problems];
  const profiles = new Map<string, DirectionProfile>();
  const allowHalves = new Map<string, AllowHalf>();
  const clusterHalves = new Map<string, ClusterHalf>();
  const ids = new Map<string, string>();
  /** Hash ids of distinct keys must differ (a 64-bit collision would merge two policies' state). */
  const claim = (id: string, key: string): void => {
    const prev = ids.get(id);
    if (prev === undefined) ids.set(id, key);
    else if (prev !== key) throw new PodnetError(CommonErrors.INTERNAL, `id ${id} hashes two keys: ${prev} and ${key}`);
  };
  const profileFor = (input: ProfileInput): string => {
    const entries = ruleEntries(input);
    const ak = allowKey(input, entries);
    const ck = clusterKey(input);
    const key = profileKey(ak, ck, input);
    const id = profileId(input.direction, key);
    if (profiles.has(id)) return id;
    claim(id, key);
    let allow = allowHalves.get(ak);
    if (!allow) {
      const aid = halfId(input.direction, ak);
      claim(aid, ak);
      allowHalves.set(ak, (allow = compileAllowHalf(input, entries, aid, boxes)));
    }
    let cluster = clusterHalves.get(ck);
    if (!cluster) {
      const cid = halfId(input.direction, ck);
      claim(cid, ck);
      clusterHalves.set(ck, (cluster = compileClusterHalf(input, cid, boxes)));
    }
    profiles.set(id, joinHalves(input, entries, key, allow, cluster));
    return id;
  };
  const endpoints: EndpointPolicy[] = [];
  for (const ep of localEndpoints) {
    const pod = index.pod(ep.namespace, ep.pod);
    if (!pod) {
      problems.push(`endpoint ${ep.ifname}: pod ${podKey(ep.namespace, ep.pod)} is unknown; its traffic stays dropped`);
      continue;
    }
    endpoints.push({
      ifname: ep.ifname,
      namespace: ep.namespace,
      pod: ep.pod,
      ingress: profileFor(profileInput(index, pod, 'ingress')),
      egress: profileFor(profileInput(index, pod, 'egress')),
    });
  }
  endpoints.sort((a, b) => (a.ifname < b.ifname ? -1 : a.ifname > b.ifname ? 1 : 0));
  return { endpoints, profiles, problems };
}

/**
 * The profile ids compileNode would give `pod`, computed from the policies alone (no peer
 * resolution): when a compiled node already has both, a new endpoint of that pod needs only its
 * interface mapped (the admission fast path). `pod` must carry its final labels and ports.
 */
export function predictProfileIds(state: PolicyState, pod: Pod): { readonly ingress: string; readonly egress: string } {
  const index = buildIndex({ ...state, pods: [pod] });
  const id = (d: Direction): string => {
    const input = profileInput(index, pod, d);
    return profileId(d, profileKey(allowKey(input, ruleEntries(input)), clusterKey(input), input));
  };
  return { ingress: id('ingress'), egress: id('egress') };
}
