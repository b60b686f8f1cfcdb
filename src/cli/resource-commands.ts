/**
 * `podnet apply -f`, `podnet delete`, `podnet get`: Kubernetes manifests in, through the agent
 * (which owns the datastore), listings out as tables or as manifests that apply again.
 */
import { readFileSync } from 'node:fs';
import { callRpc, DEFAULT_AGENT_SOCKET } from '../agent/client.js';
import type { PolicyStatusView } from '../agent/rpc-policy.js';
import { CommonErrors, PodnetError } from '../common/errors.js';
import { RESOURCE_KINDS, type Resource, type ResourceKind } from '../model/k8s.js';
import type { ChangeReport } from '../resources/store.js';
import { toManifest } from '../resources/manifest.js';
import { outputOption, parseCommandArgs, socketOption } from './args.js';
import { parseOutputFormat, render, table } from './output.js';

const socketOf = (v: { socket?: string | undefined }): string => v.socket ?? process.env.PODNET_AGENT_SOCKET ?? DEFAULT_AGENT_SOCKET;

const ALIASES: Readonly<Record<string, ResourceKind>> = {
  namespace: 'Namespace', namespaces: 'Namespace', ns: 'Namespace',
  pod: 'Pod', pods: 'Pod', po: 'Pod',
  networkpolicy: 'NetworkPolicy', networkpolicies: 'NetworkPolicy', netpol: 'NetworkPolicy',
  clusternetworkpolicy: 'ClusterNetworkPolicy', clusternetworkpolicies: 'ClusterNetworkPolicy', cnp: 'ClusterNetworkPolicy',
};

export function kindOf(s: string): ResourceKind {
  const k = ALIASES[s.toLowerCase()];
  if (!k) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `unknown resource type ${JSON.stringify(s)} (${Object.keys(ALIASES).join(', ')})`);
  return k;
}

function readInputs(files: readonly string[] | undefined, command: string): string {
  if (!files || files.length === 0) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `usage: podnet ${command} -f FILE|- [-f FILE...]`);
  return files
    .map((f) => {
      try {
        return f === '-' ? readFileSync(0, 'utf8') : readFileSync(f, 'utf8');
      } catch (e) {
        throw new PodnetError(CommonErrors.NOT_FOUND, `cannot read ${f === '-' ? 'standard input' : f}: ${(e as Error).message}`);
      }
    })
    .join('\n---\n');
}

const changeLines = (r: ChangeReport): string => r.results.map((c) => `${c.kind.toLowerCase()}/${c.name} ${c.action}\n`).join('');

/** Waits (bounded) until the local agent's policy table reflects `revision`. */
async function waitProgrammed(socket: string, revision: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000; i++) {
    const s = await callRpc<PolicyStatusView>(socket, 'policy.status');
    if (!s.enabled || s.programmedRevision >= revision) return;
    if (Date.now() > deadline) throw new PodnetError(CommonErrors.TIMEOUT, `the agent had not programmed revision ${revision} after ${timeoutMs} ms (at ${s.programmedRevision}${s.lastError ? `; last error: ${s.lastError}` : ''})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const applyOptions = { ...outputOption, ...socketOption, filename: { type: 'string', short: 'f', multiple: true }, wait: { type: 'boolean' } } as const;

export async function applyCommand(argv: readonly string[]): Promise<string> {
  const { values } = parseCommandArgs(argv, applyOptions);
  const socket = socketOf(values);
  const r = await callRpc<ChangeReport>(socket, 'resources.apply', { text: readInputs(values.filename, 'apply') });
  if (values.wait) await waitProgrammed(socket, r.revision, 30_000);
  return render(r, parseOutputFormat(values.output), () => changeLines(r));
}

export async function deleteCommand(argv: readonly string[]): Promise<string> {
  const { values, positionals } = parseCommandArgs(argv, { ...applyOptions, namespace: { type: 'string', short: 'n' } }, 2);
  const socket = socketOf(values);
  let text: string;
  if (positionals.length > 0) {
    if (values.filename) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, 'give either -f FILE or KIND NAME, not both');
    const [k, name] = positionals;
    if (!k || !name) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, 'usage: podnet delete KIND NAME [-n NAMESPACE] | -f FILE');
    const kind = kindOf(k);
    const namespaced = kind === 'Pod' || kind === 'NetworkPolicy';
    // Only kind and name matter for a delete; the manifest is the smallest valid one.
    text = JSON.stringify(minimal(kind, name, namespaced ? (values.namespace ?? 'default') : undefined));
  } else text = readInputs(values.filename, 'delete');
  const r = await callRpc<ChangeReport>(socket, 'resources.delete', { text });
  if (values.wait) await waitProgrammed(socket, r.revision, 30_000);
  return render(r, parseOutputFormat(values.output), () => changeLines(r));
}

function minimal(kind: ResourceKind, name: string, namespace: string | undefined): Record<string, unknown> {
  const apiVersion = { Namespace: 'v1', Pod: 'v1', NetworkPolicy: 'networking.k8s.io/v1', ClusterNetworkPolicy: 'podnet.io/v1' }[kind];
  const spec = kind === 'NetworkPolicy' ? { podSelector: {} } : kind === 'ClusterNetworkPolicy' ? { order: 0, podSelector: {} } : undefined;
  return { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) }, ...(spec ? { spec } : {}) };
}

const labelText = (l: Readonly<Record<string, string>>): string => Object.entries(l).map(([k, v]) => `${k}=${v}`).join(',') || '<none>';

function columns(kind: ResourceKind, items: readonly Resource[]): string {
  switch (kind) {
    case 'Namespace':
      return table(items.filter((r) => r.kind === 'Namespace'), [{ header: 'NAME', get: (r) => r.name }, { header: 'LABELS', get: (r) => labelText(r.labels) }]);
    case 'Pod':
      return table(items.filter((r) => r.kind === 'Pod'), [
        { header: 'NAMESPACE', get: (r) => r.namespace },
        { header: 'NAME', get: (r) => r.name },
        { header: 'NODE', get: (r) => r.nodeName ?? '-' },
        { header: 'IPS', get: (r) => r.ips.join(',') || '-' },
        { header: 'LABELS', get: (r) => labelText(r.labels) },
      ]);
    case 'NetworkPolicy':
      return table(items.filter((r) => r.kind === 'NetworkPolicy'), [
        { header: 'NAMESPACE', get: (r) => r.namespace },
        { header: 'NAME', get: (r) => r.name },
        { header: 'POD-SELECTOR', get: (r) => labelText(r.podSelector.matchLabels) + (r.podSelector.matchExpressions.length ? ` +${r.podSelector.matchExpressions.length} expr` : '') },
        { header: 'TYPES', get: (r) => r.policyTypes.join(',') },
      ]);
    case 'ClusterNetworkPolicy':
      return table(items.filter((r) => r.kind === 'ClusterNetworkPolicy'), [
        { header: 'NAME', get: (r) => r.name },
        { header: 'ORDER', get: (r) => r.order },
        { header: 'STAGE', get: (r) => r.stage },
        { header: 'INGRESS', get: (r) => r.ingress.length },
        { header: 'EGRESS', get: (r) => r.egress.length },
      ]);
  }
}

export async function getCommand(argv: readonly string[]): Promise<string> {
  const { values, positionals } = parseCommandArgs(argv, { ...outputOption, ...socketOption, namespace: { type: 'string', short: 'n' }, 'all-namespaces': { type: 'boolean', short: 'A' } }, 2);
  const [k, name] = positionals;
  if (!k) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `usage: podnet get KIND [NAME] [-n NAMESPACE | -A] [-o json|yaml] (KIND: ${RESOURCE_KINDS.join(', ')})`);
  const kind = kindOf(k);
  const namespaced = kind === 'Pod' || kind === 'NetworkPolicy';
  const ns = namespaced && !values['all-namespaces'] ? (values.namespace ?? 'default') : undefined;
  const got = await callRpc<{ revision: number; items: Resource[] }>(socketOf(values), 'resources.get', { kind, ...(ns ? { namespace: ns } : {}) });
  const items = name === undefined ? got.items : got.items.filter((r) => r.name === name);
  if (name !== undefined && items.length === 0) throw new PodnetError(CommonErrors.NOT_FOUND, `${kind} ${ns ? `${ns}/` : ''}${name} not found`);
  const format = parseOutputFormat(values.output);
  const manifests = items.map(toManifest);
  const data = name !== undefined ? manifests[0] : { apiVersion: 'v1', kind: 'List', items: manifests };
  return render(data, format, () => (items.length === 0 ? `no ${kind} found${ns ? ` in namespace ${ns}` : ''}\n` : columns(kind, items)));
}
