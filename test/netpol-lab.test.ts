/**
 * NetworkPolicy conformance over a real datapath: the standard model (namespaces x, y, z; pods a,
 * b, c in each) on a 2-node VXLAN lab, pods alternating between the nodes, and every case of the
 * shared table (src/policy/conformance/cases.ts, the same one the compiler's unit tests run).
 * Each step is applied or deleted through the agent RPC, every agent must report that revision
 * programmed, then each check's 9x9 matrix is probed pod to pod over TCP, UDP or SCTP and IPv4 or
 * IPv6 by the probe daemons (src/lab/probe), SCTP with crafted INIT / INIT-ACK packets since the
 * kernel has no SCTP sockets. A mismatch prints the matrix with the cells that differ, and the
 * nodes' `inet podnet-policy` tables.
 *
 * PODNET_NETPOL_CASES=<regexp> restricts the cases (by name).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { AgentRpcError, callRpc } from '../src/agent/client.js';
import type { PolicyStatusView } from '../src/agent/rpc-policy.js';
import type { Family } from '../src/common/ip.js';
import type { Pod, Resource } from '../src/model/k8s.js';
import { ETCD_BIN } from '../src/lab/etcd.js';
import { Lab } from '../src/lab/lab.js';
import { applyEverywhere } from '../src/lab/lab-policy.js';
import { execIn, listNetns } from '../src/lab/netns.js';
import { PODNET_JS } from '../src/lab/paths.js';
import { ProbeFleet, type FleetPod } from '../src/lab/probe/fleet.js';
import { probeMatrices, type Matrix, type MatrixSpec } from '../src/lab/probe/matrix.js';
import { PROBE_MAIN_JS, SCTP_PROBE_BIN } from '../src/lab/probe/paths.js';
import { mismatches, renderComparison } from '../src/lab/probe/render.js';
import { pidsMentioning } from '../src/lab/procs.js';
import { LAB_ROOT } from '../src/lab/topology.js';
import { CASES, resolveAddresses, type Case, type Check } from '../src/policy/conformance/cases.js';
import { modelObjectsYaml, netpol } from '../src/policy/conformance/objects.js';
import { ALL_PODS, Reachability } from '../src/policy/conformance/reachability.js';
import { caseCleanup } from '../src/policy/conformance/resource-set.js';

const skip =
  process.getuid?.() !== 0 ? 'needs root' : !existsSync(ETCD_BIN) ? `needs ${ETCD_BIN}` : !existsSync(PODNET_JS) || !existsSync(PROBE_MAIN_JS) || !existsSync(SCTP_PROBE_BIN) ? 'needs the build' : false;

const labName = (tag: string): string => `${tag}${randomBytes(3).toString('hex')}`;

function assertNothingLeft(name: string): void {
  assert.deepEqual(listNetns(`pl-${name}-`), [], `namespaces of lab ${name} left`);
  assert.deepEqual(pidsMentioning(`${LAB_ROOT}/${name}`), [], `processes of lab ${name} left`);
  assert.equal(existsSync(`${LAB_ROOT}/${name}`), false, `lab dir of ${name} left`);
}

/** The cluster's policy API through the agents (any node's agent writes the shared datastore). */
class Cluster {
  constructor(private readonly lab: Lab) {}

  /** True when the agents enforce policy (policy.status says enabled). */
  async enforced(): Promise<boolean> {
    const first = this.lab.nodes()[0];
    assert.ok(first);
    try {
      return (await callRpc<PolicyStatusView>(first.socket, 'policy.status', {}, 5000)).enabled;
    } catch (e) {
      if (e instanceof AgentRpcError && e.code === 'AGENT_UNKNOWN_METHOD') return false;
      throw e;
    }
  }

  /** Applies (or deletes) and waits until every node has programmed the result. */
  async apply(text: string, verb: 'apply' | 'delete' = 'apply'): Promise<void> {
    if (text.trim() !== '') await applyEverywhere(this.lab, text, verb);
  }

  async delete(text: string): Promise<void> {
    await this.apply(text, 'delete');
  }

  async pods(): Promise<Pod[]> {
    const first = this.lab.nodes()[0];
    assert.ok(first);
    return (await callRpc<{ items: Resource[] }>(first.socket, 'resources.get', { kind: 'Pod' }, 10_000)).items.filter((r): r is Pod => r.kind === 'Pod');
  }

  /** Every stored policy, with minimal YAML naming it (enough for a delete). */
  async policies(): Promise<{ name: string; yaml: string }[]> {
    const first = this.lab.nodes()[0];
    assert.ok(first);
    const got = await callRpc<{ items: Resource[] }>(first.socket, 'resources.get', {}, 10_000);
    return got.items.flatMap((r) => {
      if (r.kind === 'NetworkPolicy') return [{ name: `NetworkPolicy ${r.namespace}/${r.name}`, yaml: netpol(r.name, r.namespace, '  podSelector: {}') }];
      if (r.kind === 'ClusterNetworkPolicy') return [{ name: `ClusterNetworkPolicy ${r.name}`, yaml: `apiVersion: podnet.io/v1\nkind: ClusterNetworkPolicy\nmetadata: {name: ${r.name}}\nspec: {order: 0, podSelector: {}}` }];
      return [];
    });
  }

  async tables(): Promise<string> {
    const out: string[] = [];
    for (const n of this.lab.nodes()) {
      const r = await execIn(n.ns, 'nft', ['list', 'table', 'inet', 'podnet-policy'], { timeoutMs: 5000 });
      out.push(`===== ${n.name}: nft list table inet podnet-policy =====`, (r.code === 0 ? r.stdout : r.stderr).trimEnd());
    }
    return out.join('\n');
  }
}

const specsOf = (checks: readonly Check[]): { spec: MatrixSpec; expect: Reachability }[] =>
  checks.flatMap((c) => (c.families ?? ([4, 6] as const)).map((family: Family) => ({ spec: { port: c.port, protocol: c.protocol ?? 'TCP', family }, expect: c.expect })));

/** Every port any check probes (the daemons serve TCP, UDP and SCTP on each). */
const PORTS = [...new Set([80, 81, ...CASES.flatMap((c) => c.steps.flatMap((s) => s.checks.map((k) => k.port)))])].sort((a, b) => a - b);

test('NetworkPolicy conformance on a 2-node lab: every case of the shared table over TCP, UDP and SCTP, IPv4 and IPv6', { skip, timeout: 1_200_000 }, async (t) => {
  const name = labName('tnp');
  const t0 = Date.now();
  const lab = await Lab.up({ name, nodes: 2, backend: 'vxlan' });
  let fleet: ProbeFleet | undefined;
  try {
    const nodes = lab.nodes().map((n) => n.name);
    const labPod = (key: string): string => key.replace('/', '-');
    await Promise.all(
      ALL_PODS.map((key, i) => {
        const [namespace, pod] = key.split('/') as [string, string];
        return lab.addPod(nodes[i % nodes.length] as string, labPod(key), { namespace, podName: pod, labels: { pod } });
      }),
    );
    await lab.waitSynced();
    const pods: FleetPod[] = ALL_PODS.map((key) => {
      const p = lab.pod(labPod(key));
      assert.ok(p.v4 && p.v6, `${key} has both families: ${p.addresses.join(', ')}`);
      assert.equal(`${p.namespace}/${p.podName}`, key);
      return { key, ns: p.ns, v4: p.v4, v6: p.v6 };
    });
    const addressOf = (pod: string, family: Family): string | undefined => pods.find((p) => p.key === pod)?.[family === 4 ? 'v4' : 'v6'];
    t.diagnostic(`lab up with 9 pods on ${nodes.join(', ')} in ${((Date.now() - t0) / 1000).toFixed(1)} s; probe ports ${PORTS.join(',')}`);

    const cluster = new Cluster(lab);
    const enforced = await cluster.enforced();
    const baseline = modelObjectsYaml();
    if (enforced) {
      // CNI ADD stored each pod under its Kubernetes name, with the labels of args.cni.labels.
      const stored = await cluster.pods();
      for (const p of pods) {
        const [namespace, name] = p.key.split('/') as [string, string];
        const got = stored.find((r) => r.namespace === namespace && r.name === name);
        assert.ok(got, `Pod ${p.key} stored by CNI ADD (stored: ${stored.map((r) => `${r.namespace}/${r.name}`).join(', ')})`);
        assert.deepEqual(got.labels, { pod: name }, `labels of ${p.key} from args.cni.labels`);
        assert.deepEqual([...got.ips].sort(), [p.v4, p.v6].sort(), `addresses of ${p.key}`);
      }
      await cluster.apply(baseline);
    }
    fleet = await ProbeFleet.start({ dir: lab.dir, pods, ports: PORTS });
    const targets = fleet.targets;

    const check = async (what: string, checks: readonly Check[]): Promise<{ failures: string[]; matrices: Matrix[] }> => {
      const wanted = specsOf(checks);
      const matrices = await probeMatrices(targets, wanted.map((w) => w.spec));
      const failures: string[] = [];
      matrices.forEach((m, i) => {
        const exp = (wanted[i] as { expect: Reachability }).expect;
        const want = (f: string, to: string): boolean => exp.get(f, to);
        if (mismatches(m, want).length > 0) failures.push(`${what}\n${renderComparison(m, want, '  ')}`);
      });
      return { failures, matrices };
    };

    // No policy: every protocol and family open (the probes, the SCTP tool through conntrack).
    const t1 = Date.now();
    const open = new Reachability(true);
    const openChecks: Check[] = PORTS.flatMap((port) => (['TCP', 'UDP', 'SCTP'] as const).map((protocol) => ({ port, protocol, expect: open })));
    const base = await check('no policy, every protocol', openChecks);
    const retried = base.matrices.flatMap((m) => m.cells).filter((c) => c.attempts > 1).length;
    t.diagnostic(`no policy: ${base.matrices.length} matrices (${base.matrices.length * 72} probes) in ${Date.now() - t1} ms, ${retried} retried`);
    if (base.failures.length) assert.fail(base.failures.join('\n'));

    if (!enforced) {
      t.diagnostic('the agents do not enforce policy: policy cases not run');
      return;
    }

    const only = process.env.PODNET_NETPOL_CASES ? new RegExp(process.env.PODNET_NETPOL_CASES) : undefined;
    const timings: string[] = [];
    for (const c of CASES.filter((x) => !only || only.test(x.name))) {
      await t.test(c.name, async () => {
        const tc = Date.now();
        const resolve = (text: string): string => resolveAddresses(text, addressOf);
        const failures: string[] = [];
        try {
          for (const [i, step] of c.steps.entries()) {
            if (step.delete) await cluster.delete(resolve(step.delete));
            if (step.apply) await cluster.apply(resolve(step.apply));
            const r = await check(`case "${c.name}", step ${i + 1} of ${c.steps.length}`, step.checks);
            failures.push(...r.failures);
          }
        } finally {
          const leaked = await undo(cluster, c, baseline, resolve);
          if (leaked.length > 0) failures.push(`case "${c.name}" left ${leaked.join(', ')} behind (deleted)`);
        }
        timings.push(`${((Date.now() - tc) / 1000).toFixed(1)} s  ${c.name}`);
        if (failures.length) assert.fail(`${failures.join('\n')}\n${await cluster.tables()}`);
      });
    }
    for (const line of timings) t.diagnostic(line);
    t.diagnostic(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    const left = (await fleet?.stop()) ?? [];
    await lab.down();
    assert.deepEqual(left, [], 'probe daemons that would not stop');
    assertNothingLeft(name);
  }
});

/**
 * Deletes the case's policies and restores the Namespaces and Pods it changed; then any policy
 * still stored (which the case table did not account for) is deleted too and reported, so one
 * case's leftovers never leak into the next.
 */
async function undo(cluster: Cluster, c: Case, baseline: string, resolve: (text: string) => string): Promise<string[]> {
  const u = caseCleanup(c, baseline, resolve);
  await cluster.delete(u.delete);
  await cluster.apply(u.restore);
  const left = await cluster.policies();
  if (left.length > 0) await cluster.delete(left.map((p) => p.yaml).join('\n---\n'));
  return left.map((p) => p.name);
}
