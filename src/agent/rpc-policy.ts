/**
 * The agent's resource and policy RPC methods: `resources.apply|delete|get` (what `podnet apply`,
 * `delete` and `get` call), `policy.status` and `policy.explain` (computed from the datastore's
 * resources alone, not from the kernel).
 */
import { CommonErrors, PodnetError } from '../common/errors.js';
import { PROTOCOLS, type Protocol } from '../model/k8s.js';
import { explain, type ExplainEndpoint, type Explanation } from '../policy/explain.js';
import type { PolicyProgrammer, ProgrammerStatus } from '../policy/program/programmer.js';
import { stateOf } from '../policy/state.js';
import type { ChangeReport, ResourceStore } from '../resources/store.js';
import type { Resource } from '../model/k8s.js';
import type { RpcHandler } from './server.js';

export interface PolicyRpcDeps {
  readonly resources: ResourceStore;
  readonly policy: PolicyProgrammer | undefined;
}

export type PolicyStatusView = ProgrammerStatus & { readonly enabled: boolean };

const invalid = (msg: string): PodnetError => new PodnetError(CommonErrors.INVALID_ARGUMENT, msg);

function obj(params: unknown): Record<string, unknown> {
  return typeof params === 'object' && params !== null && !Array.isArray(params) ? (params as Record<string, unknown>) : {};
}

function text(params: unknown, method: string): string {
  const t = obj(params)['text'];
  if (typeof t !== 'string') throw invalid(`${method} needs the file's text`);
  return t;
}

/** "ns/pod", "pod" (namespace default) or an IP address. */
export function parseEndpoint(s: unknown, what: string): ExplainEndpoint {
  if (typeof s !== 'string' || s === '') throw invalid(`${what} must be NAMESPACE/POD or an IP address`);
  if (/^[0-9a-fA-F:.]+$/.test(s) && (s.includes(':') || /^\d+\.\d+\.\d+\.\d+$/.test(s))) return { ip: s };
  const parts = s.split('/');
  if (parts.length > 2 || parts.some((p) => p === '')) throw invalid(`${what} ${JSON.stringify(s)} must be NAMESPACE/POD or an IP address`);
  return parts.length === 2 ? { ns: parts[0] as string, pod: parts[1] as string } : { ns: 'default', pod: parts[0] as string };
}

/** "80", "80/TCP", "53/udp" (or a bare number). */
export function parsePort(s: unknown): { port: number; protocol: Protocol } {
  const m = typeof s === 'number' ? { port: s, proto: undefined } : typeof s === 'string' ? /^(?<port>\d{1,5})(?:\/(?<proto>[A-Za-z]+))?$/.exec(s)?.groups : undefined;
  const port = Number(m?.['port'] ?? NaN);
  const protocol = String(m?.['proto'] ?? 'TCP').toUpperCase();
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(`port ${JSON.stringify(s)} must be 1-65535, optionally /TCP, /UDP or /SCTP`);
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) throw invalid(`protocol ${JSON.stringify(m?.['proto'])} must be TCP, UDP or SCTP`);
  return { port, protocol: protocol as Protocol };
}

export function policyRpcHandlers(deps: PolicyRpcDeps): Record<string, RpcHandler> {
  return {
    'resources.apply': (params): Promise<ChangeReport> => deps.resources.apply(text(params, 'resources.apply')),
    'resources.delete': (params): Promise<ChangeReport> => deps.resources.delete(text(params, 'resources.delete')),
    'resources.get': async (params): Promise<{ revision: number; items: Resource[] }> => {
      const p = obj(params);
      const kind = p['kind'];
      const ns = p['namespace'];
      if (kind !== undefined && typeof kind !== 'string') throw invalid('kind must be a string');
      if (ns !== undefined && typeof ns !== 'string') throw invalid('namespace must be a string');
      const got = await deps.resources.list(kind, ns);
      return { revision: got.revision, items: got.items.map((s) => s.resource) };
    },
    'policy.status': async (): Promise<PolicyStatusView> => {
      if (!deps.policy) {
        return { enabled: false, programmedRevision: 0, revision: 0, synced: false, endpoints: 0, profiles: 0, resources: 0, problems: [], lastError: undefined, last: undefined, lastAdmission: undefined, repairs: 0 };
      }
      return { enabled: true, ...deps.policy.status() };
    },
    'policy.explain': async (params): Promise<Explanation> => {
      const p = obj(params);
      const from = parseEndpoint(p['from'], '--from');
      const to = parseEndpoint(p['to'], '--to');
      const { port, protocol } = parsePort(p['port']);
      const listed = await deps.resources.list();
      return explain(stateOf(listed.items.map((s) => s.resource)), from, to, port, protocol);
    },
  };
}
