/**
 * YAML of the conformance model's objects: Namespaces labelled ns=<name> (the parser adds
 * kubernetes.io/metadata.name), Pods labelled pod=<name> whose containers serve 80 and 81 on TCP,
 * UDP and SCTP under the upstream port names (serve-80-tcp …), and NetworkPolicies. Pods carry
 * no node and no addresses unless told: in the lab those come from the CNI ADD.
 */
import type { Protocol } from '../../model/k8s.js';
import { NAMESPACES, PODS } from './reachability.js';

export interface NamedPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: Protocol;
}

/** serve-80-tcp, serve-80-udp, serve-80-sctp, serve-81-tcp, … */
export const MODEL_PORTS: readonly NamedPort[] = [80, 81].flatMap((port) =>
  (['TCP', 'UDP', 'SCTP'] as const).map((protocol) => ({ name: `serve-${port}-${protocol.toLowerCase()}`, port, protocol })),
);

export const docs = (...d: readonly string[]): string => d.filter((x) => x.trim() !== '').join('\n---\n');

const flowMap = (labels: Readonly<Record<string, string>>): string => `{${Object.entries(labels).map(([k, v]) => `${k}: ${v}`).join(', ')}}`;

export const namespaceYaml = (name: string, labels: Readonly<Record<string, string>> = { ns: name }): string =>
  `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}, labels: ${flowMap(labels)}}`;

export interface PodOptions {
  readonly labels?: Readonly<Record<string, string>>;
  /** One container per port ("cont-<port>-<proto>"); default MODEL_PORTS. */
  readonly ports?: readonly NamedPort[];
  readonly nodeName?: string;
  /** status.podIPs */
  readonly ips?: readonly string[];
}

export function podYaml(namespace: string, name: string, o: PodOptions = {}): string {
  const containers = (o.ports ?? MODEL_PORTS)
    .map((p, i) => `  - name: cont-${i}-${p.port}-${p.protocol.toLowerCase()}\n    ports: [{name: ${p.name}, containerPort: ${p.port}, protocol: ${p.protocol}}]`)
    .join('\n');
  const lines = [`apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: ${namespace}, labels: ${flowMap(o.labels ?? { pod: name })}}`, 'spec:'];
  if (o.nodeName !== undefined) lines.push(`  nodeName: ${o.nodeName}`);
  lines.push(`  containers:\n${containers}`);
  if (o.ips?.length) lines.push(`status:\n  podIPs: [${o.ips.map((ip) => `{ip: "${ip}"}`).join(', ')}]`);
  return lines.join('\n');
}

/** The model's Namespaces and Pods as applied objects (no nodes, no addresses). */
export function modelObjectsYaml(pod: (namespace: string, name: string) => PodOptions = () => ({})): string {
  return docs(...NAMESPACES.map((ns) => namespaceYaml(ns)), ...NAMESPACES.flatMap((ns) => PODS.map((p) => podYaml(ns, p, pod(ns, p)))));
}

export const netpol = (name: string, namespace: string, spec: string): string =>
  `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec:\n${spec}`;
