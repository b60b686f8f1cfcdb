/**
 * One route per block: a blackhole for this node's own, and for a remote node's what the backend
 * decides (direct or through a tunnel). Tunnelled nodes become VXLAN peers; a peer's tunnel
 * address that none of its tunnelled blocks covers gets a host route of its own (replies to the
 * tunnel address must find their way back).
 */
import { type Cidr, type Family, bitsOf, cidrContains, parseIp } from '../common/ip.js';
import type { Backend, LocalView } from '../backends/types.js';
import type { NodeView } from './node-view.js';
import { sortParsed } from './order.js';
import type { Problems } from './problems.js';
import type { DesiredRoute } from './types.js';
import { vxlanDeviceName } from './vxlan-devices.js';

export interface Block {
  /** Network (host bits cleared). */
  readonly cidr: Cidr;
  /** Canonical text of cidr. */
  readonly text: string;
  readonly node: string;
  /** The block's pool has a gateway (an L2 segment another plugin serves): no blackhole for it. */
  readonly bridged?: boolean;
}

export interface RoutingInput {
  readonly backend: Backend;
  readonly local: LocalView;
  readonly remotes: ReadonlyMap<string, NodeView>;
  /** Sorted, without duplicates. */
  readonly blocks: readonly Block[];
  readonly problems: Problems;
}

export interface Routing {
  /** Sorted by destination. */
  readonly routes: DesiredRoute[];
  /** Remote nodes reached through a tunnel, by the underlay family it uses. */
  readonly peers: Map<Family, Map<string, NodeView>>;
}

type Keyed = { item: DesiredRoute; cidr: Cidr };

export function routeBlocks(input: RoutingInput): Routing {
  const { backend, local, remotes, problems } = input;
  const routes: Keyed[] = [];
  const peers = new Map<Family, Map<string, NodeView>>();
  const tunnelled = new Map<string, Cidr[]>();
  for (const b of input.blocks) {
    const family = b.cidr.family;
    if (b.node === local.node.name) {
      if (!b.bridged) routes.push({ item: { kind: 'blackhole', family, dst: b.text }, cidr: b.cidr });
      continue;
    }
    const node = remotes.get(b.node);
    if (!node) {
      problems.noRoute(b.node, 'it has no node record (removed?)', b.text);
      continue;
    }
    const reach = backend.reach(local, { cidr: b.text, family, node });
    if (reach.kind === 'unreachable') {
      problems.noRoute(node.name, reach.reason, b.text);
    } else if (reach.kind === 'direct') {
      routes.push({ item: { kind: 'via', family, dst: b.text, via: reach.via, dev: reach.dev, onlink: false }, cidr: b.cidr });
    } else {
      routes.push({ item: { kind: 'via', family, dst: b.text, via: reach.via, dev: vxlanDeviceName(reach.underlayFamily), onlink: true }, cidr: b.cidr });
      let byName = peers.get(reach.underlayFamily);
      if (!byName) peers.set(reach.underlayFamily, (byName = new Map()));
      byName.set(node.name, node);
      const list = tunnelled.get(node.name);
      if (list) list.push(b.cidr);
      else tunnelled.set(node.name, [b.cidr]);
    }
  }
  routes.push(...tunnelHostRoutes(peers, tunnelled, new Set(routes.map((r) => r.item.dst))));
  return { routes: sortParsed(routes), peers };
}

function tunnelHostRoutes(peers: Routing['peers'], tunnelled: ReadonlyMap<string, readonly Cidr[]>, taken: Set<string>): Keyed[] {
  const out: Keyed[] = [];
  for (const [f, byName] of peers) {
    for (const node of byName.values()) {
      for (const ip of Object.values(node.vtep?.tunnel ?? {})) {
        const addr = parseIp(ip);
        if (!addr) continue;
        const cidr: Cidr = { family: addr.family, ip: addr, prefix: bitsOf(addr.family) };
        const dst = `${ip}/${cidr.prefix}`;
        if (taken.has(dst) || (tunnelled.get(node.name) ?? []).some((c) => cidrContains(c, addr))) continue;
        out.push({ item: { kind: 'via', family: addr.family, dst, via: ip, dev: vxlanDeviceName(f), onlink: true }, cidr });
        taken.add(dst);
      }
    }
  }
  return out;
}
