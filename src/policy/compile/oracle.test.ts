/**
 * Randomised cross-check: for random NetworkPolicies and ClusterNetworkPolicies on the
 * conformance model, the compiled profiles, the rendered nft table (fake datapath) and explain()
 * (straight from the resources) must give the same verdict and the same records for every probe:
 * pod to pod, external to pod, pod to external and pod to its node, on both families.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Family } from '../../common/ip.js';
import { parseIp } from '../../common/ip.js';
import type { ClusterNetworkPolicy, LabelSelector, NetworkPolicy, PolicyPeer, PolicyPort, Protocol } from '../../model/k8s.js';
import { explain, type ExplainEndpoint } from '../explain.js';
import { evaluateModel } from '../nft/fake-eval.js';
import { ALL_PODS, compileModel, ifnameOf, modelResources, podIp } from '../test-fixtures.js';
import { stateOf } from '../state.js';
import { evaluateEndpoint, type Verdict } from './evaluate.js';
import { PROTO_NUMBER } from './space.js';
import type { ClusterRecord } from './types.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const empty: LabelSelector = { matchLabels: {}, matchExpressions: [] };

function gen(seed: number): { nps: NetworkPolicy[]; cnps: ClusterNetworkPolicy[] } {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const n = (max: number): number => Math.floor(r() * (max + 1));
  const podSel = (): LabelSelector =>
    pick<LabelSelector>([
      empty,
      { matchLabels: { pod: pick(['a', 'b', 'c']) }, matchExpressions: [] },
      { matchLabels: {}, matchExpressions: [{ key: 'pod', operator: pick(['In', 'NotIn'] as const), values: [pick(['a', 'b']), 'c'] }] },
      { matchLabels: {}, matchExpressions: [{ key: 'pod', operator: pick(['Exists', 'DoesNotExist'] as const), values: [] }] },
    ]);
  const nsSel = (): LabelSelector =>
    pick<LabelSelector>([empty, { matchLabels: { ns: pick(['x', 'y', 'z']) }, matchExpressions: [] }, { matchLabels: {}, matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [pick(['x', 'y', 'z'])] }] }]);
  const block = (): PolicyPeer => {
    const base = pick(['10.244.0.0/16', '10.244.2.0/24', '10.244.1.2/32', '192.168.0.0/16', '0.0.0.0/0', 'fd00:244::/64', 'fd00:244::2:0/112', '::/0']);
    const except =
      base === '10.244.0.0/16' ? pick([[], ['10.244.3.0/24'], ['10.244.1.0/25', '10.244.2.2/32']]) :
      base === '192.168.0.0/16' ? pick([[], ['192.168.1.0/24']]) :
      base === '0.0.0.0/0' ? pick([[], ['10.0.0.0/8']]) :
      base === 'fd00:244::/64' ? pick([[], ['fd00:244::1:0/112']]) : [];
    return { ipBlock: { cidr: base, except } };
  };
  const peer = (): PolicyPeer => pick<() => PolicyPeer>([() => ({ podSelector: podSel() }), () => ({ namespaceSelector: nsSel() }), () => ({ podSelector: podSel(), namespaceSelector: nsSel() }), block])();
  const port = (): PolicyPort => {
    const protocol = pick<Protocol>(['TCP', 'UDP', 'SCTP']);
    return pick<() => PolicyPort>([
      () => ({ protocol }),
      () => ({ protocol, port: pick([80, 81, 82]) }),
      () => ({ protocol, port: 80, endPort: pick([80, 81, 90]) }),
      () => ({ protocol, port: `serve-${pick([80, 81])}-${protocol.toLowerCase()}` }),
      () => ({ protocol, port: pick(['serve-80-tcp', 'nonexistent']) }),
    ])();
  };
  const rule = (): { peers: PolicyPeer[]; ports: PolicyPort[] } => ({ peers: Array.from({ length: n(2) }, peer), ports: Array.from({ length: n(2) }, port) });
  const nps: NetworkPolicy[] = Array.from({ length: n(4) }, (_, i) => {
    const types = pick<readonly ('Ingress' | 'Egress')[]>([['Ingress'], ['Egress'], ['Ingress', 'Egress']]);
    return { kind: 'NetworkPolicy', namespace: pick(['x', 'y', 'z']), name: `np${i}`, podSelector: podSel(), policyTypes: types, ingress: Array.from({ length: n(2) }, rule), egress: Array.from({ length: n(2) }, rule) };
  });
  const cnps: ClusterNetworkPolicy[] = Array.from({ length: n(3) }, (_, i) => {
    const crule = (): ClusterNetworkPolicy['ingress'][number] => ({ action: pick(['Allow', 'Deny', 'Pass', 'Log'] as const), ...rule() });
    return {
      kind: 'ClusterNetworkPolicy',
      name: `c${i}`,
      order: n(2),
      stage: r() < 0.3 ? 'audit' : 'enforce',
      ...(r() < 0.6 ? { namespaceSelector: nsSel() } : {}),
      ...(r() < 0.6 ? { podSelector: podSel() } : { podSelector: empty }),
      ingress: Array.from({ length: n(3) }, crule),
      egress: Array.from({ length: n(3) }, crule),
    };
  });
  return { nps, cnps };
}

const recText = (rs: readonly ClusterRecord[]): string[] => rs.map((x) => `${x.kind === 'log' ? 'L' : 'A'} ${x.rule.name}/${x.rule.direction[0]}${x.rule.index}`);
const EXTERNAL: Readonly<Record<Family, readonly string[]>> = { 4: ['192.168.1.9', '192.168.7.7', '10.244.3.5', '8.8.8.8'], 6: ['fd00:244::1:9', '2001:db8::1'] };
const NODE_IP: Readonly<Record<Family, string>> = { 4: '172.30.0.1', 6: 'fd00:30::1' };
const endpoint = (k: string): ExplainEndpoint => ({ ns: k.split('/')[0] as string, pod: k.split('/')[1] as string });

test('compiled profiles, the rendered table and explain agree on random policies', () => {
  let probes = 0;
  let allowed = 0;
  const seeds = Number(process.env["PODNET_ORACLE_SEEDS"] ?? 120);
  for (let seed = 1; seed <= seeds; seed++) {
    const { nps, cnps } = gen(seed);
    const state = stateOf([...modelResources(), ...nps, ...cnps]);
    const p = compileModel(state);
    const r = rng(seed * 7919);
    for (let k = 0; k < 60; k++) {
      const family: Family = r() < 0.7 ? 4 : 6;
      const protocol = (['TCP', 'UDP', 'SCTP'] as const)[Math.floor(r() * 3)] as Protocol;
      const port = [80, 81, 82, 90][Math.floor(r() * 4)] as number;
      const proto = PROTO_NUMBER[protocol];
      const kind = r();
      const from = ALL_PODS[Math.floor(r() * 9)] as string;
      const to = ALL_PODS[Math.floor(r() * 9)] as string;
      const ext = EXTERNAL[family][Math.floor(r() * EXTERNAL[family].length)] as string;
      let compiled: { allowed: boolean; records: string[] };
      let nft: { verdict: string; logs: readonly string[] };
      let ex: ReturnType<typeof explain>;
      // The sender's egress is checked first; a connection it drops never reaches the receiver's ingress rules.
      const both = (a: Verdict, b: Verdict): { allowed: boolean; records: string[] } => ({ allowed: a.allowed && b.allowed, records: [...recText(a.records), ...(a.allowed ? recText(b.records) : [])] });
      let what: string;
      if (kind < 0.6) {
        if (from === to) continue;
        what = `${from} -> ${to}`;
        compiled = both(evaluateEndpoint(p.compiled, ifnameOf(from), 'egress', podIp(to, family), proto, port), evaluateEndpoint(p.compiled, ifnameOf(to), 'ingress', podIp(from, family), proto, port));
        nft = evaluateModel(p.model, { hook: 'forward', iif: ifnameOf(from), oif: ifnameOf(to), family, saddr: podIp(from, family), daddr: podIp(to, family), proto, dport: port });
        ex = family === 4 ? explain(state, endpoint(from), endpoint(to), port, protocol) : explain(state, { ip: podIp(from, 6) }, { ip: podIp(to, 6) }, port, protocol);
      } else if (kind < 0.8) {
        what = `${ext} -> ${to}`;
        const ing = evaluateEndpoint(p.compiled, ifnameOf(to), 'ingress', ext, proto, port);
        compiled = { allowed: ing.allowed, records: recText(ing.records) };
        nft = evaluateModel(p.model, { hook: 'forward', iif: 'eth0', oif: ifnameOf(to), family, saddr: ext, daddr: podIp(to, family), proto, dport: port });
        ex = explain(state, { ip: ext }, family === 4 ? endpoint(to) : { ip: podIp(to, 6) }, port, protocol);
      } else {
        const dst = kind < 0.9 ? ext : NODE_IP[family];
        what = `${from} -> ${dst}`;
        const eg = evaluateEndpoint(p.compiled, ifnameOf(from), 'egress', dst, proto, port);
        compiled = { allowed: eg.allowed, records: recText(eg.records) };
        nft = evaluateModel(p.model, { hook: kind < 0.9 ? 'forward' : 'input', iif: ifnameOf(from), ...(kind < 0.9 ? { oif: 'eth0' } : {}), family, saddr: podIp(from, family), daddr: dst, proto, dport: port });
        ex = explain(state, family === 4 ? endpoint(from) : { ip: podIp(from, 6) }, { ip: dst }, port, protocol);
      }
      assert.ok(parseIp(podIp(from, family)));
      const ctx = `seed ${seed}: ${what} ${port}/${protocol} v${family}`;
      assert.equal(nft.verdict === 'accept', compiled.allowed, `${ctx}: nft vs compiled`);
      assert.equal(ex.allowed, compiled.allowed, `${ctx}: explain vs compiled`);
      assert.deepEqual(nft.logs.map((l) => l.replace(/^pn /, '').trim()), compiled.records, `${ctx}: nft logs vs compiled records`);
      assert.deepEqual(recText([...ex.egress.records, ...(ex.egress.allowed ? ex.ingress.records : [])]), compiled.records, `${ctx}: explain records vs compiled`);
      probes++;
      if (compiled.allowed) allowed++;
    }
  }
  assert.ok(probes > 5000 && allowed > probes * 0.2 && allowed < probes * 0.9, `${probes} probes, ${allowed} allowed: the generator should give a mix`);
});
