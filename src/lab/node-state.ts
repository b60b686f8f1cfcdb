/**
 * What podnet holds on a lab node, as an operator would look at it: the agent's view through the
 * `podnet` CLI (`endpoints -o json`, `ipam show -o json` against the node's agent socket) and the
 * kernel's view in the node namespace (host-side `pn*` links, routes with podnet's protocol).
 * Tests take a snapshot before a call and compare after it to prove that nothing was left behind.
 * Also: one raw plugin call through the built podnet-cni / podnet-ipam, as a runtime makes it.
 */
import { join } from 'node:path';
import type { EndpointView, IpamView } from '../agent/views.js';
import { CommonErrors, PodnetError } from '../common/errors.js';
import type { InvokeResult, JsonObject } from './cni-runtime.js';
import { run } from './exec.js';
import { execIn } from './netns.js';
import type { NodeFixture } from './node-fixture.js';
import { PODNET_CNI_DIR, PODNET_JS } from './paths.js';

export const PODNET_CNI_BIN = join(PODNET_CNI_DIR, 'podnet-cni');
export const PODNET_IPAM_BIN = join(PODNET_CNI_DIR, 'podnet-ipam');

const HOST_LINK_RE = /^\d+:\s+(pn[0-9a-f]{12})[@:]/;

/** Runs `podnet <args> -o json --socket <socket>` and parses its output. */
export async function podnetJson<T>(socket: string, args: readonly string[], timeoutMs = 20_000): Promise<T> {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const r = await run(process.execPath, [PODNET_JS, ...args, '-o', 'json', '--socket', socket], { env, timeoutMs });
  if (r.code !== 0) throw new PodnetError(CommonErrors.INTERNAL, `podnet ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  return JSON.parse(r.stdout) as T;
}

export const endpointsOf = (node: NodeFixture): Promise<EndpointView[]> => podnetJson<EndpointView[]>(node.agent.socket, ['endpoints']);
export const ipamOf = (node: NodeFixture): Promise<IpamView> => podnetJson<IpamView>(node.agent.socket, ['ipam', 'show']);

/** Host-side podnet links (`pn` + 12 hex) in a namespace, sorted. */
export async function podLinksIn(ns: string): Promise<string[]> {
  const r = await execIn(ns, 'ip', ['-o', 'link', 'show'], { timeoutMs: 20_000 });
  if (r.code !== 0) throw new PodnetError(CommonErrors.INTERNAL, `ip link show in ${ns}: ${r.stderr.trim()}`);
  return r.stdout
    .split('\n')
    .map((l) => HOST_LINK_RE.exec(l)?.[1])
    .filter((n): n is string => n !== undefined)
    .sort();
}

/** Routes with podnet's protocol (147) in a namespace, both families, sorted. */
export async function podnetRoutesIn(ns: string): Promise<string[]> {
  const out: string[] = [];
  for (const fam of ['-4', '-6']) {
    const r = await execIn(ns, 'ip', [fam, 'route', 'show', 'proto', '147'], { timeoutMs: 20_000 });
    if (r.code !== 0) throw new PodnetError(CommonErrors.INTERNAL, `ip route show in ${ns}: ${r.stderr.trim()}`);
    out.push(...r.stdout.split('\n').map((l) => l.trim()).filter(Boolean));
  }
  return out.sort();
}

/** Interface names inside a (pod) namespace other than lo, sorted. */
export async function linksInPod(ns: string): Promise<string[]> {
  const r = await execIn(ns, 'ip', ['-o', 'link', 'show'], { timeoutMs: 20_000 });
  if (r.code !== 0) throw new PodnetError(CommonErrors.INTERNAL, `ip link show in ${ns}: ${r.stderr.trim()}`);
  return r.stdout
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined && n !== 'lo')
    .sort();
}

export interface NodeSnapshot {
  /** pn* links in the node namespace. */
  readonly links: readonly string[];
  /** proto 147 routes in the node namespace. */
  readonly routes: readonly string[];
  /** `podnet endpoints`: "containerId/ifname=addr,addr" per endpoint, sorted. */
  readonly endpoints: readonly string[];
  /** `podnet ipam show`: addresses in use per pool (absent from a light snapshot). */
  readonly used?: Readonly<Record<string, number>>;
  /** Interfaces (besides lo) in each pod namespace given to snapshot(). */
  readonly pods: Readonly<Record<string, readonly string[]>>;
}

/**
 * Everything podnet holds on the node (the agent must be running). `light` skips `podnet ipam show`
 * (one CLI start fewer; `podnet endpoints` lists the same allocations by attachment).
 */
export async function snapshot(node: NodeFixture, podNamespaces: readonly string[] = [], opts: { readonly light?: boolean } = {}): Promise<NodeSnapshot> {
  const [links, routes, eps, ipam, podLinks] = await Promise.all([
    podLinksIn(node.nodeNs),
    podnetRoutesIn(node.nodeNs),
    endpointsOf(node),
    opts.light ? undefined : ipamOf(node),
    Promise.all(podNamespaces.map((ns) => linksInPod(ns))),
  ]);
  const pods: Record<string, string[]> = {};
  podNamespaces.forEach((ns, i) => (pods[ns] = podLinks[i] as string[]));
  return {
    links,
    routes,
    endpoints: eps.map((e) => `${e.containerId}/${e.ifname}=${[...e.addresses].sort().join(',')}`).sort(),
    ...(ipam ? { used: Object.fromEntries(ipam.pools.map((p) => [p.name, p.used])) } : {}),
    pods,
  };
}

/**
 * One raw plugin call through the built executable, exactly as a runtime makes it: `env` holds the
 * CNI_* variables (used as given: a variable left out is absent), `stdin` the network config.
 */
export function cniCall(node: NodeFixture, env: Readonly<Record<string, string>>, stdin: string | JsonObject, binary = PODNET_CNI_BIN): Promise<InvokeResult> {
  const text = typeof stdin === 'string' ? stdin : JSON.stringify(stdin);
  return node.runtime.invoke(binary, env, text);
}
