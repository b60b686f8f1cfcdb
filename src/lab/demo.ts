/**
 * `podnet lab demo`: a 3-node cluster (vxlan by default), two pods per node, their addresses, the
 * IPv4 and IPv6 pod-to-pod reachability matrices, egress NAT to the external namespace, one
 * node's `podnet status`, and a verdict line; then everything is removed (unless keep).
 *
 * Why vxlan: it is what the agent picks with an etcd datastore (the multi-node default), it works
 * on any underlay (also across routed subnets, where host-gw cannot), and it exercises the most
 * of podnet: the VTEP device and its tunnel addresses from IPAM, static FDB and neighbour
 * entries, and the pod MTU derived from the uplink (1450).
 */
import type { Family } from '../common/ip.js';
import { errorMessage } from '../common/errors.js';
import type { BackendName } from '../model/node.js';
import { run } from './exec.js';
import type { EgressResult, PingMatrix } from './lab-checks.js';
import { Lab } from './lab.js';
import { callRpc } from '../agent/client.js';
import { formatExplanation, type Explanation } from '../policy/explain.js';
import { applyEverywhere } from './lab-policy.js';
import { renderEgress, renderMatrix, renderPods } from './render.js';
import { EXT } from './topology.js';

export interface DemoOptions {
  readonly name: string;
  readonly backend: BackendName;
  readonly subnets: 1 | 2;
  readonly nodes: number;
  readonly keep: boolean;
  readonly out: (text: string) => void;
  /** `podnet status` text of the agent at socket (the CLI's renderer). */
  readonly nodeStatus: (socket: string) => Promise<string>;
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

const DB_POLICY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: demo}
spec:
  podSelector: {matchLabels: {role: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: web}}}]
`;

/** The ping matrix under a policy: "ok" or "drop" per pair, "!" where it differs from the policy. */
function renderPolicyMatrix(m: PingMatrix, allowed: (from: string, to: string) => boolean, indent: string): string {
  const cell = new Map(m.cells.map((c) => [`${c.from}>${c.to}`, c]));
  const rows = m.pods.map((from) => [from, ...m.pods.map((to) => {
    if (from === to) return '.';
    const c = cell.get(`${from}>${to}`);
    const text = c?.ok ? 'ok' : 'drop';
    return c && c.ok !== allowed(from, to) ? `${text}!` : text;
  })]);
  const header = ['from \\ to', ...m.pods];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (vals: readonly string[]): string => indent + vals.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return `${indent}IPv4 under the policy (a = web, b = db; "!" = differs from the policy)\n${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** Runs the demo; resolves true when every check passed. The lab is removed unless keep. */
export async function runDemo(o: DemoOptions): Promise<boolean> {
  const t0 = Date.now();
  const section = (title: string): void => o.out(`\n== ${title} (${secs(Date.now() - t0)})\n`);
  section(`building lab ${o.name}: ${o.nodes} nodes, backend ${o.backend}, ${o.subnets} underlay subnet${o.subnets === 2 ? 's' : ''}`);
  const lab = await Lab.up({ name: o.name, nodes: o.nodes, backend: o.backend, subnets: o.subnets, detached: true, progress: (l) => o.out(`  ${l}\n`) });
  const upMs = Date.now() - t0;
  const failures: string[] = [];
  let v4: PingMatrix | undefined;
  let v6: PingMatrix | undefined;
  let policyChecked = false;
  const egress: EgressResult[] = [];
  try {
    section('pods: two per node, attached by podnet-cni through each node\'s agent');
    const names = lab.nodes().flatMap((n) => ['a', 'b'].map((s) => ({ node: n.name, pod: `pod-${n.index}${s}` })));
    await Promise.all(names.map((p) => lab.addPod(p.node, p.pod, { namespace: 'demo', labels: { app: 'demo', role: p.pod.endsWith('a') ? 'web' : 'db' } })));
    await lab.waitSynced();
    o.out(renderPods(lab.pods(), '  '));

    section('pod-to-pod reachability (every pod pings every other pod)');
    v4 = await lab.pingMatrix({ family: 4 });
    o.out(renderMatrix(v4, '  '));
    v6 = await lab.pingMatrix({ family: 6 });
    o.out(`\n${renderMatrix(v6, '  ')}`);
    for (const m of [v4, v6]) if (m.failed) failures.push(`IPv${m.family} ${m.failed}/${m.cells.length} pairs unreachable`);

    const first = lab.pods()[0];
    if (first) {
      section(`egress: ${first.name} reaches the "internet" namespace (${EXT.v4}, ${EXT.v6}) through its node's NAT`);
      for (const f of [4, 6] as Family[]) {
        const e = await lab.egress(first.name, f);
        egress.push(e);
        o.out(renderEgress(e, '  '));
        if (!e.ok) failures.push(`egress IPv${f}: ${e.error ?? 'failed'}`);
      }
      const ct = await run('ip', ['netns', 'exec', lab.node(first.node).ns, 'conntrack', '-L', '-p', 'tcp', '-d', EXT.v4], { timeoutMs: 5000 }).catch(() => undefined);
      const line = ct?.stdout.split('\n').find((l) => l.includes(EXT.v4));
      if (line) o.out(`  conntrack on ${first.node}: ${line.replace(/\s+/g, ' ').trim()}\n`);
    }

    section('network policy: db pods admit only web pods (podnet apply; in force on every node when it returns)');
    const t1 = Date.now();
    await applyEverywhere(lab, DB_POLICY);
    o.out(`${DB_POLICY.trimEnd().replace(/^/gm, '  ')}\n  applied and programmed on ${lab.nodes().length} nodes in ${Date.now() - t1} ms\n\n`);
    const role = new Map(lab.pods().map((p) => [p.name, p.labels['role']]));
    const expectAllowed = (from: string, to: string): boolean => role.get(to) !== 'db' || role.get(from) === 'web';
    const pm = await lab.pingMatrix({ family: 4, attempts: 1 });
    o.out(renderPolicyMatrix(pm, expectAllowed, '  '));
    const wrong = pm.cells.filter((c) => c.ok !== expectAllowed(c.from, c.to));
    policyChecked = wrong.length === 0;
    if (wrong.length > 0) failures.push(`policy: ${wrong.length} pairs differ from the policy (${wrong.map((c) => `${c.from}->${c.to}`).join(', ')})`);
    const denied = pm.cells.find((c) => !expectAllowed(c.from, c.to));
    const n0 = lab.nodes()[0];
    if (denied && n0) {
      const from = lab.pod(denied.from);
      const to = lab.pod(denied.to);
      o.out(`\n  $ podnet policy explain --from demo/${from.name} --to demo/${to.name} --port 5432/TCP\n`);
      const ex = await callRpc<Explanation>(n0.socket, 'policy.explain', { from: `demo/${from.name}`, to: `demo/${to.name}`, port: '5432/TCP' });
      o.out(formatExplanation(ex).trimEnd().replace(/^/gm, '    ') + '\n');
    }
    await applyEverywhere(lab, DB_POLICY, 'delete');

    const n1 = lab.nodes()[0];
    if (n1) {
      section(`podnet status on node ${n1.name}`);
      o.out(`${(await o.nodeStatus(n1.socket)).trimEnd().replace(/^/gm, '  ')}\n`);
    }
  } catch (e) {
    failures.push(errorMessage(e));
  } finally {
    if (!o.keep) {
      section('tearing down');
      const r = await lab.down().catch((e: unknown) => {
        failures.push(`teardown: ${errorMessage(e)}`);
        return undefined;
      });
      if (r) o.out(`  killed ${r.killed.length} processes, removed ${r.namespaces.length} namespaces\n`);
    }
  }
  const total = Date.now() - t0;
  const pods = lab.pods().length || (v4?.pods.length ?? 0);
  const summary = [
    `${o.nodes} nodes (${o.backend}), ${pods} pods`,
    v4 ? `IPv4 ${v4.passed}/${v4.cells.length}` : 'IPv4 not run',
    v6 ? `IPv6 ${v6.passed}/${v6.cells.length}` : 'IPv6 not run',
    policyChecked ? 'policy enforced as written' : 'policy not run',
    egress.length ? `egress NAT ${egress.filter((e) => e.ok).map((e) => `IPv${e.family}`).join('+') || 'none'} ok` : 'egress not run',
    `lab up ${secs(upMs)}, total ${secs(total)}`,
  ].join(', ');
  o.out('\n');
  if (failures.length === 0) o.out(`DEMO PASSED: ${summary}${o.keep ? ` (kept: podnet lab status --name ${o.name}; podnet lab down --name ${o.name})` : ''}\n`);
  else o.out(`DEMO FAILED: ${failures.join('; ')}\n  (${summary})\n`);
  return failures.length === 0;
}
