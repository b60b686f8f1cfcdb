/**
 * Kubernetes NetworkPolicy semantics on the conformance model (x, y, z x a, b, c): every case of
 * the shared table (src/policy/conformance/cases.ts: the reachability tests of
 * kubernetes/kubernetes test/e2e/network/netpol/network_policy.go, plus endPort and named-port
 * cases), steps applied cumulatively to the model in memory. Each probe must agree across the
 * compiled profiles, the rendered nftables table and explain(). test/netpol-lab.test.ts runs the
 * same table over a real datapath.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CASES, resolveAddresses } from '../conformance/cases.js';
import { ResourceSet } from '../conformance/resource-set.js';
import { stateOf } from '../state.js';
import { matrixDiff, modelResources, podIp } from '../test-fixtures.js';

for (const c of CASES) {
  test(c.name, () => {
    const set = new ResourceSet(modelResources());
    const resolve = (text: string): string => resolveAddresses(text, (pod, family) => podIp(pod, family));
    c.steps.forEach((step, i) => {
      if (step.delete) set.delete(resolve(step.delete));
      if (step.apply) set.apply(resolve(step.apply));
      const state = stateOf(set.list());
      const diffs = step.checks.flatMap((ch) => (ch.families ?? [4, 6]).flatMap((f) => matrixDiff(state, ch.expect, ch.port, ch.protocol ?? 'TCP', f)));
      assert.deepEqual(diffs, [], `step ${i + 1} of ${c.steps.length}`);
    });
  });
}

test('the case table keeps every ported case', () => {
  assert.equal(CASES.length, 45);
  assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length, 'case names are unique');
});
