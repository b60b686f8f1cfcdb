/**
 * The nftables rendering: a snapshot of a small table, the base policy (closed until programmed,
 * replies pass, open pods), profile sharing, injection safety, constant chain length, and the
 * incremental form (applying the diff to the old table gives the new one: in the model always,
 * and in the kernel through the real nft binary inside a throw-away network namespace when root).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { isPodnetError } from '../../common/errors.js';
import type { Resource } from '../../model/k8s.js';
import { compileNode } from '../compile/compile-node.js';
import type { CompiledNode, LocalEndpoint, PolicyState } from '../compile/types.js';
import { PolicyErrors } from '../errors.js';
import { parseResources } from '../parse/resources.js';
import { stateOf } from '../state.js';
import { ALL_PODS, ifnameOf, localEndpoints, modelResources, podIp } from '../test-fixtures.js';
import { evaluateModel } from './fake-eval.js';
import { applyOps, buildModel, diffModels, fullScript, type NftModel, opsScript, renderNode, renderUpdate } from './render.js';

const SNAPSHOT_YAML = `apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: web}}
spec: {containers: [{ports: [{name: http, containerPort: 8080}]}]}
status: {podIPs: [{ip: 10.0.0.1}, {ip: "fd00::1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {app: client}}
status: {podIPs: [{ip: 10.0.0.2}, {ip: "fd00::2"}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: x}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: http}]
  - from: [{ipBlock: {cidr: 192.168.0.0/16, except: [192.168.1.0/24]}}]
---
apiVersion: podnet.io/v1
kind: ClusterNetworkPolicy
metadata: {name: guard}
spec:
  order: 1
  podSelector: {}
  egress:
  - {action: Log, to: [{ipBlock: {cidr: 0.0.0.0/0}}], ports: [{port: 53, protocol: UDP}]}
  - {action: Deny, to: [{ipBlock: {cidr: 169.254.169.254/32}}]}
`;

const SNAPSHOT = `
add table inet podnet-policy
delete table inet podnet-policy
table inet podnet-policy {
	set a_i776ca8900887cec7_a4 {
		type ipv4_addr
		flags interval
		elements = {
			192.168.0.0/24,
			192.168.2.0-192.168.255.255
		}
	}
	set a_i776ca8900887cec7_p4 {
		type ipv4_addr . inet_proto . inet_service
		flags interval
		elements = {
			10.0.0.2 . 6 . 8080
		}
	}
	set a_i776ca8900887cec7_a6 {
		type ipv6_addr
		flags interval
	}
	set a_i776ca8900887cec7_p6 {
		type ipv6_addr . inet_proto . inet_service
		flags interval
		elements = {
			fd00::2 . 6 . 8080
		}
	}
	map c_e4dd7b9a9e0ef3ea8_c4 {
		type ipv4_addr . inet_proto . inet_service : verdict
		flags interval
		elements = {
			0.0.0.0-169.254.169.253 . 17 . 53 : jump o_377864e513d6022a,
			169.254.169.254 . 0-16 . 0-65535 : drop,
			169.254.169.254 . 17 . 0-52 : drop,
			169.254.169.254 . 17 . 53 : jump o_3326919da860f7b2,
			169.254.169.254 . 17 . 54-65535 : drop,
			169.254.169.254 . 18-255 . 0-65535 : drop,
			169.254.169.255-255.255.255.255 . 17 . 53 : jump o_377864e513d6022a
		}
	}
	map c_e4dd7b9a9e0ef3ea8_k4 {
		type ipv4_addr : verdict
		flags interval
	}
	map c_e4dd7b9a9e0ef3ea8_c6 {
		type ipv6_addr . inet_proto . inet_service : verdict
		flags interval
	}
	map c_e4dd7b9a9e0ef3ea8_k6 {
		type ipv6_addr : verdict
		flags interval
	}
	map ingress_if {
		type ifname : verdict
		elements = {
			"pn00000000000a" : jump p_i6d073adeff66e779,
			"pn00000000000b" : accept
		}
	}
	map egress_if {
		type ifname : verdict
		elements = {
			"pn00000000000a" : jump p_e746f509a0609de9a,
			"pn00000000000b" : jump p_e746f509a0609de9a
		}
	}
	chain o_377864e513d6022a {
		log prefix "pn L guard/e0 " group 100
		return
	}
	chain o_3326919da860f7b2 {
		log prefix "pn L guard/e0 " group 100
		drop
	}
	chain p_i6d073adeff66e779 {
		ip saddr @a_i776ca8900887cec7_a4 accept
		ip saddr . meta l4proto . th dport @a_i776ca8900887cec7_p4 accept
		ip6 saddr @a_i776ca8900887cec7_a6 accept
		ip6 saddr . meta l4proto . th dport @a_i776ca8900887cec7_p6 accept
		drop
	}
	chain p_e746f509a0609de9a {
		ip daddr . meta l4proto . th dport vmap @c_e4dd7b9a9e0ef3ea8_c4
		ip daddr vmap @c_e4dd7b9a9e0ef3ea8_k4
		ip6 daddr . meta l4proto . th dport vmap @c_e4dd7b9a9e0ef3ea8_c6
		ip6 daddr vmap @c_e4dd7b9a9e0ef3ea8_k6
		accept
	}
	chain fwd_egress {
		type filter hook forward priority -5; policy accept;
		ct state established,related accept
		iifname vmap @egress_if
		iifgroup 1886283124 drop
	}
	chain fwd_ingress {
		type filter hook forward priority 0; policy accept;
		ct state established,related accept
		oifname vmap @ingress_if
		oifgroup 1886283124 drop
	}
	chain in_egress {
		type filter hook input priority 0; policy accept;
		ct state established,related accept
		iifgroup 1886283124 icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } accept
		iifname vmap @egress_if
		iifgroup 1886283124 drop
	}
}
`.slice(1);

const ep = (pod: string, ifname: string): LocalEndpoint => ({ namespace: 'x', pod, ifname });

test('snapshot: one script, named interval sets and concatenations, verdict maps, outcome chains, base chains', () => {
  const node = compileNode(stateOf(parseResources(SNAPSHOT_YAML)), [ep('a', 'pn00000000000a'), ep('b', 'pn00000000000b')]);
  assert.equal(renderNode(node).script, SNAPSHOT);
});

test('base policy: interfaces without an entry are dropped, replies pass, non-pod traffic is untouched', () => {
  const node = compileNode(stateOf(parseResources(SNAPSHOT_YAML)), [ep('a', 'pn00000000000a'), ep('unknown', 'pn00000000000c')]);
  assert.deepEqual(node.problems, ['endpoint pn00000000000c: pod x/unknown is unknown; its traffic stays dropped']);
  const m = buildModel(node);
  const pkt = { family: 4 as const, saddr: '10.0.0.9', daddr: '10.0.0.1', proto: 6, dport: 8080 };
  assert.equal(evaluateModel(m, { ...pkt, hook: 'forward', iif: 'pn00000000000c', oif: 'eth0' }).verdict, 'drop');
  assert.equal(evaluateModel(m, { ...pkt, hook: 'forward', iif: 'eth0', oif: 'pn00000000000c' }).verdict, 'drop');
  assert.equal(evaluateModel(m, { ...pkt, hook: 'forward', iif: 'eth0', oif: 'pn0000000000ff' }).verdict, 'drop', 'a brand-new interface is closed');
  assert.equal(evaluateModel(m, { ...pkt, hook: 'input', iif: 'pn0000000000ff' }).verdict, 'drop');
  assert.equal(evaluateModel(m, { ...pkt, hook: 'input', iif: 'pn0000000000ff', nd: true, family: 6, saddr: 'fe80::1', daddr: 'fe80::2' }).verdict, 'accept', 'neighbour discovery to the node passes');
  assert.equal(evaluateModel(m, { ...pkt, hook: 'forward', iif: 'eth0', oif: 'pn00000000000a' }).verdict, 'drop', 'x/a is isolated');
  assert.equal(evaluateModel(m, { ...pkt, hook: 'forward', iif: 'eth0', oif: 'pn00000000000a', established: true }).verdict, 'accept', 'replies pass');
  assert.equal(evaluateModel(m, { ...pkt, hook: 'forward', iif: 'eth0', oif: 'eth1' }).verdict, 'accept');
  assert.equal(evaluateModel(m, { ...pkt, hook: 'forward', iif: 'eth0', oif: 'pn00000000000a', saddr: '192.168.3.3' }).verdict, 'accept');
  assert.equal(evaluateModel(m, { ...pkt, hook: 'forward', iif: 'eth0', oif: 'pn00000000000a', saddr: '192.168.1.3' }).verdict, 'drop', 'except');
});

test('pods with the same policies share one profile chain; open pods get a plain accept', () => {
  const replicas = parseResources(
    [1, 2, 3, 4].map((i) => `apiVersion: v1\nkind: Pod\nmetadata: {name: web-${i}, namespace: x, labels: {app: web}}\nspec: {containers: [{ports: [{name: http, containerPort: 8080}]}]}\nstatus: {podIP: 10.0.1.${i}}`).join('\n---\n'),
  );
  const state = stateOf([...parseResources(SNAPSHOT_YAML), ...replicas]);
  const eps = [ep('a', 'pn00000000000a'), ep('b', 'pn00000000000b'), ...[1, 2, 3, 4].map((i) => ep(`web-${i}`, `pn00000000010${i}`))];
  const node = compileNode(state, eps);
  const ingress = new Set(node.endpoints.filter((e) => e.pod !== 'b').map((e) => e.ingress));
  assert.equal(ingress.size, 1);
  const m = buildModel(node);
  assert.equal([...m.chains.values()].filter((c) => c.role === 'profile').length, 2);
  assert.equal(m.sets.get('ingress_if')?.elements.get('"pn00000000000b"'), 'accept');
});

test('per-packet work is constant: chains keep the same rules for 1 or 300 policies', () => {
  const chainSizes = (n: number): number[] => {
    const pols = Array.from({ length: n }, (_, i) => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p${i}, namespace: x}\nspec:\n  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.${i % 250}.${Math.floor(i / 250)}.0/24}}], ports: [{port: ${1000 + i}}]}]`);
    const cnps = Array.from({ length: n }, (_, i) => `apiVersion: podnet.io/v1\nkind: ClusterNetworkPolicy\nmetadata: {name: c${i}}\nspec:\n  order: ${i}\n  podSelector: {}\n  ingress: [{action: ${i % 2 ? 'Deny' : 'Log'}, from: [{ipBlock: {cidr: 172.16.${i % 250}.0/24}}], ports: [{port: ${2000 + i}}]}]`);
    const m = buildModel(compileNode(stateOf(parseResources([SNAPSHOT_YAML, ...pols, ...cnps].join('\n---\n'))), [ep('a', 'pn00000000000a'), ep('b', 'pn00000000000b')]));
    return [...m.chains.values()].filter((c) => c.role !== 'outcome').map((c) => c.rules.length).sort();
  };
  assert.deepEqual(chainSizes(300), chainSizes(1));
});

test('nothing unsafe reaches the script', () => {
  assert.throws(() => compileNode(stateOf(modelResources()), [{ namespace: 'x', pod: 'a', ifname: 'pn"; flush ruleset' }]), (e: unknown) => isPodnetError(e, PolicyErrors.POLICY_INVALID_ENDPOINT));
  assert.throws(() => compileNode(stateOf(modelResources()), [ep('a', 'pn00000000000a'), ep('b', 'pn00000000000a')]), (e: unknown) => isPodnetError(e, PolicyErrors.POLICY_INVALID_ENDPOINT));
  assert.throws(() => compileNode(stateOf(modelResources()), [{ ...ep('a', 'pn00000000000a'), addresses: ['10.0.0.1; drop'] }]), (e: unknown) => isPodnetError(e, PolicyErrors.POLICY_INVALID_ENDPOINT));
  const node = compileNode(stateOf(modelResources()), localEndpoints());
  const tampered: CompiledNode = { ...node, endpoints: [{ ...(node.endpoints[0] as CompiledNode['endpoints'][number]), ifname: 'eth0" accept' }] };
  assert.throws(() => buildModel(tampered), (e: unknown) => isPodnetError(e, PolicyErrors.POLICY_RENDER_INVALID));
  const badProfile = new Map(node.profiles);
  const first = node.endpoints[0] as CompiledNode['endpoints'][number];
  const prof = node.profiles.get(first.ingress);
  assert.ok(prof);
  badProfile.set(first.ingress, { ...prof, id: 'x; flush ruleset', isolatedBy: [{ namespace: 'x', name: 'p' }] });
  assert.throws(() => buildModel({ ...node, profiles: badProfile }), (e: unknown) => isPodnetError(e, PolicyErrors.POLICY_RENDER_INVALID));
});

// ---- incremental updates -------------------------------------------------------------------

const np = (name: string, ns: string, spec: string): string => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n${spec}`;
const cnp = (name: string, spec: string): string => `apiVersion: podnet.io/v1\nkind: ClusterNetworkPolicy\nmetadata: {name: ${name}}\nspec:\n${spec}`;
const podD = `apiVersion: v1\nkind: Pod\nmetadata: {name: d, namespace: x, labels: {pod: b}}\nspec: {containers: [{ports: [{name: serve-80-tcp, containerPort: 80}]}]}\nstatus: {podIPs: [{ip: 10.244.1.4}, {ip: "fd00:244::1:4"}]}`;

interface Step {
  readonly name: string;
  readonly state: PolicyState;
  readonly endpoints: readonly LocalEndpoint[];
}

function steps(): Step[] {
  const base = [...modelResources()];
  const denyAll = np('deny-all', 'x', '  podSelector: {}\n  policyTypes: [Ingress, Egress]');
  const fromY = (port: string): string => np('from-y', 'x', `  podSelector: {matchLabels: {pod: b}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: ${port}}]}]\n  egress: [{to: [{podSelector: {}}]}]`);
  const guard = cnp('guard', '  order: 1\n  namespaceSelector: {matchLabels: {ns: x}}\n  ingress:\n  - {action: Log, from: [{namespaceSelector: {matchLabels: {ns: z}}}]}\n  - {action: Deny, from: [{ipBlock: {cidr: 10.244.3.0/24}}], ports: [{port: 81}]}\n  - {action: Allow, from: [{ipBlock: {cidr: "fd00:244::3:0/112"}}]}');
  const audit = cnp('audit', '  order: 2\n  stage: audit\n  podSelector: {}\n  egress: [{action: Deny, to: [{ipBlock: {cidr: 10.244.2.0/24}}]}]');
  const eps = localEndpoints();
  const withD = [...eps, { namespace: 'x', pod: 'd', ifname: 'pn0000000000dd' }];
  const rs = (...yaml: string[]): Resource[] => [...base, ...parseResources(yaml.join('\n---\n'))];
  const relabelY = (list: Resource[]): Resource[] => list.map((r) => (r.kind === 'Namespace' && r.name === 'y' ? { ...r, labels: { ...r.labels, ns: 'y2' } } : r));
  return [
    { name: 'open', state: stateOf(base), endpoints: eps },
    { name: 'policies', state: stateOf(rs(denyAll, fromY('serve-80-tcp'))), endpoints: eps },
    { name: 'pod added', state: stateOf(rs(denyAll, fromY('serve-80-tcp'), podD)), endpoints: withD },
    { name: 'policy changed', state: stateOf(rs(denyAll, fromY('81'), podD)), endpoints: withD },
    { name: 'namespace relabelled', state: stateOf(relabelY(rs(denyAll, fromY('81'), podD))), endpoints: withD },
    { name: 'cluster policies', state: stateOf(rs(denyAll, fromY('81'), podD, guard, audit)), endpoints: withD },
    { name: 'policy and pod removed', state: stateOf(rs(fromY('81'), guard, audit)), endpoints: eps.filter((e) => e.pod !== 'a' || e.namespace !== 'x') },
    { name: 'all removed', state: stateOf(base), endpoints: eps },
  ];
}

/** A model as comparable data. */
function canon(m: NftModel): unknown {
  return {
    sets: [...m.sets.values()].map((s) => ({ ...s, elements: [...s.elements].sort() })).sort((a, b) => (a.name < b.name ? -1 : 1)),
    chains: [...m.chains.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
  };
}

test('incremental: applying each diff to the old table gives the new one, with no table-wide flush', () => {
  const ss = steps();
  let prev = buildModel(compileNode((ss[0] as Step).state, (ss[0] as Step).endpoints));
  for (const s of ss.slice(1)) {
    const next = renderUpdate(prev, compileNode(s.state, s.endpoints));
    assert.deepEqual(canon(applyOps(prev, next.ops)), canon(next.model), s.name);
    assert.doesNotMatch(next.script, /flush (table|ruleset)|delete table/, s.name);
    assert.deepEqual(diffModels(next.model, next.model), [], `${s.name}: no change, no ops`);
    if (s.name === 'pod added') {
      // The new pod shares its profiles: only elements change (its map entries, and its address in peers'
      // sets, where it may widen an address range: that range element is replaced in the same transaction).
      assert.deepEqual([...new Set(next.ops.map((o) => o.kind))].sort(), ['add-elements', 'delete-elements']);
      assert.ok(next.script.includes('add element inet podnet-policy ingress_if { "pn0000000000dd" : jump p_'), next.script);
    }
    prev = next.model;
  }
  assert.equal(opsScript([]), '');
});

// ---- the real nft binary, in a namespace of our own ------------------------------------------

function canRunNft(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

class Netns {
  readonly name = `pnpol-${process.pid}-${Math.floor(Math.random() * 1e9)}`;
  constructor() {
    execFileSync('ip', ['netns', 'add', this.name]);
  }
  nft(args: string[], input?: string): string {
    return execFileSync('ip', ['netns', 'exec', this.name, 'nft', ...args], { input: input ?? '', encoding: 'utf8', maxBuffer: 256 << 20 });
  }
  close(): void {
    execFileSync('ip', ['netns', 'del', this.name]);
  }
}

/** `nft -j list table` without handles, elements sorted, rules in chain order. */
function listing(ns: Netns): unknown {
  const j = JSON.parse(ns.nft(['-j', 'list', 'table', 'inet', 'podnet-policy'])) as { nftables: Record<string, Record<string, unknown>>[] };
  const strip = (o: Record<string, unknown>): Record<string, unknown> => {
    const { handle: _h, ...rest } = o;
    return rest;
  };
  const objs: string[] = [];
  const rules = new Map<string, string[]>();
  for (const item of j.nftables) {
    const [kind, body] = Object.entries(item)[0] as [string, Record<string, unknown>];
    if (kind === 'metainfo') continue;
    if (kind === 'rule') {
      const chain = String(body['chain']);
      rules.set(chain, [...(rules.get(chain) ?? []), JSON.stringify(strip(body))]);
      continue;
    }
    const b = strip(body);
    if (Array.isArray(b['elem'])) b['elem'] = (b['elem'] as unknown[]).map((e) => JSON.stringify(e)).sort();
    objs.push(`${kind} ${JSON.stringify(b)}`);
  }
  return { objs: objs.sort(), rules: [...rules].sort(([a], [b]) => (a < b ? -1 : 1)) };
}

test('nft 1.0.6 accepts the full script (nft -c) and every incremental script, and the results equal fresh loads', { skip: !canRunNft() && 'needs root and nft' }, () => {
  const ss = steps();
  const live = new Netns();
  const fresh = new Netns();
  try {
    let prev = buildModel(compileNode((ss[0] as Step).state, (ss[0] as Step).endpoints));
    live.nft(['-c', '-f', '-'], fullScript(prev));
    live.nft(['-f', '-'], fullScript(prev));
    for (const s of ss.slice(1)) {
      const next = renderUpdate(prev, compileNode(s.state, s.endpoints));
      fresh.nft(['-c', '-f', '-'], fullScript(next.model));
      fresh.nft(['-f', '-'], fullScript(next.model));
      if (next.script !== '') live.nft(['-f', '-'], next.script);
      assert.deepEqual(listing(live), listing(fresh), s.name);
      prev = next.model;
    }
    // A full reload over an existing table is one transaction too.
    live.nft(['-f', '-'], fullScript(prev));
    assert.deepEqual(listing(live), listing(fresh));
  } finally {
    live.close();
    fresh.close();
  }
});

test('the rendered table behaves like the compiled profiles for every pod pair of the last steps (fake datapath)', () => {
  const s = steps()[5] as Step;
  const m = buildModel(compileNode(s.state, s.endpoints));
  let accepted = 0;
  for (const f of ALL_PODS) {
    for (const t of ALL_PODS) {
      if (f === t) continue;
      const v = evaluateModel(m, { hook: 'forward', iif: ifnameOf(f), oif: ifnameOf(t), family: 4, saddr: podIp(f), daddr: podIp(t), proto: 6, dport: 80 });
      if (v.verdict === 'accept') accepted++;
    }
  }
  assert.ok(accepted > 0 && accepted < 72);
});
