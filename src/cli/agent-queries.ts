/** `podnet status`, `podnet endpoints`, `podnet ipam show`: ask the agent, render the answer. */
import { callRpc, DEFAULT_AGENT_SOCKET } from '../agent/client.js';
import type { EndpointView, IpamView, NodeView, StatusView } from '../agent/views.js';
import type { NodeRemoval } from '../agent/reclaim.js';
import { outputOption, parseCommandArgs, socketOption } from './args.js';
import { CommonErrors, PodnetError } from '../common/errors.js';
import { parseOutputFormat, render, table } from './output.js';

function common(argv: readonly string[]) {
  const { values } = parseCommandArgs(argv, { ...outputOption, ...socketOption });
  return { format: parseOutputFormat(values.output), socket: values.socket ?? process.env.PODNET_AGENT_SOCKET ?? DEFAULT_AGENT_SOCKET };
}

export async function statusCommand(argv: readonly string[]): Promise<string> {
  const { format, socket } = common(argv);
  const s = await callRpc<StatusView>(socket, 'status');
  return render(s, format, () =>
    [
      `node:        ${s.node}`,
      `agent:       running (pid ${s.pid}, up ${s.uptimeSeconds}s, version ${s.version})`,
      `socket:      ${s.socket}`,
      `datastore:   ${s.datastore.kind} (${s.datastore.healthy ? 'healthy' : 'UNHEALTHY'})`,
      `pod MTU:     ${s.podMtu}${s.uplinkMtu !== undefined ? ` (uplink ${s.uplinkMtu})` : ''}`,
      `pools:       ${s.pools.map((p) => `${p.name} ${p.cidr}${p.disabled ? ' (disabled)' : ''}`).join(', ') || 'none'}`,
      `endpoints:   ${s.endpoints}`,
      `backend:     ${s.cluster.backend} over ${s.cluster.underlay.dev} (${[s.cluster.underlay.v4, s.cluster.underlay.v6].filter(Boolean).join(', ') || 'no address'})`,
      `cluster:     ${s.cluster.nodes} nodes, ${s.cluster.blocks} blocks, ${s.cluster.routes} routes; sync ${s.cluster.sync}${s.cluster.lastError ? ` (last error: ${s.cluster.lastError})` : ''}`,
      `policy:      ${s.policy ? `enforced: ${s.policy.endpoints} interfaces, ${s.policy.profiles} profiles, programmed revision ${s.policy.programmedRevision}${s.policy.lastError ? ` (last error: ${s.policy.lastError})` : ''}` : 'disabled'}`,
      `flows:       ${s.flows ? `${s.flows.kept}/${s.flows.capacity} records kept (${s.flows.records} made)` : 'disabled'}${s.apiPort !== undefined ? `; metrics and flows on port ${s.apiPort}` : ''}`,
      ...(s.cluster.problems.length ? ['problems:', ...s.cluster.problems.map((p) => `  - ${p}`)] : []),
      '',
    ].join('\n'),
  );
}

export async function endpointsCommand(argv: readonly string[]): Promise<string> {
  const { format, socket } = common(argv);
  const eps = await callRpc<EndpointView[]>(socket, 'endpoints');
  return render(eps, format, () =>
    table(eps, [
      { header: 'NAMESPACE', get: (e) => e.namespace ?? '-' },
      { header: 'POD', get: (e) => e.pod ?? '-' },
      { header: 'CONTAINER', get: (e) => e.containerId.slice(0, 12) },
      { header: 'IFNAME', get: (e) => e.ifname },
      { header: 'HOST-IF', get: (e) => (e.hostIfname ? `${e.hostIfname}${e.linkPresent ? '' : ' (missing)'}` : '-') },
      { header: 'NETWORK', get: (e) => e.network ?? '-' },
      { header: 'ADDRESSES', get: (e) => e.addresses.join(',') },
    ]),
  );
}

export async function ipamShowCommand(argv: readonly string[]): Promise<string> {
  const { format, socket } = common(argv);
  const v = await callRpc<IpamView>(socket, 'ipam.show');
  return render(v, format, () => {
    const pools = table(v.pools, [
      { header: 'POOL', get: (p) => p.name },
      { header: 'CIDR', get: (p) => p.cidr },
      { header: 'BLOCK', get: (p) => `/${p.blockSize}` },
      { header: 'SIZE', get: (p) => p.size },
      { header: 'USED', get: (p) => p.used },
      { header: 'BLOCKS', get: (p) => p.blocks.length },
      { header: 'STATE', get: (p) => (p.disabled ? 'disabled' : 'enabled') },
    ]);
    const blocks = v.pools.flatMap((p) => p.blocks.map((b) => ({ ...b, pool: p.name })));
    const bt = table(blocks, [
      { header: 'BLOCK', get: (b) => b.cidr },
      { header: 'POOL', get: (b) => b.pool },
      { header: 'NODE', get: (b) => b.node },
      { header: 'USED', get: (b) => `${b.used}/${b.size}` },
    ]);
    return `${pools}\n${bt}`;
  });
}

export async function nodesCommand(argv: readonly string[]): Promise<string> {
  const { format, socket } = common(argv);
  const nodes = await callRpc<NodeView[]>(socket, 'nodes');
  return render(nodes, format, () =>
    table(nodes, [
      { header: 'NODE', get: (n) => n.name },
      { header: 'STATE', get: (n) => (n.alive ? 'alive' : 'DEAD') },
      { header: 'BACKEND', get: (n) => n.backend },
      { header: 'UNDERLAY', get: (n) => [n.addressV4, n.addressV6].filter(Boolean).join(',') },
      { header: 'MTU', get: (n) => n.uplinkMtu },
      { header: 'TUNNEL', get: (n) => [n.tunnelV4, n.tunnelV6].filter(Boolean).join(',') || '-' },
    ]),
  );
}

export async function nodeRemoveCommand(argv: readonly string[]): Promise<string> {
  const { values, positionals } = parseCommandArgs(argv, { ...outputOption, ...socketOption, force: { type: 'boolean' } }, 1);
  const name = positionals[0];
  if (!name) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, 'usage: podnet node remove NAME [--force]');
  const socket = values.socket ?? process.env.PODNET_AGENT_SOCKET ?? DEFAULT_AGENT_SOCKET;
  const r = await callRpc<NodeRemoval>(socket, 'node.remove', { name, force: values.force === true });
  return render(r, parseOutputFormat(values.output), () => `removed node ${r.node}: record ${r.recordDeleted ? 'deleted' : 'absent'}, ${r.blocksDeleted.length} blocks and ${r.addressesReleased} addresses returned to the pools\n`);
}
