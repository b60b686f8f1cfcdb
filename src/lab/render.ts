/** Text rendering of lab results for `podnet lab` and the demo. */
import type { EgressResult, PingMatrix } from './lab-checks.js';
import type { LabPod, LabStatus } from './lab.js';
import { addressOf } from './topology.js';

export interface Col<T> {
  readonly header: string;
  readonly get: (row: T) => string | number | undefined;
}

export function textTable<T>(rows: readonly T[], cols: readonly Col<T>[], indent = ''): string {
  const cells = rows.map((r) => cols.map((c) => String(c.get(r) ?? '')));
  const widths = cols.map((c, i) => Math.max(c.header.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (vals: readonly string[]): string => indent + vals.map((v, i) => (i === vals.length - 1 ? v : v.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(cols.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

export function renderPods(pods: readonly LabPod[], indent = ''): string {
  if (pods.length === 0) return `${indent}(no pods)\n`;
  return textTable(
    pods,
    [
      { header: 'POD', get: (p) => p.name },
      { header: 'NODE', get: (p) => p.node },
      { header: 'NAMESPACE', get: (p) => p.namespace },
      { header: 'IPV4', get: (p) => p.v4 ?? '-' },
      { header: 'IPV6', get: (p) => p.v6 ?? '-' },
    ],
    indent,
  );
}

/** Rows: source pod; columns: destination pod. "ok", "ok/2" (answered on attempt 2), "FAIL". */
export function renderMatrix(m: PingMatrix, indent = ''): string {
  const cell = new Map(m.cells.map((c) => [`${c.from}>${c.to}`, c]));
  const rows = m.pods.map((from) => [from, ...m.pods.map((to) => {
    if (from === to) return '.';
    const c = cell.get(`${from}>${to}`);
    if (!c) return '?';
    return c.ok ? (c.attempts > 1 ? `ok/${c.attempts}` : 'ok') : 'FAIL';
  })]);
  const header = ['from \\ to', ...m.pods];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (vals: readonly string[]): string => indent + vals.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const title = `${indent}IPv${m.family}: ${m.passed}/${m.cells.length} pairs reachable${m.failed ? `, ${m.failed} FAILED` : ''}\n`;
  const failures = m.cells.filter((c) => !c.ok).map((c) => `${indent}  ${c.from} -> ${c.to} (${c.dst ?? 'no address'}): ${c.error ?? 'no reply'}\n`);
  return title + [line(header), ...rows.map(line)].join('\n') + '\n' + failures.join('');
}

export function renderEgress(e: EgressResult, indent = ''): string {
  const head = `${indent}${e.pod} on ${e.node} -> ext ${e.target} (IPv${e.family}): `;
  if (e.ok) return `${head}ping ok${e.ping.rttMs !== undefined ? ` (${e.ping.rttMs} ms)` : ''}; TCP ok, ext saw ${e.seen} = node ${e.node}'s address -> masqueraded\n`;
  return `${head}FAILED: ${e.error ?? 'unknown'}\n`;
}

export function renderStatus(s: LabStatus): string {
  const out: string[] = [];
  out.push(`lab ${s.name}: backend ${s.backend}, ${s.subnets} underlay subnet${s.subnets === 2 ? 's' : ''}, ${s.detached ? 'detached' : 'in-process'}, dir ${s.dir}`);
  out.push(`etcd: ${s.etcd.map((e) => `${e.name} ${e.url} (${e.pid !== undefined ? `pid ${e.pid}` : 'DOWN'})`).join(', ')}`);
  out.push('');
  out.push(
    textTable(s.nodes, [
      { header: 'NODE', get: (n) => n.name },
      { header: 'SUBNET', get: (n) => n.subnet },
      { header: 'UNDERLAY', get: (n) => `${addressOf(n.v4)}, ${addressOf(n.v6)}` },
      { header: 'AGENT', get: (n) => (n.agentUp ? `up (pid ${n.agentPid ?? '?'})` : n.agentPid !== undefined ? `NOT ANSWERING (pid ${n.agentPid})` : 'DOWN') },
      { header: 'SYNC', get: (n) => n.status?.cluster.sync ?? '-' },
      { header: 'NODES', get: (n) => n.status?.cluster.nodes ?? '-' },
      { header: 'BLOCKS', get: (n) => n.status?.cluster.blocks ?? '-' },
      { header: 'ROUTES', get: (n) => n.status?.cluster.routes ?? '-' },
      { header: 'POD-MTU', get: (n) => n.status?.podMtu ?? '-' },
      { header: 'PODS', get: (n) => s.pods.filter((p) => p.node === n.name).length },
    ]).trimEnd(),
  );
  const problems = s.nodes.flatMap((n) => [...(n.status?.cluster.problems ?? []).map((p) => `${n.name}: ${p}`), ...(n.error && n.agentPid !== undefined ? [`${n.name}: ${n.error}`] : [])]);
  if (problems.length) out.push('', 'problems:', ...problems.map((p) => `  - ${p}`));
  out.push('', renderPods(s.pods).trimEnd(), '');
  return out.join('\n');
}
