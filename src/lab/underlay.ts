/**
 * Builds the lab's underlay from the address plan (topology.ts): subnet bridges, the router, the
 * external namespace, and the plumbing of node and etcd namespaces onto a subnet. Every command
 * runs inside a namespace the lab created (`ip -n NS -batch -`, argument arrays and batch lines
 * built from validated names and addresses only); nothing touches the root namespace.
 */
import { runOk } from './exec.js';
import { sysctlIn } from './netns.js';
import { EXT, UNDERLAY_MTU, type EtcdPlan, type NodePlan, type SubnetId, type Topology } from './topology.js';

/** Creates a namespace (the caller records it first, so teardown finds it after any crash). */
export type NsMaker = (ns: string) => Promise<void>;

/** Runs `ip` commands (one per line) inside ns in one process. */
export async function ipBatch(ns: string, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  await runOk('ip', ['-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n`, timeoutMs: 20_000 });
}

const MTU = String(UNDERLAY_MTU);

/** A veth from `ns` (named `local`) into the subnet bridge (port `port`), up on both ends. */
function bridgeLegLines(topo: Topology, subnet: SubnetId, local: string, port: string): { here: string[]; bridge: string[] } {
  const br = topo.subnet(subnet).ns;
  return {
    here: [`link add name ${local} mtu ${MTU} type veth peer name ${port} netns ${br}`, `link set dev ${local} up`],
    bridge: [`link set dev ${port} mtu ${MTU}`, `link set dev ${port} master br0`, `link set dev ${port} up`],
  };
}

/** Subnet bridges, the router with a leg on each subnet and one to ext, and ext itself. */
export async function buildBackbone(topo: Topology, makeNs: NsMaker): Promise<void> {
  const subnets = topo.subnets();
  for (const s of subnets) {
    await makeNs(s.ns);
    await ipBatch(s.ns, [`link add name br0 mtu ${MTU} type bridge`, 'link set dev br0 up']);
  }
  await makeNs(topo.routerNs);
  await makeNs(topo.extNs);
  const rt: string[] = [];
  for (const s of subnets) {
    const leg = bridgeLegLines(topo, s.id, `ul${s.id}`, 'rt');
    await ipBatch(topo.routerNs, leg.here);
    await ipBatch(s.ns, leg.bridge);
    rt.push(`addr add ${s.routerV4}/24 dev ul${s.id}`, `addr add ${s.routerV6}/64 dev ul${s.id} nodad`);
  }
  rt.push(
    `link add name ext mtu ${MTU} type veth peer name eth0 netns ${topo.extNs}`,
    'link set dev ext up',
    `addr add ${EXT.routerV4}/24 dev ext`,
    `addr add ${EXT.routerV6}/64 dev ext nodad`,
  );
  await ipBatch(topo.routerNs, rt);
  await sysctlIn(topo.routerNs, 'net.ipv4.ip_forward', '1');
  await sysctlIn(topo.routerNs, 'net.ipv6.conf.all.forwarding', '1');
  await ipBatch(topo.extNs, [
    'link set dev eth0 up',
    `addr add ${EXT.v4}/24 dev eth0`,
    `addr add ${EXT.v6}/64 dev eth0 nodad`,
    `route add ${EXT.returnV4} via ${EXT.routerV4}`,
    `route add ${EXT.returnV6} via ${EXT.routerV6}`,
  ]);
}

/** A node namespace with eth0 on its subnet, its addresses and default routes via the router. */
export async function plugNode(topo: Topology, node: NodePlan, makeNs: NsMaker): Promise<void> {
  await makeNs(node.ns);
  const leg = bridgeLegLines(topo, node.subnet, 'eth0', node.bridgePort);
  await ipBatch(node.ns, [
    ...leg.here,
    `addr add ${node.v4} dev eth0`,
    `addr add ${node.v6} dev eth0 nodad`,
    `route add default via ${node.gatewayV4}`,
    `route add default via ${node.gatewayV6}`,
  ]);
  await ipBatch(topo.subnet(node.subnet).ns, leg.bridge);
}

/** An etcd member's namespace on subnet A (IPv4 only; default route via the router). */
export async function plugEtcd(topo: Topology, m: EtcdPlan, makeNs: NsMaker): Promise<void> {
  await makeNs(m.ns);
  const a = topo.subnet('a');
  const leg = bridgeLegLines(topo, 'a', 'eth0', m.bridgePort);
  await ipBatch(m.ns, [...leg.here, `addr add ${m.ip}/24 dev eth0`, `route add default via ${a.routerV4}`]);
  await ipBatch(a.ns, leg.bridge);
}
