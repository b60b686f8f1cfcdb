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
import { modelObjectsYaml } from './conformance/objects.js';
import { ALL_PODS, NAMESPACES, PODS, type Reachability } from './conformance/reachability.js';
import { stateOf } from './state.js';

export { ALL_PODS, NAMESPACES, PODS, Reachability } from './conformance/reachability.js';

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

/** The model as the CNI would have it: every pod on node-1 with its addresses. */
export function modelYaml(): string {
  return modelObjectsYaml((ns, pod) => ({ nodeName: 'node-1', ips: [podIp(`${ns}/${pod}`, 4), podIp(`${ns}/${pod}`, 6)] }));
}

export const modelResources = (): readonly Resource[] => parseResources(modelYaml());

/** The model plus extra YAML (policies), optionally edited. */
export function modelState(extraYaml = '', edit: (rs: Resource[]) => Resource[] = (rs) => rs): PolicyState {
  const extra = extraYaml.trim() === '' ? [] : parseResources(extraYaml);
  return stateOf(edit([...modelResources(), ...extra]));
}

export const localEndpoints = (): LocalEndpoint[] => ALL_PODS.map((k) => ({ namespace: k.split('/')[0] as string, pod: k.split('/')[1] as string, ifname: ifnameOf(k) }));

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
