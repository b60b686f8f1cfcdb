/**
 * The policy programmer against the fake policy dataplane (which applies every transaction with
 * nft's semantics and checks it yields the expected table): first programming, the admission fast
 * path (profile exists: map entries only) and the compiled-alone path, batching, convergence to
 * exactly the full compile, failure and replacement, revisions, release.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../common/log.js';
import { FakePolicyDataplane } from '../../dataplane/fake/policy-dataplane.js';
import type { Pod, Resource } from '../../model/k8s.js';
import { compileNode } from '../compile/compile-node.js';
import type { LocalEndpoint } from '../compile/types.js';
import { evaluateModel } from '../nft/fake-eval.js';
import { buildModel, type NftModel } from '../nft/model.js';
import { parseResources } from '../parse/resources.js';
import { PolicyProgrammer } from './programmer.js';

const logged: string[] = [];
const log = createLogger('error', {}, (l) => logged.push(l));
const ifn = (i: number): string => `pn${i.toString(16).padStart(12, '0')}`;
const key = (r: Resource): string => `/podnet/k8s/v1/${r.kind}/${'namespace' in r ? `${r.namespace}/` : ''}${r.name}`;

function pod(name: string, labels: Record<string, string>, ip: string): Pod {
  return { kind: 'Pod', namespace: 'prod', name, labels, ports: [], nodeName: 'n1', ips: [ip] };
}

const POLICIES = parseResources(`
apiVersion: v1
kind: Namespace
metadata: {name: prod}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: prod}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: 80}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: prod}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 5432}]}]
`);

const web1 = pod('web1', { app: 'web' }, '10.0.0.1');
const client = pod('client', { app: 'client' }, '10.0.0.2');
const other = pod('other', { app: 'other' }, '10.0.0.3');
const ep = (p: Pod, i: number): LocalEndpoint => ({ namespace: p.namespace, pod: p.name, ifname: ifn(i), addresses: p.ips });

/** Verdict of a TCP packet from `src` to the pod behind `oif` (ingress side only: src is off-node). */
function verdict(table: NftModel | undefined, src: string, oif: string, dst: string, port: number): string {
  assert.ok(table, 'a table is programmed');
  return evaluateModel(table, { hook: 'forward', iif: 'eth0', oif, family: 4, saddr: src, daddr: dst, proto: 6, dport: port }).verdict;
}

async function started(resources: readonly Resource[], eps: readonly LocalEndpoint[], admitDebounceMs?: number): Promise<{ p: PolicyProgrammer; dp: FakePolicyDataplane }> {
  const dp = new FakePolicyDataplane();
  const p = new PolicyProgrammer({ dataplane: dp, log, debounceMs: 1, retryMs: 10, ...(admitDebounceMs !== undefined ? { admitDebounceMs } : {}) });
  p.setEndpoints(eps);
  p.snapshot(resources.map((r) => [key(r), r] as const), 10);
  await p.ready;
  await p.settled();
  return { p, dp };
}

function sameAsFullCompile(p: PolicyProgrammer, dp: FakePolicyDataplane, eps: readonly LocalEndpoint[]): void {
  const want = buildModel(compileNode(p.state, eps), {});
  const got = dp.table as NftModel;
  assert.deepEqual([...got.sets.keys()].sort(), [...want.sets.keys()].sort());
  for (const [n, s] of want.sets) assert.deepEqual([...(got.sets.get(n)?.elements ?? [])].sort(), [...s.elements].sort(), `set ${n}`);
  assert.deepEqual([...got.chains.keys()].sort(), [...want.chains.keys()].sort());
}

test('first programming replaces the table; unmapped interfaces are dropped', async () => {
  const { p, dp } = await started([...POLICIES, web1, client], [ep(web1, 1), ep(client, 2)]);
  assert.equal(dp.calls[0]?.kind, 'replace');
  assert.equal(p.status().programmedRevision, 10);
  assert.equal(verdict(dp.table, '10.0.0.2', ifn(1), '10.0.0.1', 80), 'accept');
  assert.equal(verdict(dp.table, '10.0.0.3', ifn(1), '10.0.0.1', 80), 'drop');
  assert.equal(verdict(dp.table, '10.0.0.3', ifn(99), '10.0.0.9', 80), 'drop', 'an interface without a map entry is closed');
  await p.stop();
});

test('admission with an existing profile maps the interface only, enforced when admit resolves', async () => {
  const { p, dp } = await started([...POLICIES, web1, client], [ep(web1, 1), ep(client, 2)]);
  const web2 = pod('web2', { app: 'web' }, '10.0.0.4');
  const r = await p.admit(ep(web2, 3), web2);
  assert.equal(r.kind, 'admit');
  assert.equal(r.compiledAlone, 0);
  const last = dp.calls[dp.calls.length - 1];
  assert.deepEqual(last, { kind: 'update', ops: 2 }, 'one add-elements per interface map');
  assert.equal(verdict(dp.table, '10.0.0.2', ifn(3), '10.0.0.4', 80), 'accept');
  assert.equal(verdict(dp.table, '10.0.0.3', ifn(3), '10.0.0.4', 80), 'drop');
  await p.settled();
  sameAsFullCompile(p, dp, [ep(web1, 1), ep(client, 2), ep(web2, 3)]);
  await p.stop();
});

test('admission of a new profile shape merges a table compiled for the pod alone, then converges', async () => {
  const { p, dp } = await started([...POLICIES, web1, client], [ep(web1, 1), ep(client, 2)]);
  const db = pod('db', { app: 'db' }, '10.0.0.5');
  const r = await p.admit(ep(db, 4), db);
  assert.equal(r.compiledAlone, 1);
  assert.equal(verdict(dp.table, '10.0.0.1', ifn(4), '10.0.0.5', 5432), 'accept', 'web -> db:5432');
  assert.equal(verdict(dp.table, '10.0.0.1', ifn(4), '10.0.0.5', 80), 'drop');
  assert.equal(verdict(dp.table, '10.0.0.2', ifn(4), '10.0.0.5', 5432), 'drop', 'client -> db');
  await p.settled();
  sameAsFullCompile(p, dp, [ep(web1, 1), ep(client, 2), ep(db, 4)]);
  await p.stop();
});

test('a pod admitted right after a policy change is compiled against that change, not the last full compile\'s', async () => {
  const { p, dp } = await started([...POLICIES, web1, client], [ep(web1, 1), ep(client, 2)]);
  const [cachePolicy] = parseResources(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: cache, namespace: prod}
spec:
  podSelector: {matchLabels: {app: cache}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 6379}]}]
`);
  assert.ok(cachePolicy);
  // The policy arrives and the pod is admitted before the (debounced) full recompile runs.
  p.update([[key(cachePolicy), cachePolicy]], 20);
  const cache = pod('cache', { app: 'cache' }, '10.0.0.6');
  const r = await p.admit(ep(cache, 5), cache);
  assert.equal(r.kind, 'admit');
  assert.equal(r.compiledAlone, 1);
  assert.equal(verdict(dp.table, '10.0.0.1', ifn(5), '10.0.0.6', 6379), 'accept', 'web -> cache:6379');
  assert.equal(verdict(dp.table, '10.0.0.2', ifn(5), '10.0.0.6', 6379), 'drop', 'client -> cache: isolated by the new policy');
  await p.settled();
  sameAsFullCompile(p, dp, [ep(web1, 1), ep(client, 2), ep(cache, 5)]);
  // A second pod of that shape reuses the profile (the context of the recompile knows the policy).
  const cache2 = pod('cache2', { app: 'cache' }, '10.0.0.7');
  const r2 = await p.admit(ep(cache2, 6), cache2);
  assert.equal(r2.compiledAlone, 0);
  assert.equal(verdict(dp.table, '10.0.0.2', ifn(6), '10.0.0.7', 6379), 'drop');
  await p.stop();
});

test('while an admission is expected, the pod\'s record does not start a full recompile ahead of it', async () => {
  const { p, dp } = await started([...POLICIES, web1, client], [ep(web1, 1), ep(client, 2)], 150);
  const before = dp.calls.length;
  const done = p.expectAdmission();
  // A second client: its record alone changes the table (web1 admits clients), so a full
  // programming started by it would be a transaction of its own ahead of the admission.
  const client2 = pod('client2', { app: 'client' }, '10.0.0.4');
  p.update([[key(client2), client2]], 11); // the record, written while the veth is set up
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(dp.calls.length, before, 'no full programming while the admission is expected');
  const r = await p.admit(ep(client2, 3), client2);
  done();
  assert.equal(r.kind, 'admit');
  assert.deepEqual(dp.calls[before], { kind: 'update', ops: 2 }, 'the admission is the first step');
  await p.settled();
  assert.equal(p.status().programmedRevision, 11);
  assert.equal(p.status().lastAdmission, r);
  assert.ok(dp.calls.length > before + 1, 'the full programming followed');
  assert.equal(verdict(dp.table, '10.0.0.4', ifn(1), '10.0.0.1', 80), 'accept', 'client2 -> web1:80');
  sameAsFullCompile(p, dp, [ep(web1, 1), ep(client, 2), ep(client2, 3)]);
  await p.stop();
});

test('admissions waiting together go in one transaction', async () => {
  const { p, dp } = await started([...POLICIES, web1, client], [ep(web1, 1), ep(client, 2)]);
  const before = dp.calls.length;
  const pods = Array.from({ length: 6 }, (_, i) => pod(`w${i}`, { app: i % 2 ? 'web' : 'other' }, `10.0.1.${i + 1}`));
  const reports = await Promise.all(pods.map((x, i) => p.admit(ep(x, 10 + i), x)));
  assert.ok(reports.every((r) => r.admitted === 6), 'one batch of six');
  assert.equal(dp.calls.length - before, 1);
  for (let i = 0; i < 6; i++) assert.equal(verdict(dp.table, '10.0.0.3', ifn(10 + i), `10.0.1.${i + 1}`, 80), i % 2 ? 'drop' : 'accept');
  await p.stop();
});

test('changes are coalesced into updates; a failed transaction leads to a replacement; revisions', async () => {
  const { p, dp } = await started([...POLICIES, web1, client, other], [ep(web1, 1), ep(client, 2), ep(other, 3)]);
  // Relabel "other" as a client: web now admits it.
  const other2: Pod = { ...other, labels: { app: 'client' } };
  dp.failNext = 1;
  p.update([[key(other2), other2]], 20);
  await p.settled();
  assert.ok(logged.some((l) => l.includes('injected update failure')), 'the failure is logged');
  assert.equal(p.status().lastError, undefined);
  assert.equal(dp.calls.filter((c) => c.kind === 'replace').length, 2, 'the retry replaces the table');
  assert.equal(p.status().programmedRevision, 20);
  assert.equal(verdict(dp.table, '10.0.0.3', ifn(1), '10.0.0.1', 80), 'accept');
  // A datastore write that concerns no resource advances the programmed revision at once.
  p.update([], 25);
  assert.equal(p.status().programmedRevision, 25);
  // Deleting the policy opens web; a policy change is an in-place update.
  const n = dp.calls.length;
  p.update([[key(POLICIES[1] as Resource), undefined]], 30);
  await p.settled();
  assert.deepEqual(dp.calls.slice(n).map((c) => c.kind), ['update']);
  assert.equal(verdict(dp.table, '10.0.0.9', ifn(1), '10.0.0.1', 81), 'accept');
  assert.equal(p.status().programmedRevision, 30);
  await p.stop();
});

test('release unmaps the interface; an endpoint whose record is missing is a pod without labels', async () => {
  const { p, dp } = await started([...POLICIES, web1], [ep(web1, 1), { namespace: 'prod', pod: 'ghost', ifname: ifn(7), addresses: ['10.0.0.7'] }]);
  // ghost has no record: it is known from its endpoint, not selected by the web policy, so open.
  assert.equal(verdict(dp.table, '10.0.0.3', ifn(7), '10.0.0.7', 80), 'accept');
  p.release(ifn(1));
  await p.settled();
  assert.equal(verdict(dp.table, '10.0.0.2', ifn(1), '10.0.0.1', 80), 'drop', 'released interface is closed');
  assert.equal(p.status().endpoints, 1);
  await p.stop();
});

test('a table lost behind the programmer\'s back is found and replaced', async () => {
  const dp = new FakePolicyDataplane();
  const p = new PolicyProgrammer({ dataplane: dp, log, debounceMs: 1, retryMs: 10, verifyMs: 15 });
  p.setEndpoints([ep(web1, 1)]);
  p.snapshot([...POLICIES, web1].map((r) => [key(r), r] as const), 10);
  await p.ready;
  dp.table = undefined; // as `nft delete table` would
  const deadline = Date.now() + 5000;
  while (p.status().repairs === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await p.settled();
  assert.equal(p.status().repairs, 1);
  assert.equal(verdict(dp.table, '10.0.0.3', ifn(1), '10.0.0.1', 80), 'drop');
  await p.stop();
});
