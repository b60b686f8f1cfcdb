/**
 * The NetworkPolicy conformance cases as data: the reachability tests of kubernetes/kubernetes
 * test/e2e/network/netpol/network_policy.go ported to the x/y/z model, plus endPort and named-port
 * cases. Each case is a list of steps over the model (see objects.ts); the resources accumulate
 * from one step to the next, keyed by (kind, namespace, name): a step first deletes what `delete`
 * names, then applies `apply` (an object with a key already present replaces it; a Pod keeps the
 * node and addresses its CNI ADD gave it), then every check's 9x9 matrix must equal `expect`.
 *
 * Run by src/policy/compile/netpol.test.ts against the compiler, the rendered nftables table and
 * explain() (pure), and by test/netpol-lab.test.ts over a real two-node datapath.
 *
 * Pod addresses in YAML are written `{{ip4 y/b}}` / `{{ip6 y/b}}` and substituted by the runner
 * (resolveAddresses); every pod address lies in 10.244.0.0/16 in both runners.
 */
import type { Family } from '../../common/ip.js';
import { CommonErrors, PodnetError } from '../../common/errors.js';
import type { Protocol } from '../../model/k8s.js';
import { docs, MODEL_PORTS, namespaceYaml, netpol as np, podYaml } from './objects.js';
import { Reachability } from './reachability.js';

export interface Check {
  readonly port: number;
  /** Default TCP. */
  readonly protocol?: Protocol;
  readonly expect: Reachability;
  /** Default [4, 6]. */
  readonly families?: readonly Family[];
}

export interface Step {
  /** YAML of objects to apply (after the deletes). */
  readonly apply?: string;
  /** YAML of objects to delete (only kind and name count; applied first). */
  readonly delete?: string;
  readonly checks: readonly Check[];
}

export interface Case {
  readonly name: string;
  readonly steps: readonly Step[];
}

const allow = (): Reachability => new Reachability(true);
/** A case of one step. */
const one = (name: string, apply: string, checks: readonly Check[]): Case => ({ name, steps: [{ apply, checks }] });

const ADDRESS_TOKEN = /\{\{ip([46]) ([a-z0-9-]+\/[a-z0-9-]+)\}\}/g;

/** Replaces every `{{ip4 ns/pod}}` / `{{ip6 ns/pod}}` with the pod's address. */
export function resolveAddresses(text: string, addressOf: (pod: string, family: Family) => string | undefined): string {
  return text.replace(ADDRESS_TOKEN, (_m, fam: string, pod: string) => {
    const a = addressOf(pod, fam === '4' ? 4 : 6);
    if (a === undefined) throw new PodnetError(CommonErrors.NOT_FOUND, `no IPv${fam} address for pod ${pod}`);
    return a;
  });
}

// y/b serves "serve-80-tcp" on 81 instead, and its TCP 81 under another name.
const YB_RENAMED = podYaml('y', 'b', {
  ports: MODEL_PORTS.map((p) => (p.name === 'serve-80-tcp' ? { ...p, port: 81 } : p.name === 'serve-81-tcp' ? { ...p, name: 'other' } : p)),
});
const NAMED_EGRESS = np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{ports: [{port: serve-80-tcp}]}]');
const NAMED_INGRESS = np('p', 'y', '  podSelector: {}\n  ingress: [{ports: [{port: serve-80-tcp}]}]');
const DENY_X = np('p', 'x', '  podSelector: {}\n  policyTypes: [Ingress]');
const TEAM_BLUE = np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {team: blue}}}]}]');

export const CASES: readonly Case[] = [
  { name: 'no policy: everything is open', steps: [{ checks: [{ port: 80, expect: allow() }, { port: 81, protocol: 'UDP', expect: allow() }] }] },

  one('default-deny-ingress: podSelector {} with no ingress isolates every pod of the namespace', np('deny-ingress', 'x', '  podSelector: {}\n  policyTypes: [Ingress]'), [
    { port: 80, expect: allow().expect('*', 'x/*', false) },
  ]),

  one('default-deny-ingress without policyTypes (defaulted to Ingress) behaves the same', np('deny-ingress', 'x', '  podSelector: {}'), [{ port: 80, expect: allow().expect('*', 'x/*', false) }]),

  one('default-deny-all: Ingress and Egress with no rules', np('deny-all', 'x', '  podSelector: {}\n  policyTypes: [Ingress, Egress]'), [
    { port: 80, expect: allow().expect('*', 'x/*', false).expect('x/*', '*', false) },
  ]),

  one('allow from pods within the server namespace based on podSelector', np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('x/b', 'x/a', true) },
  ]),

  one('allow ingress from pods in all namespaces (namespaceSelector {})', np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {}}]}]'), [{ port: 80, expect: allow() }]),

  one('allow only from a different namespace based on namespaceSelector', np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('y/*', 'x/a', true) },
  ]),

  one('podSelector with matchExpressions', np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {matchExpressions: [{key: pod, operator: In, values: [b]}]}}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('x/b', 'x/a', true) },
  ]),

  one('namespaceSelector with matchExpressions', np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: ns, operator: In, values: [y]}]}}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('y/*', 'x/a', true) },
  ]),

  one(
    'podSelector OR namespaceSelector (two peers)',
    np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: [x]}]}}, {podSelector: {matchLabels: {pod: b}}}]}]'),
    [{ port: 80, expect: allow().expect('x/c', 'x/a', false) }],
  ),

  one(
    'podSelector AND namespaceSelector (one peer)',
    np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: [x]}]}, podSelector: {matchLabels: {pod: b}}}]}]'),
    [{ port: 80, expect: allow().expect('*', 'x/a', false).expect('y/b', 'x/a', true).expect('z/b', 'x/a', true) }],
  ),

  one(
    'multiple podSelectors and namespaceSelectors',
    np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: [x]}]}, podSelector: {matchExpressions: [{key: pod, operator: In, values: [b, c]}]}}]}]'),
    [{ port: 80, expect: allow().expect('*', 'x/a', false).expect('y/b', 'x/a', true).expect('y/c', 'x/a', true).expect('z/b', 'x/a', true).expect('z/c', 'x/a', true) }],
  ),

  one('any of several podSelectors', np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}, {podSelector: {matchLabels: {pod: c}}}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('x/b', 'x/a', true).expect('x/c', 'x/a', true) },
  ]),

  one('only from one pod of a different namespace (namespaceSelector AND podSelector)', np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}, podSelector: {matchLabels: {pod: a}}}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('y/a', 'x/a', true) },
  ]),

  one('ports: only 81 from namespace y', np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: 81, protocol: TCP}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false) },
    { port: 81, expect: allow().expect('*', 'x/a', false).expect('y/*', 'x/a', true) },
  ]),

  one(
    'stacked policies with overlapping podSelectors are unioned',
    docs(
      np('p80', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: 80}]}]'),
      np('p81', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: 81}]}]'),
    ),
    [80, 81].map((port) => ({ port, expect: allow().expect('*', 'x/a', false).expect('y/*', 'x/a', true) })),
  ),

  one('allow-all: ingress [{}]', np('p', 'x', '  podSelector: {}\n  ingress: [{}]'), [{ port: 80, expect: allow() }]),

  one('ingress on one named port', np('p', 'x', '  podSelector: {}\n  ingress: [{ports: [{port: serve-81-tcp}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/*', false) },
    { port: 81, expect: allow() },
    { port: 81, protocol: 'UDP', expect: allow().expect('*', 'x/*', false) },
  ]),

  one('ingress from a namespace on one named port', np('p', 'x', '  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: serve-80-tcp}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/*', false).expect('y/*', 'x/*', true) },
    { port: 81, expect: allow().expect('*', 'x/*', false) },
  ]),

  one('egress on one named port (resolved on each destination pod)', np('p', 'x', '  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{ports: [{port: serve-80-tcp}, {port: 53, protocol: UDP}]}]'), [
    { port: 80, expect: allow() },
    { port: 81, expect: allow().expect('x/*', '*', false) },
    { port: 80, protocol: 'UDP', expect: allow().expect('x/*', '*', false) },
  ]),

  one('deny ingress from other namespaces: from podSelector {}', np('p', 'x', '  podSelector: {}\n  ingress: [{from: [{podSelector: {}}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/*', false).expect('x/*', 'x/*', true) },
  ]),

  one('deny egress from one pod: policyTypes [Egress], no rules', np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]'), [{ port: 80, expect: allow().expect('x/a', '*', false) }]),

  one('deny egress from every pod of a namespace', np('p', 'x', '  podSelector: {}\n  policyTypes: [Egress]'), [{ port: 80, expect: allow().expect('x/*', '*', false) }]),

  one('Ingress and Egress in one policy', np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress, Egress]\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]\n  egress: [{ports: [{port: 80}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('x/b', 'x/a', true) },
    { port: 81, expect: allow().expect('*', 'x/a', false).expect('x/b', 'x/a', true).expect('x/a', '*', false) },
  ]),

  one(
    'egress denied on the client side even when the server allows it',
    docs(
      np('client', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{namespaceSelector: {matchLabels: {ns: y}}}]}]'),
      np('server', 'z', '  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: x}}}]}]'),
    ),
    [{ port: 80, expect: allow().expect('x/a', 'x/*', false).expect('x/a', 'z/*', false).expect('y/*', 'z/*', false).expect('z/*', 'z/*', false) }],
  ),

  one('egress to a pod of another namespace (namespaceSelector AND podSelector)', np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{namespaceSelector: {matchLabels: {ns: y}}, podSelector: {matchLabels: {pod: b}}}]}]'), [
    { port: 80, expect: allow().expect('x/a', '*', false).expect('x/a', 'y/b', true) },
  ]),

  one('a protocol without a port allows every port of that protocol only', np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{protocol: TCP}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('y/*', 'x/a', true) },
    { port: 81, expect: allow().expect('*', 'x/a', false).expect('y/*', 'x/a', true) },
    { port: 80, protocol: 'UDP', expect: allow().expect('*', 'x/a', false) },
  ]),

  one(
    'an ingress allow-all policy takes precedence (union) over a narrower one',
    docs(np('narrow', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}], ports: [{port: 80}]}]'), np('all', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{}]')),
    [
      { port: 80, expect: allow() },
      { port: 81, expect: allow() },
    ],
  ),

  one(
    'an egress allow-all policy takes precedence over a narrower one',
    docs(
      np('narrow', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{podSelector: {matchLabels: {pod: b}}}], ports: [{port: 80}]}]'),
      np('all', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{}]'),
    ),
    [{ port: 81, expect: allow() }],
  ),

  {
    name: 'policies stop being enforced once deleted',
    steps: [
      { apply: DENY_X, checks: [{ port: 80, expect: allow().expect('*', 'x/*', false) }] },
      { delete: DENY_X, checks: [{ port: 80, expect: allow() }] },
    ],
  },

  one('egress to a server in a CIDR block (/32)', np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: "{{ip4 y/b}}/32"}}]}]'), [
    { port: 80, expect: allow().expect('x/a', '*', false).expect('x/a', 'y/b', true), families: [4] },
    { port: 80, expect: allow().expect('x/a', '*', false), families: [6] },
  ]),

  one('egress ipBlock except excludes the excepted server', np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 10.244.0.0/16, except: ["{{ip4 y/b}}/32"]}}]}]'), [
    { port: 80, expect: allow().expect('x/a', 'y/b', false), families: [4] },
  ]),

  one(
    "an address in one policy's except and another policy's cidr is allowed",
    docs(
      np('except', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 10.244.0.0/16, except: ["{{ip4 y/b}}/32"]}}]}]'),
      np('allow', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: "{{ip4 y/b}}/32"}}]}]'),
    ),
    [{ port: 80, expect: allow(), families: [4] }],
  ),

  one(
    'ingress and egress isolation are independent',
    docs(
      np('eg', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{to: [{podSelector: {matchLabels: {pod: b}}}]}]'),
      np('in', 'x', '  podSelector: {matchLabels: {pod: b}}\n  ingress: [{from: [{podSelector: {matchLabels: {pod: c}}}]}]'),
    ),
    [{ port: 80, expect: allow().expect('x/a', '*', false).expect('*', 'x/b', false).expect('x/c', 'x/b', true) }],
  ),

  one("'protocol: SCTP' is not treated as TCP", np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: [{port: 80, protocol: SCTP}]}]'), [
    { port: 80, protocol: 'TCP', expect: allow().expect('*', 'x/a', false) },
    { port: 80, protocol: 'SCTP', expect: allow() },
    { port: 81, protocol: 'SCTP', expect: allow().expect('*', 'x/a', false) },
  ]),

  one('TCP is refused when a policy allows only UDP', np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: [{port: 81, protocol: UDP}]}]'), [
    { port: 81, protocol: 'TCP', expect: allow().expect('*', 'x/a', false) },
    { port: 81, protocol: 'UDP', expect: allow() },
  ]),

  {
    name: 'namespaceSelector with the default kubernetes.io/metadata.name label (matchLabels and matchExpressions)',
    steps: [
      {
        apply: np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}]}]'),
        checks: [{ port: 80, expect: allow().expect('*', 'x/a', false).expect('y/*', 'x/a', true) }],
      },
      {
        apply: np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [y, z]}]}}]}]'),
        checks: [{ port: 80, expect: allow().expect('x/*', 'x/a', false) }],
      },
    ],
  },

  one('endPort: ingress on a range of ports', np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: 80, endPort: 81}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false).expect('y/*', 'x/a', true) },
    { port: 81, expect: allow().expect('*', 'x/a', false).expect('y/*', 'x/a', true) },
    { port: 82, expect: allow().expect('*', 'x/a', false) },
    { port: 80, protocol: 'UDP', expect: allow().expect('*', 'x/a', false) },
  ]),

  one('endPort: egress on a range of ports, mixed with a single port', np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: [{ports: [{port: 79, endPort: 80}, {port: 81, protocol: UDP}]}]'), [
    { port: 80, expect: allow() },
    { port: 81, expect: allow().expect('x/a', '*', false) },
    { port: 81, protocol: 'UDP', expect: allow() },
  ]),

  {
    name: 'named ports resolve per destination pod: a port name served on different numbers',
    steps: [
      // An egress rule naming serve-80-tcp allows 81 to y/b, 80 elsewhere.
      {
        apply: docs(YB_RENAMED, NAMED_EGRESS),
        checks: [
          { port: 80, expect: allow().expect('x/a', 'y/b', false) },
          { port: 81, expect: allow().expect('x/a', '*', false).expect('x/a', 'y/b', true) },
        ],
      },
      {
        delete: NAMED_EGRESS,
        apply: NAMED_INGRESS,
        checks: [
          { port: 80, expect: allow().expect('*', 'y/b', false) },
          { port: 81, expect: allow().expect('*', 'y/*', false).expect('*', 'y/b', true) },
        ],
      },
    ],
  },

  one('a named port with the wrong protocol matches nothing', np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: [{port: serve-80-tcp, protocol: UDP}]}]'), [
    { port: 80, expect: allow().expect('*', 'x/a', false) },
    { port: 80, protocol: 'UDP', expect: allow().expect('*', 'x/a', false) },
  ]),

  {
    name: 'from: [] and a missing from both mean every source; ingress: [] allows nothing',
    steps: [
      { apply: np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: []}]'), checks: [{ port: 80, expect: allow() }] },
      { apply: np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: []}]'), checks: [{ port: 80, expect: allow() }] },
      { apply: np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  ingress: []'), checks: [{ port: 80, expect: allow().expect('*', 'x/a', false) }] },
    ],
  },

  {
    name: 'policyTypes defaulting: egress rules make a policy egress too; egress: [] does not',
    steps: [
      {
        apply: np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  egress: [{to: [{podSelector: {matchLabels: {pod: b}}}]}]'),
        checks: [{ port: 80, expect: allow().expect('*', 'x/a', false).expect('x/a', '*', false).expect('x/a', 'x/b', true) }],
      },
      { apply: np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  egress: []'), checks: [{ port: 80, expect: allow().expect('*', 'x/a', false) }] },
    ],
  },

  one(
    'an egress-only policy leaves ingress open, and ingress rules of a policyTypes [Egress] policy are ignored',
    np('p', 'x', '  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]\n  egress: [{}]'),
    [{ port: 80, expect: allow() }],
  ),

  {
    name: 'label changes take effect: a relabelled pod is selected, a relabelled namespace is admitted',
    steps: [
      { apply: TEAM_BLUE, checks: [{ port: 80, expect: allow().expect('*', 'x/a', false) }] },
      {
        apply: docs(namespaceYaml('z', { ns: 'z', team: 'blue' }), podYaml('x', 'b', { labels: { pod: 'a' } })),
        checks: [{ port: 80, expect: allow().expect('*', 'x/a', false).expect('*', 'x/b', false).expect('z/*', 'x/a', true).expect('z/*', 'x/b', true) }],
      },
    ],
  },
];
