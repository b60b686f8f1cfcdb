/**
 * Kubernetes NetworkPolicy semantics on the conformance model (x, y, z x a, b, c): the
 * reachability tests of kubernetes/kubernetes test/e2e/network/netpol/network_policy.go, plus
 * endPort and named-port cases. Each probe must agree across the compiled profiles, the rendered
 * nftables table and explain().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Family } from '../../common/ip.js';
import type { Protocol, Resource } from '../../model/k8s.js';
import { matrixDiff, modelState, Reachability } from '../test-fixtures.js';

const np = (name: string, ns: string, spec: string): string => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n${spec}`;
const docs = (...d: string[]): string => d.join('\n---\n');

interface Check {
  readonly port: number;
  readonly protocol?: Protocol;
  readonly expect: Reachability;
  readonly families?: readonly Family[];
}

function check(yaml: string, checks: readonly Check[], edit?: (rs: Resource[]) => Resource[]): void {
  const state = modelState(yaml, edit);
  const diffs = checks.flatMap((c) => (c.families ?? [4, 6]).flatMap((f) => matrixDiff(state, c.expect, c.port, c.protocol ?? 'TCP', f)));
  assert.deepEqual(diffs, []);
}

const allow = (): Reachability => new Reachability(true);

test('no policy: everything is open', () => check('', [{ port: 80, expect: allow() }, { port: 81, protocol: 'UDP', expect: allow() }]));

test("default-deny-ingress: podSelector {} with no ingress isolates every pod of the namespace", () =>
  check(np('deny-ingress', 'x', '  podSelector: {}\n  policyTypes: [Ingress]'), [{ port: 80, expect: allow().expect('*', 'x/*', false) }]));

test('default-deny-ingress without policyTypes (defaulted to Ingress) behaves the same', () =>
  check(np('deny-ingress', 'x', '  podSelector: {}'), [{ port: 80, expect: allow().expect('*', 'x/*', false) }]));

test("default-deny-all: Ingress and Egress with no rules", () =>
  check(np('deny-all', 'x', '  podSelector: {}\n  policyTypes: [Ingress, Egress]'), [
    { port: 80, expect: allow().expect('*', 'x/*', false).expect('x/*', '*', false) },
  ]));

test('allow from pods within the server namespace based on podSelector', () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('x/b', 'x/a', true) },
  ]));

test('allow ingress from pods in all namespaces (namespaceSelector {})', () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {}}]}]'), [{ port: 80, expect: allow() }]));

test('allow only from a different namespace based on namespaceSelector', () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('y/*', 'x/a', true) },
  ]));

test('podSelector with matchExpressions', () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {matchExpressions: [{key: pod, operator: In, values: [b]}]}}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('x/b', 'x/a', true) },
  ]));

test('namespaceSelector with matchExpressions', () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: ns, operator: In, values: [y]}]}}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('y/*', 'x/a', true) },
  ]));

test('podSelector OR namespaceSelector (two peers)', () =>
  check(
    np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: [x]}]}}, {podSelector: {matchLabels: {pod: b}}}]}]'),
    [{ port: 80, expect: allow().expect('x/c', 'x/a', false) }],
  ));

test('podSelector AND namespaceSelector (one peer)', () =>
  check(
    np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: [x]}]}, podSelector: {matchLabels: {pod: b}}}]}]'),
    [{ port: 80, expect: allow().expect('*', 'x/a', false).expect('y/b', 'x/a', true).expect('z/b', 'x/a', true) }],
  ));

test('multiple podSelectors and namespaceSelectors', () =>
  check(
    np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: [x]}]}, podSelector: {matchExpressions: [{key: pod, operator: In, values: [b, c]}]}}]}]'),
    [{ port: 80, expect: allow().expect('*', 'x/a', false).expect('y/b', 'x/a', true).expect('y/c', 'x/a', true).expect('z/b', 'x/a', true).expect('z/c', 'x/a', true) }],
  ));

test('any of several podSelectors', () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}, {podSelector: {matchLabels: {pod: c}}}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('x/b', 'x/a', true).expect('x/c', 'x/a', true) },
  ]));

test('only from one pod of a different namespace (namespaceSelector AND podSelector)', () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}, podSelector: {matchLabels: {pod: a}}}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('y/a', 'x/a', true) },
  ]));

test('ports: only 81 from namespace y', () => {
  const y = np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: 81, protocol: TCP}]}]');
  check(y, [
    { port: 80, expect: allow().expect('*', 'x/a', false) },
    { port: 81, expect: allow().expect('*', 'x/a', false).expect('y/*', 'x/a', true) },
  ]);
});

test('stacked policies with overlapping podSelectors are unioned', () =>
  check(
    docs(
      np('p80', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: 80}]}]'),
      np('p81', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: 81}]}]'),
    ),
    [80, 81].map((port) => ({ port, expect: allow().expect('*', 'x/a', false).expect('y/*', 'x/a', true) })),
  ));

test('allow-all: ingress [{}]', () => check(np('p', 'x', '  podSelector: {}\n  ingress: [{}]'), [{ port: 80, expect: allow() }]));

test('ingress on one named port', () =>
  check(np('p', 'x', '  podSelector: {}\n  ingress: [{ports: [{port: serve-81-tcp}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/*', false) },
    { port: 81, expect: allow() },
    { port: 81, protocol: 'UDP', expect: allow().expect('*', 'x/*', false) },
  ]));

test('ingress from a namespace on one named port', () =>
  check(np('p', 'x', '  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: serve-80-tcp}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/*', false).expect('y/*', 'x/*', true) },
    { port: 81, expect: allow().expect('*', 'x/*', false) },
  ]));

test('egress on one named port (resolved on each destination pod)', () =>
  check(np('p', 'x', '  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{ports: [{port: serve-80-tcp}, {port: 53, protocol: UDP}]}]'), [
    { port: 80, expect: allow() },
    { port: 81, expect: allow().expect('x/*', '*', false) },
    { port: 80, protocol: 'UDP', expect: allow().expect('x/*', '*', false) },
  ]));

test('deny ingress from other namespaces: from podSelector {}', () =>
  check(np('p', 'x', '  podSelector: {}\n  ingress: [{from: [{podSelector: {}}]}]'), [{ port: 80, expect: allow().expect('*', 'x/*', false).expect('x/*', 'x/*', true) }]));

test('deny egress from one pod: policyTypes [Egress], no rules', () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]'), [{ port: 80, expect: allow().expect('x/a', '*', false) }]));

test('deny egress from every pod of a namespace', () =>
  check(np('p', 'x', '  podSelector: {}\n  policyTypes: [Egress]'), [{ port: 80, expect: allow().expect('x/*', '*', false) }]));

test('Ingress and Egress in one policy', () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress, Egress]\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]\n  egress: [{ports: [{port: 80}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('x/b', 'x/a', true) },
    { port: 81, expect: allow().expect('*', 'x/a', false).expect('x/b', 'x/a', true).expect('x/a', '*', false) },
  ]));

test('egress denied on the client side even when the server allows it', () =>
  check(
    docs(
      np('client', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{namespaceSelector: {matchLabels: {ns: y}}}]}]'),
      np('server', 'z', '  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: x}}}]}]'),
    ),
    [{ port: 80, expect: allow().expect('x/a', 'x/*', false).expect('x/a', 'z/*', false).expect('y/*', 'z/*', false).expect('z/*', 'z/*', false) }],
  ));

test('egress to a pod of another namespace (namespaceSelector AND podSelector)', () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{namespaceSelector: {matchLabels: {ns: y}}, podSelector: {matchLabels: {pod: b}}}]}]'), [
    { port: 80, expect: allow().expect('x/a', '*', false).expect('x/a', 'y/b', true) },
  ]));

test('a protocol without a port allows every port of that protocol only', () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{protocol: TCP}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('y/*', 'x/a', true) },
    { port: 81, expect: allow().expect('*', 'x/a', false).expect('y/*', 'x/a', true) },
    { port: 80, protocol: 'UDP', expect: allow().expect('*', 'x/a', false) },
  ]));

test('an ingress allow-all policy takes precedence (union) over a narrower one', () =>
  check(docs(np('narrow', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}], ports: [{port: 80}]}]'), np('all', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{}]')), [
    { port: 80, expect: allow() },
    { port: 81, expect: allow() },
  ]));

test('an egress allow-all policy takes precedence over a narrower one', () =>
  check(
    docs(
      np('narrow', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{podSelector: {matchLabels: {pod: b}}}], ports: [{port: 80}]}]'),
      np('all', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{}]'),
    ),
    [{ port: 81, expect: allow() }],
  ));

test('policies stop being enforced once deleted', () => {
  const p = np('p', 'x', '  podSelector: {}\n  policyTypes: [Ingress]');
  check(p, [{ port: 80, expect: allow().expect('*', 'x/*', false) }]);
  check(p, [{ port: 80, expect: allow() }], (rs) => rs.filter((r) => r.kind !== 'NetworkPolicy'));
});

test('egress to a server in a CIDR block (/32)', () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 10.244.2.2/32}}]}]'), [
    { port: 80, expect: allow().expect('x/a', '*', false).expect('x/a', 'y/b', true), families: [4] },
    { port: 80, expect: allow().expect('x/a', '*', false), families: [6] },
  ]));

test('egress ipBlock except excludes the excepted server', () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.2.2/32]}}]}]'), [
    { port: 80, expect: allow().expect('x/a', 'y/b', false), families: [4] },
  ]));

test('an address in one policy\'s except and another policy\'s cidr is allowed', () =>
  check(
    docs(
      np('except', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.2.2/32]}}]}]'),
      np('allow', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 10.244.2.2/32}}]}]'),
    ),
    [{ port: 80, expect: allow(), families: [4] }],
  ));

test('ingress and egress isolation are independent', () =>
  check(
    docs(
      np('eg', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{podSelector: {matchLabels: {pod: b}}}]}]'),
      np('in', 'x', '  podSelector: {matchLabels: {pod: b}}\n  ingress: [{from: [{podSelector: {matchLabels: {pod: c}}}]}]'),
    ),
    [{ port: 80, expect: allow().expect('x/a', '*', false).expect('*', 'x/b', false).expect('x/c', 'x/b', true) }],
  ));

test("'protocol: SCTP' is not treated as TCP", () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: [{port: 80, protocol: SCTP}]}]'), [
    { port: 80, protocol: 'TCP', expect: allow().expect('*', 'x/a', false) },
    { port: 80, protocol: 'SCTP', expect: allow() },
    { port: 81, protocol: 'SCTP', expect: allow().expect('*', 'x/a', false) },
  ]));

test('TCP is refused when a policy allows only UDP', () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: [{port: 81, protocol: UDP}]}]'), [
    { port: 81, protocol: 'TCP', expect: allow().expect('*', 'x/a', false) },
    { port: 81, protocol: 'UDP', expect: allow() },
  ]));

test('namespaceSelector with the default kubernetes.io/metadata.name label (matchLabels and matchExpressions)', () => {
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('y/*', 'x/a', true) },
  ]);
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [y, z]}]}}]}]'), [
    { port: 80, expect: allow().expect('x/*', 'x/a', false) },
  ]);
});

test('endPort: ingress on a range of ports', () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: 80, endPort: 81}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('y/*', 'x/a', true) },
    { port: 81, expect: allow().expect('*', 'x/a', false).expect('y/*', 'x/a', true) },
    { port: 82, expect: allow().expect('*', 'x/a', false) },
    { port: 80, protocol: 'UDP', expect: allow().expect('*', 'x/a', false) },
  ]));

test('endPort: egress on a range of ports, mixed with a single port', () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{ports: [{port: 79, endPort: 80}, {port: 81, protocol: UDP}]}]'), [
    { port: 80, expect: allow() },
    { port: 81, expect: allow().expect('x/a', '*', false) },
    { port: 81, protocol: 'UDP', expect: allow() },
  ]));

test('named ports resolve per destination pod: a port name served on different numbers', () => {
  // y/b serves "serve-80-tcp" on 81 instead; an egress rule naming it allows 81 to y/b, 80 elsewhere.
  const edit = (rs: Resource[]): Resource[] =>
    rs.map((r) => (r.kind === 'Pod' && r.namespace === 'y' && r.name === 'b' ? { ...r, ports: r.ports.map((p) => (p.name === 'serve-80-tcp' ? { ...p, containerPort: 81 } : p.name === 'serve-81-tcp' ? { ...p, name: 'other' } : p)) } : r));
  const egress = np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{ports: [{port: serve-80-tcp}]}]');
  check(egress, [
    { port: 80, expect: allow().expect('x/a', 'y/b', false) },
    { port: 81, expect: allow().expect('x/a', '*', false).expect('x/a', 'y/b', true) },
  ], edit);
  const ingress = np('p', 'y', '  podSelector: {}\n  ingress: [{ports: [{port: serve-80-tcp}]}]');
  check(ingress, [
    { port: 80, expect: allow().expect('*', 'y/b', false) },
    { port: 81, expect: allow().expect('*', 'y/*', false).expect('*', 'y/b', true) },
  ], edit);
});

test('a named port with the wrong protocol matches nothing', () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: [{port: serve-80-tcp, protocol: UDP}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false) },
    { port: 80, protocol: 'UDP', expect: allow().expect('*', 'x/a', false) },
  ]));

test('from: [] and a missing from both mean every source; ingress: [] allows nothing', () => {
  const all = allow();
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: []}]'), [{ port: 80, expect: all }]);
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: []}]'), [{ port: 80, expect: all }]);
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: []'), [{ port: 80, expect: allow().expect('*', 'x/a', false) }]);
});

test('policyTypes defaulting: egress rules make a policy egress too; egress: [] does not', () => {
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  egress: [{to: [{podSelector: {matchLabels: {pod: b}}}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('x/a', '*', false).expect('x/a', 'x/b', true) },
  ]);
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  egress: []'), [{ port: 80, expect: allow().expect('*', 'x/a', false) }]);
});

test('an egress-only policy leaves ingress open, and ingress rules of a policyTypes [Egress] policy are ignored', () =>
  check(np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]\n  egress: [{}]'), [{ port: 80, expect: allow() }]));

test('label changes take effect: a relabelled pod is selected, a relabelled namespace is admitted', () => {
  const p = np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {team: blue}}}]}]');
  check(p, [{ port: 80, expect: allow().expect('*', 'x/a', false) }]);
  const relabel = (rs: Resource[]): Resource[] =>
    rs.map((r) => (r.kind === 'Namespace' && r.name === 'z' ? { ...r, labels: { ...r.labels, team: 'blue' } } : r.kind === 'Pod' && r.namespace === 'x' && r.name === 'b' ? { ...r, labels: { pod: 'a' } } : r));
  check(p, [{ port: 80, expect: allow().expect('*', 'x/a', false).expect('*', 'x/b', false).expect('z/*', 'x/a', true).expect('z/*', 'x/b', true) }], relabel);
});
