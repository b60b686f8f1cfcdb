/** Parsing and validation: normalisation, Kubernetes defaulting, and every error path with its field path and reason. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../../common/errors.js';
import type { ClusterNetworkPolicy, NetworkPolicy, Pod } from '../../model/k8s.js';
import { PolicyErrors, PolicyValidationError, type PolicyIssue } from '../errors.js';
import { parseResourceObjects, parseResources, parseResourcesText } from './resources.js';

const NP = (spec: string, meta = '{name: p, namespace: x}'): string => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: ${meta}\nspec:\n${spec}`;
const CNP = (spec: string, meta = '{name: c}'): string => `apiVersion: podnet.io/v1\nkind: ClusterNetworkPolicy\nmetadata: ${meta}\nspec:\n${spec}`;
const POD = (rest: string, meta = '{name: a, namespace: x}'): string => `apiVersion: v1\nkind: Pod\nmetadata: ${meta}\n${rest}`;

function issues(text: string): PolicyIssue[] {
  const r = parseResourcesText(text);
  assert.equal(r.ok, false, 'expected the file to be rejected');
  return r.ok ? [] : [...r.issues];
}

/** Asserts that text is rejected with exactly one issue of this code and path, whose reason contains `reason`. */
function rejects(text: string, code: string, path: string, reason: string): void {
  const list = issues(text);
  assert.equal(list.length, 1, JSON.stringify(list, null, 1));
  const i = list[0] as PolicyIssue;
  assert.equal(i.code, code, JSON.stringify(i));
  assert.equal(i.path, path, JSON.stringify(i));
  assert.ok(i.reason.includes(reason), `reason ${JSON.stringify(i.reason)} lacks ${JSON.stringify(reason)}`);
}

test('a NetworkPolicy is normalised: defaults, canonical CIDRs, empty and missing alike', () => {
  const [p] = parseResources(
    NP(`  podSelector: {matchExpressions: [{key: app, operator: In, values: [b, a, a]}]}
  ingress:
  - from: [{ipBlock: {cidr: 10.1.2.3/16, except: [10.1.5.7/24]}}, {namespaceSelector: {}, podSelector: {matchLabels: {r: "1"}}}]
    ports: [{port: 80}, {port: http, protocol: UDP}, {protocol: SCTP}, {port: 1000, endPort: 2000}]
  - null
  - from: []
  egress: []`),
  ) as [NetworkPolicy];
  assert.deepEqual(p, {
    kind: 'NetworkPolicy',
    namespace: 'x',
    name: 'p',
    podSelector: { matchLabels: {}, matchExpressions: [{ key: 'app', operator: 'In', values: ['a', 'b'] }] },
    policyTypes: ['Ingress'],
    ingress: [
      {
        peers: [{ ipBlock: { cidr: '10.1.0.0/16', except: ['10.1.5.0/24'] } }, { namespaceSelector: { matchLabels: {}, matchExpressions: [] }, podSelector: { matchLabels: { r: '1' }, matchExpressions: [] } }],
        ports: [{ protocol: 'TCP', port: 80 }, { protocol: 'UDP', port: 'http' }, { protocol: 'SCTP' }, { protocol: 'TCP', port: 1000, endPort: 2000 }],
      },
      { peers: [], ports: [] },
      { peers: [], ports: [] },
    ],
    egress: [],
  });
});

test('policyTypes defaulting: Egress joins when spec.egress has rules; explicit lists are kept (in canonical order)', () => {
  const types = (spec: string): readonly string[] => (parseResources(NP(spec))[0] as NetworkPolicy).policyTypes;
  assert.deepEqual(types('  podSelector: {}'), ['Ingress']);
  assert.deepEqual(types('  podSelector: {}\n  egress: [{}]'), ['Ingress', 'Egress']);
  assert.deepEqual(types('  podSelector: {}\n  egress: []'), ['Ingress']);
  assert.deepEqual(types('  podSelector: {}\n  policyTypes: [Egress]\n  ingress: [{}]'), ['Egress']);
  assert.deepEqual(types('  podSelector: {}\n  policyTypes: [Egress, Ingress]'), ['Ingress', 'Egress']);
  assert.deepEqual(types('  podSelector: {}\n  policyTypes: []\n  egress: [{}]'), ['Ingress', 'Egress']);
});

test('a missing or null podSelector selects every pod (Go decodes it to {})', () => {
  const p = parseResources(NP('  podSelector: null\n  ingress: [{}]'))[0] as NetworkPolicy;
  assert.deepEqual(p.podSelector, { matchLabels: {}, matchExpressions: [] });
  const q = parseResources(NP('  ingress: [{}]'))[0] as NetworkPolicy;
  assert.deepEqual(q.podSelector, { matchLabels: {}, matchExpressions: [] });
});

test('Namespaces get kubernetes.io/metadata.name; Pods keep ports, node and IPs (podIPs, or podIP)', () => {
  const rs = parseResources(`apiVersion: v1
kind: Namespace
metadata: {name: x, labels: {team: a, kubernetes.io/metadata.name: wrong}}
---
${POD(`spec:
  nodeName: node-1
  containers:
  - name: c
    image: busybox
    ports: [{name: http, containerPort: 8080}, {containerPort: 53, protocol: UDP}]
  - ports: [{name: metrics, containerPort: 9090, protocol: TCP}]
status: {podIPs: [{ip: 10.0.0.5}, {ip: "FD00:0::5"}], phase: Running}`)}
---
${POD('status: {podIP: 10.0.0.6}', '{name: b}')}`);
  assert.deepEqual(rs[0], { kind: 'Namespace', name: 'x', labels: { team: 'a', 'kubernetes.io/metadata.name': 'x' } });
  assert.deepEqual(rs[1], {
    kind: 'Pod',
    namespace: 'x',
    name: 'a',
    labels: {},
    nodeName: 'node-1',
    ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { containerPort: 53, protocol: 'UDP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }],
    ips: ['10.0.0.5', 'fd00::5'],
  } satisfies Pod);
  assert.deepEqual(rs[2], { kind: 'Pod', namespace: 'default', name: 'b', labels: {}, ports: [], ips: ['10.0.0.6'] });
});

test('a ClusterNetworkPolicy is normalised: stage defaults to enforce, rules keep their actions', () => {
  const [c] = parseResources(CNP('  order: 5\n  podSelector: {}\n  ingress: [{action: Deny, from: [{podSelector: {matchLabels: {a: b}}}]}]\n  egress: [{action: Pass, ports: [{port: 53, protocol: UDP}]}]')) as [ClusterNetworkPolicy];
  assert.deepEqual(c, {
    kind: 'ClusterNetworkPolicy',
    name: 'c',
    order: 5,
    stage: 'enforce',
    podSelector: { matchLabels: {}, matchExpressions: [] },
    ingress: [{ action: 'Deny', peers: [{ podSelector: { matchLabels: { a: 'b' }, matchExpressions: [] } }], ports: [] }],
    egress: [{ action: 'Pass', peers: [], ports: [{ protocol: 'UDP', port: 53 }] }],
  });
});

test('multi-document YAML, JSON, kind: List and <Kind>List, empty documents skipped', () => {
  const json = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } }] });
  assert.deepEqual(parseResources(json).map((r) => r.kind === 'Namespace' && r.name), ['a', 'b']);
  const yaml = `---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: c}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicyList\nitems:\n- ${NP('    podSelector: {}').replace(/\n/g, '\n  ')}\n`;
  assert.deepEqual(parseResources(yaml).map((r) => r.kind), ['Namespace', 'NetworkPolicy']);
  assert.deepEqual(parseResources(''), []);
  const objs = parseResourceObjects([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'q' } }]);
  assert.ok(objs.ok && objs.resources.length === 1);
});

test('a file with one bad object is rejected whole, with every issue and the first one\'s code', () => {
  const text = `apiVersion: v1\nkind: Namespace\nmetadata: {name: good}\n---\n${NP('  podSelector: {}\n  ingress: [{from: [{}, {ipBlock: {cidr: 10.1.0.0/16, except: [10.0.0.0/8]}}]}]')}\n---\n${POD('status: {podIP: nope}', '{name: z}')}`;
  const r = parseResourcesText(text);
  assert.equal(r.ok, false);
  assert.throws(
    () => parseResources(text),
    (e: unknown) => {
      assert.ok(e instanceof PolicyValidationError);
      assert.ok(isPodnetError(e, PolicyErrors.POLICY_MISSING_FIELD));
      assert.deepEqual(
        e.issues.map((i) => `${i.document} ${i.code} ${i.path}: ${i.reason}`),
        [
          '1 POLICY_MISSING_FIELD spec.ingress[0].from[0]: must specify a peer (podSelector, namespaceSelector or ipBlock)',
          '1 POLICY_INVALID_FIELD spec.ingress[0].from[1].ipBlock.except[0]: 10.0.0.0/8 is not inside cidr 10.1.0.0/16',
          '2 POLICY_INVALID_FIELD status.podIP: "nope" is not a valid IP address',
        ],
      );
      assert.match(e.message, /^3 problems, nothing applied: document 2: spec\.ingress\[0\]\.from\[0\]: must specify a peer/);
      return true;
    },
  );
});

test('documents: syntax errors, duplicate keys, non-objects, bad Lists', () => {
  assert.equal(issues('a: [1, 2')[0]?.code, PolicyErrors.POLICY_BAD_DOCUMENT);
  const dup = issues('apiVersion: v1\nkind: Namespace\nkind: Namespace\nmetadata: {name: a}');
  assert.equal(dup[0]?.code, PolicyErrors.POLICY_BAD_DOCUMENT);
  assert.match(dup[0]?.reason ?? '', /unique/i);
  rejects('- 1\n- 2', PolicyErrors.POLICY_BAD_DOCUMENT, '', 'must be an object');
  rejects('just text', PolicyErrors.POLICY_BAD_DOCUMENT, '', 'must be an object');
  rejects('apiVersion: v1\nkind: List\nitems: 3', PolicyErrors.POLICY_INVALID_FIELD, 'items', 'must be a list');
  rejects('apiVersion: v1\nkind: List\nitems: [3]', PolicyErrors.POLICY_BAD_DOCUMENT, 'items[0]', 'must be an object');
  rejects('apiVersion: v1\nkind: List\nitems: [{kind: List}]', PolicyErrors.POLICY_INVALID_FIELD, 'items[0].kind', 'another List');
  rejects('apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Namespace, metadata: {name: A}}]', PolicyErrors.POLICY_INVALID_FIELD, 'items[0].metadata.name', 'lower case');
});

test('kinds and apiVersions', () => {
  rejects('apiVersion: v1\nmetadata: {name: a}', PolicyErrors.POLICY_MISSING_FIELD, 'kind', 'required');
  rejects('apiVersion: v1\nkind: Service\nmetadata: {name: a}', PolicyErrors.POLICY_UNKNOWN_KIND, 'kind', '"Service" is not supported');
  rejects('kind: Namespace\nmetadata: {name: a}', PolicyErrors.POLICY_UNKNOWN_KIND, 'apiVersion', 'is missing: Namespace is v1');
  rejects('apiVersion: networking.k8s.io/v1beta1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec: {}', PolicyErrors.POLICY_UNKNOWN_KIND, 'apiVersion', 'NetworkPolicy is networking.k8s.io/v1');
  rejects('apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}', PolicyErrors.POLICY_DUPLICATE, 'metadata.name', 'Namespace a also appears in document 1');
});

test('metadata', () => {
  rejects('apiVersion: v1\nkind: Namespace', PolicyErrors.POLICY_MISSING_FIELD, 'metadata', 'required');
  rejects('apiVersion: v1\nkind: Namespace\nmetadata: 3', PolicyErrors.POLICY_INVALID_FIELD, 'metadata', 'must be an object');
  rejects('apiVersion: v1\nkind: Namespace\nmetadata: {labels: {}}', PolicyErrors.POLICY_MISSING_FIELD, 'metadata.name', 'required');
  rejects('apiVersion: v1\nkind: Namespace\nmetadata: {name: a.b}', PolicyErrors.POLICY_INVALID_FIELD, 'metadata.name', 'lower case alphanumeric characters or');
  rejects(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${'a'.repeat(64)}}`, PolicyErrors.POLICY_INVALID_FIELD, 'metadata.name', 'no more than 63');
  rejects('apiVersion: v1\nkind: Namespace\nmetadata: {name: a, namespace: b}', PolicyErrors.POLICY_INVALID_FIELD, 'metadata.namespace', 'cluster-scoped');
  rejects(CNP('  order: 1\n  podSelector: {}', '{name: c, namespace: x}'), PolicyErrors.POLICY_INVALID_FIELD, 'metadata.namespace', 'cluster-scoped');
  rejects(NP('  podSelector: {}', '{name: p, namespace: X}'), PolicyErrors.POLICY_INVALID_FIELD, 'metadata.namespace', 'lower case');
  rejects(NP('  podSelector: {}', '{name: p, namespace: ""}'), PolicyErrors.POLICY_MISSING_FIELD, 'metadata.namespace', 'required');
  rejects(NP('  podSelector: {}', '{name: "-p"}'), PolicyErrors.POLICY_INVALID_FIELD, 'metadata.name', 'start and end');
  rejects(NP('  podSelector: {}', `{name: ${'a'.repeat(254)}}`), PolicyErrors.POLICY_INVALID_FIELD, 'metadata.name', 'no more than 253');
  rejects(NP('  podSelector: {}', '{name: p, labels: {app: 1}}'), PolicyErrors.POLICY_INVALID_FIELD, 'metadata.labels.app', 'must be a string, got number 1 (quote it)');
  rejects(NP('  podSelector: {}', '{name: p, labels: {"a/b/c": x}}'), PolicyErrors.POLICY_INVALID_FIELD, 'metadata.labels.a/b/c', "at most one '/'");
  rejects(NP('  podSelector: {}', '{name: p, labels: {app: "-x"}}'), PolicyErrors.POLICY_INVALID_FIELD, 'metadata.labels.app', 'value "-x"');
});

test('label keys and values as Kubernetes checks them', () => {
  const key = (k: string, reason: string): void => rejects(NP(`  podSelector: {matchLabels: {${JSON.stringify(k)}: v}}`), PolicyErrors.POLICY_INVALID_FIELD, `spec.podSelector.matchLabels.${k}`, reason);
  key('/a', 'prefix part must not be empty');
  key('a/', 'name part must not be empty');
  key('Bad_Prefix/a', 'prefix part');
  key(`${'a'.repeat(64)}`, 'no more than 63');
  key('a b', 'alphanumeric');
  key('_a', 'alphanumeric');
  const ok = parseResources(NP('  podSelector: {matchLabels: {"example.com/A_b.c-d": "", "x": "Y.z_1"}}'));
  assert.equal(ok.length, 1);
  rejects(NP(`  podSelector: {matchLabels: {a: ${'v'.repeat(64)}}}`), PolicyErrors.POLICY_INVALID_FIELD, 'spec.podSelector.matchLabels.a', 'no more than 63');
});

test('label selector expressions', () => {
  const sel = (expr: string): string => NP(`  podSelector: {matchExpressions: [${expr}]}`);
  const p = 'spec.podSelector.matchExpressions[0]';
  rejects(sel('{key: a, operator: In}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.values`, 'must be specified when operator is In');
  rejects(sel('{key: a, operator: NotIn, values: []}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.values`, 'must be specified when operator is NotIn');
  rejects(sel('{key: a, operator: Exists, values: [x]}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.values`, 'may not be specified when operator is Exists');
  rejects(sel('{key: a, operator: DoesNotExist, values: [x]}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.values`, 'may not be specified when operator is DoesNotExist');
  rejects(sel('{key: a, operator: Equals, values: [x]}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.operator`, '"Equals" is not a valid selector operator');
  rejects(sel('{key: a, operator: in, values: [x]}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.operator`, 'not a valid selector operator');
  rejects(sel('{operator: Exists}'), PolicyErrors.POLICY_MISSING_FIELD, `${p}.key`, 'required');
  rejects(sel('{key: a}'), PolicyErrors.POLICY_MISSING_FIELD, `${p}.operator`, 'required');
  rejects(sel('{key: "a b", operator: Exists}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.key`, 'alphanumeric');
  rejects(sel('{key: a, operator: In, values: ["-x"]}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.values[0]`, '"-x"');
  rejects(sel('{key: a, operator: In, values: [1]}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.values[0]`, 'must be a string');
  rejects(sel('{key: a, operator: In, values: [null]}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.values[0]`, 'must be a string');
  rejects(sel('{key: a, operator: In, values: x}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.values`, 'must be a list');
  rejects(sel('{key: a, operator: Exists, value: [x]}'), PolicyErrors.POLICY_UNKNOWN_FIELD, `${p}.value`, 'unknown field');
  rejects(sel('null'), PolicyErrors.POLICY_INVALID_FIELD, p, 'must be an object');
  rejects(sel('3'), PolicyErrors.POLICY_INVALID_FIELD, p, 'must be an object');
  rejects(NP('  podSelector: {matchLabel: {a: b}}'), PolicyErrors.POLICY_UNKNOWN_FIELD, 'spec.podSelector.matchLabel', 'unknown field');
  rejects(NP('  podSelector: {matchExpressions: {key: a}}'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.podSelector.matchExpressions', 'must be a list');
  rejects(NP('  podSelector: []'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.podSelector', 'must be an object, got a list');
});

test('NetworkPolicy spec structure', () => {
  rejects('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}', PolicyErrors.POLICY_MISSING_FIELD, 'spec', 'required');
  rejects('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: 3', PolicyErrors.POLICY_INVALID_FIELD, 'spec', 'must be an object');
  rejects('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {}\nextra: 1', PolicyErrors.POLICY_UNKNOWN_FIELD, 'extra', 'unknown field');
  rejects(NP('  podselector: {}'), PolicyErrors.POLICY_UNKNOWN_FIELD, 'spec.podselector', 'unknown field');
  rejects(NP('  ingress: {from: []}'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.ingress', 'must be a list');
  rejects(NP('  ingress: [3]'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.ingress[0]', 'must be an object');
  rejects(NP('  ingress: [{to: []}]'), PolicyErrors.POLICY_UNKNOWN_FIELD, 'spec.ingress[0].to', 'unknown field');
  rejects(NP('  egress: [{from: []}]'), PolicyErrors.POLICY_UNKNOWN_FIELD, 'spec.egress[0].from', 'unknown field');
  rejects(NP('  policyTypes: [Ingress, Egress, Ingress]'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.policyTypes', 'more than two');
  rejects(NP('  policyTypes: [ingress]'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.policyTypes[0]', '"ingress" is not supported (Ingress, Egress)');
  rejects(NP('  policyTypes: Ingress'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.policyTypes', 'must be a list');
  assert.equal(parseResources(`${NP('  podSelector: {}')}\nstatus: {}`).length, 1);
});

test('peers', () => {
  const from = (peer: string): string => NP(`  ingress: [{from: [${peer}]}]`);
  const p = 'spec.ingress[0].from[0]';
  rejects(from('{}'), PolicyErrors.POLICY_MISSING_FIELD, p, 'must specify a peer');
  rejects(from('null'), PolicyErrors.POLICY_INVALID_FIELD, p, 'must specify a peer');
  rejects(from('{podSelector: null}'), PolicyErrors.POLICY_MISSING_FIELD, p, 'must specify a peer');
  rejects(from('{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}'), PolicyErrors.POLICY_INVALID_FIELD, p, 'may not specify both ipBlock and another peer');
  rejects(from('{ipBlock: {cidr: 10.0.0.0/8}, namespaceSelector: {}}'), PolicyErrors.POLICY_INVALID_FIELD, p, 'may not specify both ipBlock and another peer');
  // A misspelt selector is reported, and so is the peer it leaves empty.
  assert.deepEqual(
    issues(from('{podselector: {}}')).map((i) => [i.code, i.path]),
    [[PolicyErrors.POLICY_UNKNOWN_FIELD, `${p}.podselector`], [PolicyErrors.POLICY_MISSING_FIELD, p]],
  );
  rejects(from('{ipBlock: {}}'), PolicyErrors.POLICY_MISSING_FIELD, `${p}.ipBlock.cidr`, 'required');
  rejects(from('{ipBlock: 3}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.ipBlock`, 'must be an object');
  rejects(from('{ipBlock: {cidr: 10.0.0.0}}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.ipBlock.cidr`, '"10.0.0.0" is not a valid CIDR');
  rejects(from('{ipBlock: {cidr: 10.0.0.0/33}}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.ipBlock.cidr`, 'not a valid CIDR');
  rejects(from('{ipBlock: {cidr: 8}}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.ipBlock.cidr`, 'must be a string');
  rejects(from('{ipBlock: {cidr: 10.0.0.0/8, exept: []}}'), PolicyErrors.POLICY_UNKNOWN_FIELD, `${p}.ipBlock.exept`, 'unknown field');
  const ex = (except: string, reason: string, code: string = PolicyErrors.POLICY_INVALID_FIELD): void => rejects(from(`{ipBlock: {cidr: 10.1.0.0/16, except: [${except}]}}`), code, `${p}.ipBlock.except[0]`, reason);
  ex('10.0.0.0/8', '10.0.0.0/8 is not inside cidr 10.1.0.0/16');
  ex('10.2.0.0/24', 'is not inside cidr');
  ex('10.1.0.0/16', 'must be a strict subset of cidr 10.1.0.0/16');
  ex('"fd00::/64"', 'not of the same IP family');
  ex('bogus', '"bogus" is not a valid CIDR');
  ex('null', 'must be a CIDR string');
  ex('7', 'must be a string');
  rejects(from('{ipBlock: {cidr: 10.1.0.0/16, except: 10.1.1.0/24}}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.ipBlock.except`, 'must be a list');
  rejects(NP('  ingress: [{from: {podSelector: {}}}]'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.ingress[0].from', 'must be a list');
  const v6 = parseResources(from('{ipBlock: {cidr: "fd00::1/64", except: ["fd00::8000:0:0:0/65"]}}'))[0] as NetworkPolicy;
  assert.deepEqual(v6.ingress[0]?.peers[0]?.ipBlock, { cidr: 'fd00::/64', except: ['fd00::8000:0:0:0/65'] });
});

test('ports', () => {
  const ports = (port: string): string => NP(`  ingress: [{ports: [${port}]}]`);
  const p = 'spec.ingress[0].ports[0]';
  rejects(ports('{protocol: ICMP}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.protocol`, '"ICMP" is not supported (TCP, UDP, SCTP)');
  rejects(ports('{protocol: tcp, port: 80}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.protocol`, 'not supported');
  rejects(ports('{port: 0}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.port`, '0 is out of range 1-65535');
  rejects(ports('{port: 65536}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.port`, 'out of range');
  rejects(ports('{port: 80.5}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.port`, 'must be an integer');
  rejects(ports('{port: "80"}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.port`, '"80" is not a valid port name: must contain at least one letter');
  rejects(ports('{port: "Http"}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.port`, 'lower case');
  rejects(ports('{port: a--b}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.port`, 'consecutive hyphens');
  rejects(ports('{port: "-ab"}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.port`, 'begin or end with a hyphen');
  rejects(ports('{port: abcdefghijklmnop}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.port`, 'no more than 15');
  rejects(ports('{endPort: 90}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.endPort`, 'may not be specified when port is not specified');
  rejects(ports('{port: http, endPort: 90}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.endPort`, 'may not be specified when port is a name');
  rejects(ports('{port: 90, endPort: 80}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.endPort`, '80 must be greater than or equal to port 90');
  rejects(ports('{port: 90, endPort: 70000}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.endPort`, 'out of range');
  rejects(ports('{port: 90, endport: 91}'), PolicyErrors.POLICY_UNKNOWN_FIELD, `${p}.endport`, 'unknown field');
  rejects(ports('null'), PolicyErrors.POLICY_INVALID_FIELD, p, 'must be an object');
  rejects(ports('80'), PolicyErrors.POLICY_INVALID_FIELD, p, 'must be an object');
  rejects(NP('  ingress: [{ports: {port: 80}}]'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.ingress[0].ports', 'must be a list');
});

test('Pod fields', () => {
  const c = (ports: string): string => POD(`spec:\n  containers: [{ports: [${ports}]}]`);
  const p = 'spec.containers[0].ports[0]';
  rejects(c('{name: http}'), PolicyErrors.POLICY_MISSING_FIELD, `${p}.containerPort`, 'required');
  rejects(c('{containerPort: 0}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.containerPort`, 'out of range');
  rejects(c('{containerPort: 80, protocol: ICMP}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.protocol`, 'not supported');
  rejects(c('{containerPort: 80, name: HTTP}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.name`, 'lower case');
  rejects(c('{containerPort: 80, name: 8080}'), PolicyErrors.POLICY_INVALID_FIELD, `${p}.name`, 'must be a string');
  rejects(POD('spec:\n  containers: [{ports: [{containerPort: 80, name: web}]}, {ports: [{containerPort: 81, name: web}]}]'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.containers[1].ports[0].name', 'duplicate port name "web" (also spec.containers[0].ports[0])');
  rejects(POD('spec:\n  containers: {}'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.containers', 'must be a list');
  rejects(POD('spec:\n  containers: [3]'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.containers[0]', 'must be an object');
  rejects(POD('spec:\n  containers: [{ports: [3]}]'), PolicyErrors.POLICY_INVALID_FIELD, p, 'must be an object');
  rejects(POD('spec:\n  nodeName: Node_1'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.nodeName', 'lower case');
  rejects(POD('status: {podIPs: [{ip: 10.0.0.1}, {ip: 10.0.0.2}]}'), PolicyErrors.POLICY_INVALID_FIELD, 'status.podIPs[1].ip', 'at most one IPv4 address');
  rejects(POD('status: {podIPs: [{ip: 10.0.0.300}]}'), PolicyErrors.POLICY_INVALID_FIELD, 'status.podIPs[0].ip', 'not a valid IP address');
  rejects(POD('status: {podIPs: [{}]}'), PolicyErrors.POLICY_MISSING_FIELD, 'status.podIPs[0].ip', 'required');
  rejects(POD('status: {podIPs: [3]}'), PolicyErrors.POLICY_INVALID_FIELD, 'status.podIPs[0]', 'must be an object');
  rejects(POD('status: {podIP: 5}'), PolicyErrors.POLICY_INVALID_FIELD, 'status.podIP', 'must be a string');
  rejects(POD('status: 1'), PolicyErrors.POLICY_INVALID_FIELD, 'status', 'must be an object');
  // Fields podnet does not use are accepted as they are.
  assert.equal(parseResources(POD('spec:\n  restartPolicy: Never\n  containers: [{image: x, env: [{name: A}]}]\nstatus: {phase: Pending}')).length, 1);
});

test('ClusterNetworkPolicy fields', () => {
  rejects(CNP('  podSelector: {}'), PolicyErrors.POLICY_MISSING_FIELD, 'spec.order', 'lower orders are evaluated first');
  rejects(CNP('  order: -1\n  podSelector: {}'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.order', 'out of range');
  rejects(CNP('  order: "1"\n  podSelector: {}'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.order', 'must be an integer');
  rejects(CNP('  order: 1'), PolicyErrors.POLICY_MISSING_FIELD, 'spec', 'one of spec.namespaceSelector or spec.podSelector is required');
  rejects(CNP('  order: 1\n  podSelector: {}\n  stage: dryrun'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.stage', '"dryrun" is not supported (enforce, audit)');
  rejects(CNP('  order: 1\n  podSelector: {}\n  ingress: [{from: []}]'), PolicyErrors.POLICY_MISSING_FIELD, 'spec.ingress[0].action', 'Allow, Deny, Pass, Log');
  rejects(CNP('  order: 1\n  podSelector: {}\n  ingress: [{action: Drop}]'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.ingress[0].action', '"Drop" is not supported');
  rejects(CNP('  order: 1\n  podSelector: {}\n  ingress: [null]'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.ingress[0]', 'must be a rule object');
  rejects(CNP('  order: 1\n  podSelector: {}\n  egress: [{action: Deny, from: []}]'), PolicyErrors.POLICY_UNKNOWN_FIELD, 'spec.egress[0].from', 'unknown field');
  rejects(CNP('  order: 1\n  podSelector: {}\n  priority: 3'), PolicyErrors.POLICY_UNKNOWN_FIELD, 'spec.priority', 'unknown field');
  rejects(CNP('  order: 1\n  namespaceSelector: {matchLabels: {a: "b c"}}'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.namespaceSelector.matchLabels.a', 'value "b c"');
  rejects(CNP('  order: 1\n  podSelector: {}\n  ingress: [{action: Allow, from: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}]}]'), PolicyErrors.POLICY_INVALID_FIELD, 'spec.ingress[0].from[0].ipBlock.except[0]', 'not inside cidr 10.0.0.0/8');
  rejects('apiVersion: podnet.io/v1\nkind: ClusterNetworkPolicy\nmetadata: {name: c}', PolicyErrors.POLICY_MISSING_FIELD, 'spec', 'required');
  rejects('apiVersion: podnet.io/v1\nkind: ClusterNetworkPolicy\nmetadata: {name: c}\nspec: {order: 1, podSelector: {}}\nstatus: {}', PolicyErrors.POLICY_UNKNOWN_FIELD, 'status', 'unknown field');
});
