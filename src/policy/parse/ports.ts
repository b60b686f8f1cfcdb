/**
 * Rule ports (NetworkPolicyPort, also used by ClusterNetworkPolicy), validated as Kubernetes
 * ValidateNetworkPolicyPort: protocol TCP/UDP/SCTP (default TCP); port a number 1-65535 or an
 * IANA_SVC_NAME; endPort only with a numeric port, >= port, 1-65535.
 */
import { PROTOCOLS, type PolicyPort, type Protocol } from '../../model/k8s.js';
import { absent, at, checkFields, type Issues, optInt, optList, optObj, show } from './context.js';
import { portNameProblem } from './names.js';

export function parseProtocol(v: unknown, path: string, ctx: Issues): Protocol | undefined {
  if (absent(v)) return 'TCP';
  if (typeof v === 'string' && (PROTOCOLS as readonly string[]).includes(v)) return v as Protocol;
  ctx.invalid(path, `${show(v)} is not supported (TCP, UDP, SCTP)`);
  return undefined;
}

function parsePort(v: unknown, path: string, ctx: Issues): PolicyPort | undefined {
  const o = optObj(v, path, ctx);
  if (!o) {
    if (absent(v)) ctx.invalid(path, 'must be an object');
    return undefined;
  }
  checkFields(o, ['protocol', 'port', 'endPort'], path, ctx);
  const protocol = parseProtocol(o['protocol'], at(path, 'protocol'), ctx);
  const rawPort = o['port'];
  let port: number | string | undefined;
  if (typeof rawPort === 'string') {
    const p = portNameProblem(rawPort);
    if (p) ctx.invalid(at(path, 'port'), `${show(rawPort)} is not a valid port name: ${p}`);
    else port = rawPort;
  } else if (!absent(rawPort)) {
    port = optInt(rawPort, at(path, 'port'), ctx, 1, 65535);
  }
  const endPort = optInt(o['endPort'], at(path, 'endPort'), ctx, 1, 65535);
  if (!absent(o['endPort'])) {
    if (absent(rawPort)) ctx.invalid(at(path, 'endPort'), 'may not be specified when port is not specified');
    else if (typeof rawPort === 'string') ctx.invalid(at(path, 'endPort'), 'may not be specified when port is a name');
    else if (typeof port === 'number' && endPort !== undefined && endPort < port) ctx.invalid(at(path, 'endPort'), `${endPort} must be greater than or equal to port ${port}`);
  }
  if (protocol === undefined) return undefined;
  return { protocol, ...(port !== undefined ? { port } : {}), ...(endPort !== undefined && typeof port === 'number' ? { endPort } : {}) };
}

/** A rule's ports; missing, null and [] all mean every port (returned as []). */
export function parsePorts(v: unknown, path: string, ctx: Issues): PolicyPort[] {
  const list = optList(v, path, ctx) ?? [];
  const out: PolicyPort[] = [];
  list.forEach((p, i) => {
    const r = parsePort(p, at(path, i), ctx);
    if (r) out.push(r);
  });
  return out;
}
