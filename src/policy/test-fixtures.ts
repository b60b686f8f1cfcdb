/**
 * The standard NetworkPolicy conformance model for unit tests: namespaces x, y, z (labelled
 * ns=<name>), pods a, b, c in each (pod=<name>), serving 80 and 81 on TCP, UDP and SCTP under the
 * upstream names serve-80-tcp etc. Every pod is local to one node with a pn interface, and a probe
 * asks three independent judges: the compiled profiles, the rendered nft table (fake datapath)
 * and explain(); they must agree.
 */
import assert from 'node:assert/strict';
import type { Family } from '../common/ip.js';
import type { Protocol, Resource } from '../model/k8s.js';
import { compileNode } from './compile/compile-node.js';
import { evaluateEndpoint } from './compile/evaluate.js';
import { PROTO_NUMBER } from './compile/space.js';
import type { CompiledNode, LocalEndpoint, PolicyState } from './compile/types.js';
import { explain } from './explain.js';
import { evaluateModel } from './nft/fake-eval.js';
import { buildModel, type NftModel } from './nft/model.js';
import { parseResources } from './parse/resources.js';
import { stateOf } from './state.js';

export const NAMESPACES = ['x', 'y', 'z'] as const;
export const PODS = ['a', 'b', 'c'] as const;
export const ALL_PODS: readonly string[] = NAMESPACES.flatMap((ns) => PODS.map((p) => `${ns}/${p}`));

const nsIndex = (ns: string): number => NAMESPACES.indexOf(ns as (typeof NAMESPACES)[number]);
const podIndex = (p: string): number => PODS.indexOf(p as (typeof PODS)[number]);

export function podIp(key: string, family: Family = 4): string {
  const [ns, pod] = key.split('/') as [string, string];
  return family === 4 ? `10.244.${nsIndex(ns) + 1}.${podIndex(pod) + 1}` : `fd00:244::${nsIndex(ns) + 1}:${podIndex(pod) + 1}`;
}

export function ifnameOf(key: string): string {
  const [ns, pod] = key.split('/') as [string, string];
  return `pn${(nsIndex(ns) * 16 + podIndex(pod) + 1).toString(16).padStart(12, '0')}`;
}

export function modelYaml(): string {
  const docs: string[] = [];
  for (const ns of NAMESPACES) docs.push(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}, labels: {ns: ${ns}}}`);
  const containers = [80, 81]
    .flatMap((port) => ['TCP', 'UDP', 'SCTP'].map((proto) => `  - name: cont-${port}-${proto.toLowerCase()}\n    ports: [{name: serve-${port}-${proto.toLowerCase()}, containerPort: ${port}, protocol: ${proto}}]`))
    .join('\n');
  for (const ns of NAMESPACES) {
    for (const pod of PODS) {
      const key = `${ns}/${pod}`;
      docs.push(
        `apiVersion: v1\nkind: Pod\nmetadata: {name: ${pod}, namespace: ${ns}, labels: {pod: ${pod}}}\nspec:\n  nodeName: node-1\n  containers:\n${containers}\nstatus:\n  podIPs: [{ip: ${podIp(key, 4)}}, {ip: "${podIp(key, 6)}"}]`,
      );
    }
  }
  return docs.join('\n---\n');
}

export const modelResources = (): readonly Resource[] => parseResources(modelYaml());

/** The model plus extra YAML (policies), optionally edited. */
export function modelState(extraYaml = '', edit: (rs: Resource[]) => Resource[] = (rs) => rs): PolicyState {
  const extra = extraYaml.trim() === '' ? [] : parseResources(extraYaml);
  return stateOf(edit([...modelResources(), ...extra]));
}

export const localEndpoints = (): LocalEndpoint[] => ALL_PODS.map((k) => ({ namespace: k.split('/')[0] as string, pod: k.split('/')[1] as string, ifname: ifnameOf(k) }));

/** Expected connectivity, built like the upstream Reachability helper; "x/*", "* /a" and "*" select pods. */
export class Reachability {
  private readonly m = new Map<string, boolean>();
  constructor(defaultAllowed: boolean) {
    for (const f of ALL_PODS) for (const t of ALL_PODS) this.m.set(`${f}>${t}`, defaultAllowed);
  }
  private static sel(s: string): string[] {
    if (s === '*') return [...ALL_PODS];
    const [ns, pod] = s.split('/') as [string, string];
    return ALL_PODS.filter((k) => (ns === '*' || k.startsWith(`${ns}/`)) && (pod === '*' || k.endsWith(`/${pod}`)));
  }
  expect(from: string, to: string, allowed: boolean): this {
    for (const f of Reachability.sel(from)) for (const t of Reachability.sel(to)) this.m.set(`${f}>${t}`, allowed);
    return this;
  }
  get(from: string, to: string): boolean {
    return this.m.get(`${from}>${to}`) as boolean;
  }
}

export interface Probe {
  readonly compiled: CompiledNode;
  readonly model: NftModel;
}

export function compileModel(state: PolicyState): Probe {
  const compiled = compileNode(state, localEndpoints());
  return { compiled, model: buildModel(compiled) };
}

/** One connection through all three judges; throws when they disagree. */
export function probe(state: PolicyState, p: Probe, from: string, to: string, port: number, protocol: Protocol, family: Family = 4): boolean {
  const proto = PROTO_NUMBER[protocol];
  const eg = evaluateEndpoint(p.compiled, ifnameOf(from), 'egress', podIp(to, family), proto, port);
  const ing = evaluateEndpoint(p.compiled, ifnameOf(to), 'ingress', podIp(from, family), proto, port);
  const compiled = eg.allowed && ing.allowed;
  const nft = evaluateModel(p.model, { hook: 'forward', iif: ifnameOf(from), oif: ifnameOf(to), family, saddr: podIp(from, family), daddr: podIp(to, family), proto, dport: port }).verdict === 'accept';
  const [fns, fpod] = from.split('/') as [string, string];
  const [tns, tpod] = to.split('/') as [string, string];
  const ex = family === 4 ? explain(state, { ns: fns, pod: fpod }, { ns: tns, pod: tpod }, port, protocol) : explain(state, { ip: podIp(from, 6) }, { ip: podIp(to, 6) }, port, protocol);
  assert.equal(nft, compiled, `${from} -> ${to} ${port}/${protocol} v${family}: nft ${nft} vs compiled ${compiled}`);
  assert.equal(ex.allowed, compiled, `${from} -> ${to} ${port}/${protocol} v${family}: explain ${ex.allowed} vs compiled ${compiled}`);
  return compiled;
}

/** Probes the 9x9 matrix (the diagonal is loopback inside the pod: not probed) and returns the differences from expected. */
export function matrixDiff(state: PolicyState, expected: Reachability, port: number, protocol: Protocol, family: Family = 4): string[] {
  const p = compileModel(state);
  const diffs: string[] = [];
  for (const f of ALL_PODS) {
    for (const t of ALL_PODS) {
      if (f === t) continue;
      const got = probe(state, p, f, t, port, protocol, family);
      if (got !== expected.get(f, t)) diffs.push(`${f} -> ${t} ${port}/${protocol} v${family}: expected ${expected.get(f, t) ? 'allow' : 'deny'}, got ${got ? 'allow' : 'deny'}`);
    }
  }
  return diffs;
}
