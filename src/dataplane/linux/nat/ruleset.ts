/**
 * The egress NAT table as nft script text, generated only from CIDRs that parse (validateNat
 * upstream, checked again here), never from free text:
 *
 *   table inet podnet-nat {
 *     set nat4 / cluster4 { type ipv4_addr; flags interval; }     (and nat6 / cluster6)
 *     chain postrouting { type nat hook postrouting priority srcnat; policy accept;
 *       ip saddr @nat4 ip daddr != @cluster4 counter masquerade fully-random comment "...v1 ipv4"
 *       ip6 saddr @nat6 ip6 daddr != @cluster6 counter masquerade fully-random comment "...v1 ipv6" } }
 *
 * Pool changes are set element updates; the rules never change. The rule comments carry a
 * version, so a podnet with different rules recognises an older table and rebuilds it.
 */
import { PodnetError } from '../../../common/errors.js';
import { type Family, formatCidr, networkOf, parseCidr } from '../../../common/ip.js';
import type { DesiredNat } from '../../../calc/types.js';
import { ClusterErrors } from '../../../calc/errors.js';

export const NAT_TABLE = 'podnet-nat';
export const NAT_FAMILY = 'inet';
export const NAT_CHAIN = 'postrouting';
export const SET_NAMES = ['nat4', 'cluster4', 'nat6', 'cluster6'] as const;
export type SetName = (typeof SET_NAMES)[number];
export type NatSets = Readonly<Record<SetName, readonly string[]>>;

export const setFamily = (s: SetName): Family => (s.endsWith('4') ? 4 : 6);
export const setType = (s: SetName): string => (setFamily(s) === 4 ? 'ipv4_addr' : 'ipv6_addr');
export const ruleComment = (f: Family): string => `podnet egress masquerade v1 ipv${f}`;

const SAFE = /^[0-9a-f.:]+\/\d{1,3}$/;

/** Canonical network text, or CLUSTER_INVALID_DESIRED; the only way text enters a script. */
function safeCidr(s: string): string {
  const c = parseCidr(s);
  const text = c ? formatCidr(networkOf(c)) : '';
  if (!c || text !== s || !SAFE.test(text)) throw new PodnetError(ClusterErrors.CLUSTER_INVALID_DESIRED, `NAT CIDR ${JSON.stringify(s)} is not a canonical network CIDR`);
  return text;
}

/** Splits the desired NAT into the four sets, each sorted. */
export function natSets(n: DesiredNat): NatSets {
  const pick = (xs: readonly string[], f: Family): string[] => [...new Set(xs.map(safeCidr).filter((c) => (parseCidr(c)?.family ?? 0) === f))].sort();
  return { nat4: pick(n.natCidrs, 4), cluster4: pick(n.clusterCidrs, 4), nat6: pick(n.natCidrs, 6), cluster6: pick(n.clusterCidrs, 6) };
}

const elements = (xs: readonly string[]): string => `{ ${xs.map(safeCidr).join(', ')} }`;
const tableRef = `${NAT_FAMILY} ${NAT_TABLE}`;

/** One transaction that (re)creates the table whatever was there before. */
export function fullScript(s: NatSets): string {
  const sets = SET_NAMES.map((name) => {
    const elems = s[name].length > 0 ? `\n\t\telements = ${elements(s[name])}` : '';
    return `\tset ${name} {\n\t\ttype ${setType(name)}\n\t\tflags interval${elems}\n\t}\n`;
  }).join('');
  return (
    `add table ${tableRef}\n` +
    `delete table ${tableRef}\n` +
    `table ${tableRef} {\n${sets}` +
    `\tchain ${NAT_CHAIN} {\n` +
    `\t\ttype nat hook postrouting priority srcnat; policy accept;\n` +
    `\t\tip saddr @nat4 ip daddr != @cluster4 counter masquerade fully-random comment "${ruleComment(4)}"\n` +
    `\t\tip6 saddr @nat6 ip6 daddr != @cluster6 counter masquerade fully-random comment "${ruleComment(6)}"\n` +
    `\t}\n}\n`
  );
}

/** One transaction of element deletions then additions; undefined when the sets are equal. */
export function elementScript(from: NatSets, to: NatSets): string | undefined {
  const lines: string[] = [];
  for (const name of SET_NAMES) {
    const have = new Set(from[name]);
    const want = new Set(to[name]);
    const del = [...have].filter((c) => !want.has(c));
    const add = [...want].filter((c) => !have.has(c));
    if (del.length > 0) lines.push(`delete element ${tableRef} ${name} ${elements(del)}`);
    if (add.length > 0) lines.push(`add element ${tableRef} ${name} ${elements(add)}`);
  }
  return lines.length === 0 ? undefined : `${lines.join('\n')}\n`;
}

/** Removes the table; succeeds when it is absent. */
export const deleteScript = (): string => `add table ${tableRef}\ndelete table ${tableRef}\n`;
