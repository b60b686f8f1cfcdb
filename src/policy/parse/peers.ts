/**
 * Rule peers (NetworkPolicyPeer, also used by ClusterNetworkPolicy), validated as Kubernetes
 * ValidateNetworkPolicyPeer / ValidateIPBlock: at least one of podSelector, namespaceSelector,
 * ipBlock; ipBlock never with another; except entries strictly inside cidr and of its family.
 */
import { cidrContainsCidr, formatCidr, networkOf, parseCidr } from '../../common/ip.js';
import type { IpBlock, PolicyPeer } from '../../model/k8s.js';
import { absent, at, checkFields, type Issues, optList, optObj, optString, show } from './context.js';
import { parseSelector } from './selector.js';

function parseIpBlock(v: unknown, path: string, ctx: Issues): IpBlock | undefined {
  const o = optObj(v, path, ctx);
  if (!o) return undefined;
  checkFields(o, ['cidr', 'except'], path, ctx);
  const cidrPath = at(path, 'cidr');
  let cidrText: string | undefined;
  if (absent(o['cidr']) || o['cidr'] === '') ctx.missing(cidrPath);
  else cidrText = optString(o['cidr'], cidrPath, ctx);
  const parsed = cidrText === undefined ? undefined : parseCidr(cidrText);
  if (cidrText !== undefined && !parsed) ctx.invalid(cidrPath, `${show(cidrText)} is not a valid CIDR`);
  const cidr = parsed && networkOf(parsed);
  const except: string[] = [];
  const exPath = at(path, 'except');
  (optList(o['except'], exPath, ctx) ?? []).forEach((x, i) => {
    const p = at(exPath, i);
    const s = optString(x, p, ctx);
    if (s === undefined) {
      if (absent(x)) ctx.invalid(p, 'must be a CIDR string');
      return;
    }
    const e = parseCidr(s);
    if (!e) {
      ctx.invalid(p, `${show(s)} is not a valid CIDR`);
      return;
    }
    const en = networkOf(e);
    if (!cidr) return;
    if (en.family !== cidr.family) ctx.invalid(p, `${s} is not of the same IP family as cidr ${formatCidr(cidr)}`);
    else if (!cidrContainsCidr(cidr, en)) ctx.invalid(p, `${s} is not inside cidr ${formatCidr(cidr)}`);
    else if (en.prefix <= cidr.prefix) ctx.invalid(p, `${s} must be a strict subset of cidr ${formatCidr(cidr)}`);
    else except.push(formatCidr(en));
  });
  if (!cidr) return undefined;
  return { cidr: formatCidr(cidr), except: [...new Set(except)] };
}

function parsePeer(v: unknown, path: string, ctx: Issues): PolicyPeer | undefined {
  const o = optObj(v, path, ctx);
  if (!o) {
    if (absent(v)) ctx.invalid(path, 'must specify a peer');
    return undefined;
  }
  checkFields(o, ['podSelector', 'namespaceSelector', 'ipBlock'], path, ctx);
  const present = ['podSelector', 'namespaceSelector', 'ipBlock'].filter((k) => !absent(o[k]));
  if (present.length === 0) {
    ctx.missing(path, 'must specify a peer (podSelector, namespaceSelector or ipBlock)');
    return undefined;
  }
  if (present.length > 1 && present.includes('ipBlock')) {
    ctx.invalid(path, 'may not specify both ipBlock and another peer');
    return undefined;
  }
  const podSelector = parseSelector(o['podSelector'], at(path, 'podSelector'), ctx);
  const namespaceSelector = parseSelector(o['namespaceSelector'], at(path, 'namespaceSelector'), ctx);
  const ipBlock = parseIpBlock(o['ipBlock'], at(path, 'ipBlock'), ctx);
  return {
    ...(podSelector ? { podSelector } : {}),
    ...(namespaceSelector ? { namespaceSelector } : {}),
    ...(ipBlock ? { ipBlock } : {}),
  };
}

/** A rule's peers; missing, null and [] all mean every peer (returned as []). */
export function parsePeers(v: unknown, path: string, ctx: Issues): PolicyPeer[] {
  const list = optList(v, path, ctx) ?? [];
  const out: PolicyPeer[] = [];
  list.forEach((p, i) => {
    const r = parsePeer(p, at(path, i), ctx);
    if (r) out.push(r);
  });
  return out;
}
