/**
 * v1 Pod, the parts networking uses: metadata, spec.nodeName, spec.containers[].ports[] (named
 * ports, unique per pod) and status.podIPs / status.podIP (at most one per family). Every other
 * field is accepted and ignored, so `kubectl get pod -o yaml` output applies as is.
 */
import { canonicalIp, parseIp } from '../../common/ip.js';
import type { ContainerPort, Pod } from '../../model/k8s.js';
import { absent, at, type Issues, type Obj, optInt, optList, optObj, optString, show } from './context.js';
import { parseMeta } from './meta.js';
import { dnsSubdomainProblem, portNameProblem } from './names.js';
import { parseProtocol } from './ports.js';

function parseContainerPorts(spec: Obj, ctx: Issues): ContainerPort[] {
  const out: ContainerPort[] = [];
  const seen = new Map<string, string>();
  (optList(spec['containers'], 'spec.containers', ctx) ?? []).forEach((c, ci) => {
    const cp = at('spec.containers', ci);
    const co = optObj(c, cp, ctx);
    if (!co) return;
    (optList(co['ports'], at(cp, 'ports'), ctx) ?? []).forEach((p, pi) => {
      const pp = at(at(cp, 'ports'), pi);
      const po = optObj(p, pp, ctx);
      if (!po) return;
      if (absent(po['containerPort'])) ctx.missing(at(pp, 'containerPort'));
      const containerPort = optInt(po['containerPort'], at(pp, 'containerPort'), ctx, 1, 65535);
      const protocol = parseProtocol(po['protocol'], at(pp, 'protocol'), ctx);
      const name = optString(po['name'], at(pp, 'name'), ctx);
      if (name !== undefined) {
        const problem = portNameProblem(name);
        if (problem) ctx.invalid(at(pp, 'name'), `${show(name)}: ${problem}`);
        const first = seen.get(name);
        if (first) ctx.invalid(at(pp, 'name'), `duplicate port name ${show(name)} (also ${first})`);
        seen.set(name, pp);
      }
      if (containerPort === undefined || protocol === undefined) return;
      out.push({ ...(name !== undefined && name !== '' ? { name } : {}), containerPort, protocol });
    });
  });
  return out;
}

function parseIps(status: Obj | undefined, ctx: Issues): string[] {
  if (!status) return [];
  const raw: { text: unknown; path: string }[] = [];
  const list = optList(status['podIPs'], 'status.podIPs', ctx);
  if (list && list.length > 0) {
    list.forEach((e, i) => {
      const o = optObj(e, at('status.podIPs', i), ctx);
      if (o) raw.push({ text: o['ip'], path: at(at('status.podIPs', i), 'ip') });
    });
  } else if (!absent(status['podIP'])) raw.push({ text: status['podIP'], path: 'status.podIP' });
  const out: string[] = [];
  const families = new Set<number>();
  for (const { text, path } of raw) {
    const s = optString(text, path, ctx);
    if (s === undefined) {
      if (absent(text)) ctx.missing(path);
      continue;
    }
    const ip = parseIp(s);
    if (!ip) {
      ctx.invalid(path, `${show(s)} is not a valid IP address`);
      continue;
    }
    if (families.has(ip.family)) {
      ctx.invalid(path, `a pod has at most one IPv${ip.family} address`);
      continue;
    }
    families.add(ip.family);
    out.push(canonicalIp(s) as string);
  }
  return out;
}

export function parsePod(doc: Obj, ctx: Issues): Pod | undefined {
  const meta = parseMeta(doc['metadata'], ctx, { namespaced: true, nameRule: 'subdomain' });
  const spec = optObj(doc['spec'], 'spec', ctx) ?? {};
  const nodeName = optString(spec['nodeName'], 'spec.nodeName', ctx);
  if (nodeName !== undefined && nodeName !== '') {
    const p = dnsSubdomainProblem(nodeName);
    if (p) ctx.invalid('spec.nodeName', `${show(nodeName)}: ${p}`);
  }
  const ports = parseContainerPorts(spec, ctx);
  const ips = parseIps(optObj(doc['status'], 'status', ctx), ctx);
  if (!meta) return undefined;
  return {
    kind: 'Pod',
    namespace: meta.namespace,
    name: meta.name,
    labels: meta.labels,
    ...(nodeName ? { nodeName } : {}),
    ports,
    ips,
  };
}
