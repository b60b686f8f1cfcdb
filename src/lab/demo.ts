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
  const egress: EgressResult[] = [];
  try {
    section('pods: two per node, attached by podnet-cni through each node\'s agent');
    const names = lab.nodes().flatMap((n) => ['a', 'b'].map((s) => ({ node: n.name, pod: `pod-${n.index}${s}` })));
    await Promise.all(names.map((p) => lab.addPod(p.node, p.pod, { namespace: 'demo', labels: { app: 'demo' } })));
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
    egress.length ? `egress NAT ${egress.filter((e) => e.ok).map((e) => `IPv${e.family}`).join('+') || 'none'} ok` : 'egress not run',
    `lab up ${secs(upMs)}, total ${secs(total)}`,
  ].join(', ');
  o.out('\n');
  if (failures.length === 0) o.out(`DEMO PASSED: ${summary}${o.keep ? ` (kept: podnet lab status --name ${o.name}; podnet lab down --name ${o.name})` : ''}\n`);
  else o.out(`DEMO FAILED: ${failures.join('; ')}\n  (${summary})\n`);
  return failures.length === 0;
}
