/**
 * The cluster calculation: datastore state (nodes, blocks, pools) -> this node's desired cluster
 * dataplane. Pure and deterministic: the output is sorted, so the same state in any order gives
 * the same value, and the adapters' delta is empty when nothing changed.
 *
 * The shared core lives here: blackholes for this node's blocks, one route per remote block as the
 * backend decides (src/backends), the VXLAN devices and peers behind tunnel routes, host routes to
 * tunnel addresses no block covers, MTU and NAT. Bad records never throw: they become `problems`.
 */
import { type Cidr, formatCidr, networkOf, parseCidr } from '../common/ip.js';
import { PodnetError } from '../common/errors.js';
import { backendFor } from '../backends/index.js';
import type { LocalView } from '../backends/types.js';
import { ClusterErrors } from './errors.js';
import { DEFAULT_UPLINK_MTU, MIN_IPV6_MTU, minUplinkMtu, podMtuFor } from './mtu.js';
import { natFor } from './nat.js';
import { type NodeView, viewNode } from './node-view.js';
import { sortParsed } from './order.js';
import { Problems } from './problems.js';
import { type Block, routeBlocks } from './routes.js';
import { type ClusterState, type ComputeOptions, type DesiredCluster, type LocalNode, VXLAN_PORT, VXLAN_VNI } from './types.js';
import { claimVteps } from './vteps.js';
import { primaryUnderlay, vxlanDevices } from './vxlan-devices.js';

const IFNAME_RE = /^[^/:\s\0]{1,15}$/;

function checkOptions(local: LocalNode, opts: ComputeOptions): { vni: number; port: number } {
  const vni = opts.vni ?? VXLAN_VNI;
  const port = opts.port ?? VXLAN_PORT;
  const bad = (msg: string): never => {
    throw new PodnetError(ClusterErrors.CLUSTER_INVALID_OPTIONS, msg);
  };
  if (!Number.isInteger(vni) || vni < 1 || vni > 0xffffff) bad(`VXLAN VNI ${vni} is not in 1..16777215`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) bad(`VXLAN port ${port} is not in 1..65535`);
  const dev = local.underlayDev;
  if (typeof dev !== 'string' || !IFNAME_RE.test(dev) || dev === '.' || dev === '..') bad(`underlay device ${JSON.stringify(dev)} is not an interface name`);
  return { vni, port };
}

/** The blocks of the state, canonical and sorted; unparsable or duplicate ones become problems. */
function blocksOf(state: ClusterState, problems: Problems): Block[] {
  // Pools with a gateway are served on an L2 segment by another plugin through podnet-ipam (e.g.
  // a bridge whose connected route covers the whole pool): a blackhole for their blocks would be
  // more specific than that route and cut the segment off from its own node.
  const bridged = new Set(state.pools.filter((p) => p.gateway !== undefined).map((p) => p.name));
  const parsed: { item: Block; cidr: Cidr }[] = [];
  for (const [key, owner] of state.blocks) {
    const c = typeof key === 'string' ? parseCidr(key) : undefined;
    if (!c) {
      problems.add(`block ${JSON.stringify(key)} of node ${owner.node} does not parse; no route to it`);
      continue;
    }
    const net = networkOf(c);
    parsed.push({ item: { cidr: net, text: formatCidr(net), node: owner.node, ...(bridged.has(owner.pool) ? { bridged: true } : {}) }, cidr: net });
  }
  const seen = new Map<string, string>();
  const out: Block[] = [];
  for (const b of sortParsed(parsed, (x, y) => (x.node < y.node ? -1 : x.node > y.node ? 1 : 0))) {
    const prev = seen.get(b.text);
    if (prev !== undefined) {
      problems.add(`block ${b.text} is claimed by nodes ${prev} and ${b.node}; routed to ${prev}`);
      continue;
    }
    seen.set(b.text, b.node);
    out.push(b);
  }
  return out;
}

/** Remote nodes by name (this node's own record comes from `local`, not from the state). */
function remoteViews(local: LocalNode, state: ClusterState, me: NodeView, problems: Problems): Map<string, NodeView> {
  const views: NodeView[] = [];
  for (const [name, rec] of state.nodes) {
    if (name === local.record.name) continue;
    const v = viewNode(rec.name === name ? rec : { ...rec, name });
    problems.addAll(`node ${name}`, v.problems);
    if (rec.backend !== local.record.backend) problems.add(`node ${name}: runs backend ${String(rec.backend)}, this node ${local.record.backend}`);
    views.push(v);
  }
  const claimed = claimVteps(me, views, (t) => problems.add(t));
  return new Map(claimed.map((v) => [v.name, v]));
}

export function computeDesired(local: LocalNode, state: ClusterState, opts: ComputeOptions = {}): DesiredCluster {
  const { vni, port } = checkOptions(local, opts);
  const backend = backendFor(local.record.backend);
  if (!backend) throw new PodnetError(ClusterErrors.CLUSTER_UNKNOWN_BACKEND, `unknown backend ${JSON.stringify(local.record.backend)}`);
  const problems = new Problems();
  const me = viewNode(local.record);
  problems.addAll('this node', me.problems);
  const remotes = remoteViews(local, state, me, problems);
  const localView: LocalView = { node: me, underlayDev: local.underlayDev };

  const blocks = blocksOf(state, problems);
  const { routes, peers } = routeBlocks({ backend, local: localView, remotes, blocks, problems });

  let minUplink = minUplinkMtu([me, ...remotes.values()]);
  if (minUplink === undefined) {
    problems.add(`no node records a usable uplink MTU; assuming ${DEFAULT_UPLINK_MTU}`);
    minUplink = DEFAULT_UPLINK_MTU;
  }
  let vxlan: DesiredCluster['vxlan'] = [];
  let podMtu = minUplink;
  if (backend.tunnels) {
    if (!me.vtep) problems.add(`this node: backend ${backend.name} needs a VXLAN MAC in this node's record; no VXLAN device`);
    else if (primaryUnderlay(me) === undefined) problems.add(`this node: backend ${backend.name} needs an underlay address; no VXLAN device`);
    vxlan = vxlanDevices({ me, underlayDev: local.underlayDev, peers, vni, port, minUplink });
    const families = vxlan.length > 0 ? vxlan.map((d) => d.family) : [primaryUnderlay(me) ?? 4];
    podMtu = podMtuFor(minUplink, families);
  }
  const nat = natFor(state.pools, (t) => problems.add(t));
  const hasV6 = blocks.some((b) => b.cidr.family === 6) || state.pools.some((p) => parseCidr(p.cidr)?.family === 6);
  if (hasV6 && podMtu < MIN_IPV6_MTU) problems.add(`pod MTU ${podMtu} is below ${MIN_IPV6_MTU}: pods get no IPv6`);

  return {
    backend: backend.name,
    routes,
    vxlan,
    nat,
    podMtu,
    problems: problems.list(),
  };
}
