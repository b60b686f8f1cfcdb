/**
 * Reads the NAT table back from `nft -j list table inet podnet-nat` output: whether it exists,
 * whether its sets, chain and rules are exactly the ones fullScript makes (else it is rebuilt),
 * and the elements of the four sets as canonical CIDRs.
 */
import { formatCidr, formatIp, networkOf, parseCidr, parseIp } from '../../../common/ip.js';
import { NAT_CHAIN, NAT_FAMILY, NAT_TABLE, type NatSets, SET_NAMES, type SetName, ruleComment, setType } from './ruleset.js';

export type ObservedNat =
  | { readonly state: 'absent' }
  /** The table exists but is not the one podnet makes (other rules, sets, or an older version). */
  | { readonly state: 'foreign' }
  | { readonly state: 'ours'; readonly sets: NatSets };

type Json = Record<string, unknown>;
const isObj = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

/** One set element as a canonical CIDR, or undefined for a shape podnet never writes. */
export function elementCidr(e: unknown): string | undefined {
  if (typeof e === 'string') {
    const ip = parseIp(e);
    return ip && `${formatIp(ip)}/${ip.family === 4 ? 32 : 128}`;
  }
  if (!isObj(e)) return undefined;
  const p = e['prefix'];
  if (isObj(p) && typeof p['addr'] === 'string' && typeof p['len'] === 'number') {
    const c = parseCidr(`${p['addr']}/${p['len']}`);
    return c && formatCidr(networkOf(c));
  }
  return undefined;
}

function elementsOf(set: Json): string[] | undefined {
  const elem = set['elem'];
  if (elem === undefined) return [];
  if (!Array.isArray(elem)) return undefined;
  const out: string[] = [];
  for (const e of elem) {
    const c = elementCidr(e);
    if (c === undefined) return undefined;
    out.push(c);
  }
  return out.sort();
}

function chainOk(c: Json): boolean {
  return c['name'] === NAT_CHAIN && c['type'] === 'nat' && c['hook'] === 'postrouting' && c['prio'] === 100 && c['policy'] === 'accept';
}

/** Parses nft's JSON for the table (the caller maps "no such table" to absent). */
export function parseNatTable(json: string): ObservedNat {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    return { state: 'foreign' };
  }
  const items = isObj(doc) && Array.isArray(doc['nftables']) ? (doc['nftables'] as unknown[]) : [];
  const sets = new Map<string, Json>();
  const chains: Json[] = [];
  const comments: unknown[] = [];
  let table = false;
  for (const it of items) {
    if (!isObj(it)) continue;
    const t = it['table'];
    if (isObj(t) && t['family'] === NAT_FAMILY && t['name'] === NAT_TABLE) table = true;
    const s = it['set'] ?? it['map'];
    if (isObj(s)) sets.set(String(s['name']), { ...s, isMap: it['map'] !== undefined });
    if (isObj(it['chain'])) chains.push(it['chain'] as Json);
    if (isObj(it['rule'])) comments.push((it['rule'] as Json)['comment']);
    if (isObj(it['flowtable']) || isObj(it['counter']) || isObj(it['quota']) || isObj(it['ct helper'])) return { state: 'foreign' };
  }
  if (!table) return { state: 'absent' };
  if (sets.size !== SET_NAMES.length || chains.length !== 1 || !chainOk(chains[0] as Json)) return { state: 'foreign' };
  if (comments.length !== 2 || comments[0] !== ruleComment(4) || comments[1] !== ruleComment(6)) return { state: 'foreign' };
  const out: Partial<Record<SetName, readonly string[]>> = {};
  for (const name of SET_NAMES) {
    const s = sets.get(name);
    const flags = s?.['flags'];
    const interval = Array.isArray(flags) ? flags.length === 1 && flags[0] === 'interval' : flags === 'interval';
    if (!s || s['isMap'] || s['type'] !== setType(name) || !interval) return { state: 'foreign' };
    const elems = elementsOf(s);
    if (!elems) return { state: 'foreign' };
    out[name] = elems;
  }
  return { state: 'ours', sets: out as NatSets };
}
