/** The conformance runner's in-memory store and the lab's per-case clean-up. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../model/k8s.js';
import { parseResources } from '../parse/resources.js';
import { CASES, resolveAddresses } from './cases.js';
import { docs, modelObjectsYaml, namespaceYaml, netpol, podYaml } from './objects.js';
import { caseCleanup, ResourceSet, splitDocs } from './resource-set.js';

const attached = (): ReturnType<typeof parseResources> => parseResources(docs(namespaceYaml('x'), podYaml('x', 'a', { nodeName: 'n1', ips: ['10.244.0.1', 'fd00::1'] })));

test('applying a Pod keeps the node and addresses of the attached one; deleting it clears only labels and ports', () => {
  const s = new ResourceSet(attached());
  s.apply(podYaml('x', 'a', { labels: { pod: 'z' }, ports: [] }));
  const pod = s.list().find((r): r is Pod => r.kind === 'Pod');
  assert.deepEqual([pod?.labels, pod?.ports, pod?.nodeName, pod?.ips], [{ pod: 'z' }, [], 'n1', ['10.244.0.1', 'fd00::1']]);
  s.delete(podYaml('x', 'a'));
  const after = s.list().find((r): r is Pod => r.kind === 'Pod');
  assert.deepEqual([after?.labels, after?.ips], [{}, ['10.244.0.1', 'fd00::1']]);
});

test('policies replace by (kind, namespace, name) and go on delete', () => {
  const s = new ResourceSet(attached());
  s.apply(netpol('p', 'x', '  podSelector: {}'));
  s.apply(netpol('p', 'x', '  podSelector: {matchLabels: {pod: a}}'));
  assert.equal(s.list().filter((r) => r.kind === 'NetworkPolicy').length, 1);
  s.delete(netpol('p', 'x', '  podSelector: {}'));
  assert.equal(s.list().filter((r) => r.kind === 'NetworkPolicy').length, 0);
});

test('address tokens resolve, and an unknown pod is an error', () => {
  assert.equal(resolveAddresses('cidr: "{{ip4 y/b}}/32", v6: {{ip6 y/b}}', (p, f) => `${p}@${f}`), 'cidr: "y/b@4/32", v6: y/b@6');
  assert.throws(() => resolveAddresses('{{ip4 q/q}}', () => undefined), /no IPv4 address for pod q\/q/);
});

test('caseCleanup deletes what each case leaves and restores the objects it changed', () => {
  const baseline = modelObjectsYaml();
  const resolve = (t: string): string => resolveAddresses(t, () => '10.244.9.9');
  for (const c of CASES) {
    const u = caseCleanup(c, baseline, resolve);
    const s = new ResourceSet(parseResources(baseline));
    for (const step of c.steps) {
      if (step.delete) s.delete(resolve(step.delete));
      if (step.apply) s.apply(resolve(step.apply));
    }
    if (u.delete) s.delete(u.delete);
    if (u.restore) s.apply(u.restore);
    assert.deepEqual(s.list(), [...parseResources(baseline)], c.name);
  }
  const relabel = CASES.find((c) => c.name.startsWith('label changes'));
  assert.ok(relabel);
  assert.equal(splitDocs(caseCleanup(relabel, baseline, resolve).restore).length, 2);
});
