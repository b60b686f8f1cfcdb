/**
 * DNS dictionaries. The config's and the result's `dns` use the spec's keys (nameservers, domain,
 * search, options); the `dns` capability in runtimeConfig uses the conventions' keys (servers,
 * searches, options), which containerd's go-cni sends capitalised (Servers, Searches, Options).
 * All become one CniDns. Nameservers must be IP addresses.
 */
import { eitherKey, isIp, optObject, optString, optStringArray } from './json.js';
import type { CniDns } from './types.js';

export type DnsStyle = 'spec' | 'runtime';

const KEYS: Readonly<Record<DnsStyle, Readonly<Record<keyof CniDns, readonly string[]>>>> = {
  spec: { nameservers: ['nameservers'], domain: ['domain'], search: ['search'], options: ['options'] },
  runtime: {
    nameservers: ['servers', 'Servers', 'nameservers'],
    domain: ['domain', 'Domain'],
    search: ['searches', 'Searches', 'search'],
    options: ['options', 'Options'],
  },
};

/** Parses a DNS dictionary; undefined when absent or empty. */
export function parseDns(v: unknown, path: string, style: DnsStyle): CniDns | undefined {
  const obj = optObject(v, path);
  if (obj === undefined) return undefined;
  const keys = KEYS[style];
  const out: CniDns = {};
  const ns = eitherKey(obj, path, ...keys.nameservers);
  const nameservers = optStringArray(ns.value, ns.path, isIp, 'an IP address');
  if (nameservers && nameservers.length > 0) out.nameservers = nameservers;
  const d = eitherKey(obj, path, ...keys.domain);
  const domain = optString(d.value, d.path);
  if (domain) out.domain = domain;
  const s = eitherKey(obj, path, ...keys.search);
  const search = optStringArray(s.value, s.path);
  if (search && search.length > 0) out.search = search;
  const o = eitherKey(obj, path, ...keys.options);
  const options = optStringArray(o.value, o.path);
  if (options && options.length > 0) out.options = options;
  return Object.keys(out).length > 0 ? out : undefined;
}
