/**
 * Scale: 10,000 pods in 100 namespaces, 1,000 NetworkPolicies and 20 ClusterNetworkPolicies.
 * Prints (does not assert) the time to compile and render a node with 100 and with 10,000 local
 * endpoints, and to recompute after one pod is added, one policy changed, one namespace relabelled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../model/k8s.js';
import { bigState } from './scale-fixture.js';
import { buildModel } from '../nft/model.js';
import { diffModels } from '../nft/diff.js';
import { fullScript } from '../nft/script.js';
import { compileNode } from './compile-node.js';
import type { LocalEndpoint, PolicyState } from './types.js';

const ifname = (i: number): string => `pn${i.toString(16).padStart(12, '0')}`;
const endpointsOf = (s: PolicyState, every: number): LocalEndpoint[] => s.pods.flatMap((p, i) => (i % every === 0 ? [{ namespace: p.namespace, pod: p.name, ifname: ifname(i) }] : []));

function time<T>(label: string, f: () => T, lines: string[]): T {
  const t0 = performance.now();
  const r = f();
  lines.push(`${label}: ${(performance.now() - t0).toFixed(0)} ms`);
  return r;
}

/** Best of n runs (the agent recompiles with a warm JIT). */
function best(n: number, f: () => unknown): string {
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    min = Math.min(min, performance.now() - t0);
  }
  return `${min.toFixed(0)} ms`;
}

test('compile time for 10,000 pods and 1,000 policies (printed, not asserted)', () => {
  const state = bigState();
  assert.equal(state.pods.length, 10_000);
  assert.equal(state.networkPolicies.length, 1_000);
  const lines: string[] = [];

  // A node with 100 local pods (one per namespace), the whole pipeline.
  const eps = endpointsOf(state, 100);
  const node = time(`node with ${eps.length} local pods: compile (cold)`, () => compileNode(state, eps), lines);
  lines.push(`  compile (warm, best of 3): ${best(3, () => compileNode(state, eps))}`);
  const model = time('  build nft model', () => buildModel(node), lines);
  const script = time('  full script text', () => fullScript(model), lines);
  const elements = [...model.sets.values()].reduce((n, s) => n + s.elements.size, 0);
  lines.push(`  ${node.profiles.size} profiles, ${model.chains.size} chains, ${model.sets.size} sets, ${elements} elements, script ${(script.length / 1024).toFixed(0)} KiB`);

  const extra: Pod = { ...(state.pods[0] as Pod), name: 'new-pod', ips: ['10.244.200.1', 'fd00:244::ffff'] };
  const s1: PolicyState = { ...state, pods: [...state.pods, extra] };
  const eps1 = [...eps, { namespace: extra.namespace, pod: extra.name, ifname: ifname(0xfffff) }];
  const m1 = time('  one pod added: compile + model', () => buildModel(compileNode(s1, eps1)), lines);
  lines.push(`    diff: ${diffModels(model, m1).length} ops`);
  time('  the new pod alone (admission fast path): compile + model', () => buildModel(compileNode(s1, [eps1[eps1.length - 1] as LocalEndpoint])), lines);
  lines.push(`    warm, best of 3: ${best(3, () => buildModel(compileNode(s1, [eps1[eps1.length - 1] as LocalEndpoint])))}`);
  const s2: PolicyState = { ...state, networkPolicies: state.networkPolicies.map((p, i) => (i === 0 ? { ...p, ingress: [{ peers: p.ingress[0]?.peers ?? [], ports: [{ protocol: 'TCP' as const, port: 81 }] }] } : p)) };
  const m2 = time('  one policy changed: compile + model', () => buildModel(compileNode(s2, eps)), lines);
  lines.push(`    diff: ${diffModels(model, m2).length} ops`);
  const s3: PolicyState = { ...state, namespaces: state.namespaces.map((n, i) => (i === 3 ? { ...n, labels: { ...n.labels, team: 't0', env: 'prod' } } : n)) };
  const m3 = time('  one namespace relabelled: compile + model', () => buildModel(compileNode(s3, eps)), lines);
  lines.push(`    diff: ${diffModels(model, m3).length} ops`);

  // Every pod local to one node: the compiler alone (the table is large; PODNET_SCALE_FULL=1 renders it too).
  const all = endpointsOf(state, 1);
  const big = time(`node with ${all.length} local pods: compile (cold)`, () => compileNode(state, all), lines);
  lines.push(`  compile (warm): ${best(1, () => compileNode(state, all))}; ${big.profiles.size} profiles`);
  if (process.env['PODNET_SCALE_FULL'] === '1') {
    const bm = time('  build nft model', () => buildModel(big), lines);
    lines.push(`  ${[...bm.sets.values()].reduce((n, s) => n + s.elements.size, 0)} elements`);
  }
  console.log(`\n[policy scale] 10,000 pods, 1,000 NetworkPolicies, 20 ClusterNetworkPolicies\n${lines.join('\n')}\n`);
});
