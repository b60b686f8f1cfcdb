/**
 * A compiled node -> the podnet-policy table as data (sets, maps, chains and their rules), the
 * form both the full script and the incremental diff are made from.
 *
 *   map ingress_if / egress_if { type ifname : verdict }   pod interface -> accept | jump p_<profile>
 *   chain p_<profile>:                          (a = saddr for ingress, daddr for egress)
 *     ip a . meta l4proto . th dport vmap @c_<half>_c4;  ip a vmap @c_<half>_k4   cluster tiers, flattened
 *     (same for ip6)
 *     ip a @a_<half>_a4 accept;  ip a . meta l4proto . th dport @a_<half>_p4 accept   Kubernetes allow union
 *     (same for ip6)
 *     drop (isolated) | accept (not isolated)
 *   chain o_<hash>: log ... group N; then accept | drop | return         cluster outcomes that record
 *   base chains (forward at -5 and 0, input at 0): ct state established,related accept;
 *     <if> vmap @<map>; <if>group <pod group> drop   (a pod interface without an entry is closed)
 *
 * Every chain has a fixed, small number of rules: the per-packet cost is a handful of lookups
 * whatever the number of pods, policies and rules. Sets belong to profile halves (compile/profile.ts),
 * so profiles that share a half share its sets.
 */
import { createHash } from 'node:crypto';
import type { Family } from '../../common/ip.js';
import type { ClusterDecision, ClusterRecord, CompiledNode, DirectionProfile } from '../compile/types.js';
import { allowElements, type Elements, verdictElements } from './elements.js';
import {
  allowSet, clusterSet, EGRESS_MAP, FWD_EGRESS, FWD_INGRESS, ident, ifnameLiteral, INGRESS_MAP, INPUT_EGRESS, logPrefix,
  outcomeChain, POD_IIF, POD_OIF, profileChain,
} from './names.js';

export interface NftSet {
  readonly name: string;
  /** A verdict map (elements have values) rather than a set. */
  readonly map: boolean;
  /** Key type, e.g. "ipv4_addr . inet_proto . inet_service". */
  readonly type: string;
  readonly interval: boolean;
  /** Element key -> verdict ("" for sets). */
  readonly elements: ReadonlyMap<string, string>;
}

export type ChainRole = 'base' | 'profile' | 'outcome';

export interface NftChain {
  readonly name: string;
  readonly role: ChainRole;
  /** Base chains: "type filter hook forward priority -5; policy accept;". */
  readonly hook?: string;
  readonly rules: readonly string[];
}

export interface NftModel {
  readonly sets: ReadonlyMap<string, NftSet>;
  readonly chains: ReadonlyMap<string, NftChain>;
}

export interface RenderOptions {
  /** NFLOG group of Log rules, audit records and (with logDrops) Kubernetes drops. Default 100. */
  readonly nflogGroup?: number;
  /**
   * Record drops too: the final drop of isolated profiles ("pn D <profile>"), Deny rules
   * ("pn X <policy>/<rule>") and unmapped pod interfaces ("pn U"). Default false.
   */
  readonly logDrops?: boolean;
}

const ADDR_TYPE: Readonly<Record<Family, string>> = { 4: 'ipv4_addr', 6: 'ipv6_addr' };
const CONCAT_TYPE: Readonly<Record<Family, string>> = { 4: 'ipv4_addr . inet_proto . inet_service', 6: 'ipv6_addr . inet_proto . inet_service' };
const IP: Readonly<Record<Family, string>> = { 4: 'ip', 6: 'ip6' };

/** A policy name as it appears in log prefixes ("#" + 12 hex digits of its hash when very long). */
export function prefixName(name: string): string {
  return name.length <= 100 ? name : `#${createHash('sha256').update(name).digest('hex').slice(0, 12)}`;
}

/**
 * Prefix of a record: "pn L <policy>/<i|e><rule>" (Log rule), "pn A ..." (audit would-drop),
 * "pn X ..." (dropped by a Deny rule; only with logDrops).
 */
export function recordPrefix(r: ClusterRecord | { readonly kind: 'deny'; readonly rule: ClusterRecord['rule'] }): string {
  const letter = r.kind === 'log' ? 'L' : r.kind === 'audit-deny' ? 'A' : 'X';
  return `pn ${letter} ${prefixName(r.rule.name)}/${r.rule.direction[0]}${r.rule.index} `;
}

/** Prefixes of the drop records (logDrops): a profile's final drop and an unmapped pod interface. */
export const dropPrefix = (profileId: string): string => `pn D ${profileId} `;
export const UNMAPPED_PREFIX = 'pn U ';

class Builder {
  readonly sets = new Map<string, NftSet>();
  readonly chains = new Map<string, NftChain>();
  private readonly group: number;

  constructor(private readonly opts: RenderOptions) {
    this.group = opts.nflogGroup ?? 100;
    if (!Number.isInteger(this.group) || this.group < 0 || this.group > 65535) throw new RangeError(`nflogGroup ${this.group} is not in 0-65535`);
  }

  private addSet(name: string, map: boolean, type: string, interval: boolean, elements: ReadonlyMap<string, string>): void {
    this.sets.set(ident(name), { name, map, type, interval, elements });
  }

  private addChain(c: NftChain): void {
    this.chains.set(ident(c.name), c);
  }

  private readonly verdicts = new Map<ClusterDecision, string | undefined>();

  /** The verdict for a cluster decision: direct, through an outcome chain that logs, or none. */
  private clusterVerdict(d: ClusterDecision): string | undefined {
    if (this.verdicts.has(d)) return this.verdicts.get(d);
    const v = this.makeVerdict(d);
    this.verdicts.set(d, v);
    return v;
  }

  private makeVerdict(d: ClusterDecision): string | undefined {
    const final = d.verdict === 'allow' ? 'accept' : d.verdict === 'deny' ? 'drop' : undefined;
    const denyLog = this.opts.logDrops && d.verdict === 'deny' && d.decidedBy ? [`log prefix ${logPrefix(recordPrefix({ kind: 'deny', rule: d.decidedBy }))} group ${this.group}`] : [];
    if (d.records.length === 0 && denyLog.length === 0) return final;
    const rules = [...d.records.map((r) => `log prefix ${logPrefix(recordPrefix(r))} group ${this.group}`), ...denyLog, final ?? 'return'];
    const name = outcomeChain(rules.join('\n'));
    if (!this.chains.has(name)) this.addChain({ name, role: 'outcome', rules });
    return `jump ${name}`;
  }

  private setOnce(name: string, map: boolean, family: Family, concat: boolean, elements: () => ReadonlyMap<string, string>): string {
    if (!this.sets.has(name)) this.addSet(name, map, concat ? CONCAT_TYPE[family] : ADDR_TYPE[family], true, elements());
    return name;
  }

  profile(p: DirectionProfile): string | undefined {
    const isolated = p.isolatedBy.length > 0;
    if (!hasChain(p)) return undefined;
    const chain = profileChain(p.id);
    const a = p.direction === 'ingress' ? 'saddr' : 'daddr';
    const rules: string[] = [];
    if (p.tiers.length > 0) {
      for (const f of [4, 6] as const) {
        let e: Elements | undefined;
        const elems = (): Elements => (e ??= verdictElements(f, p.cluster[f === 4 ? 'v4' : 'v6'], (d) => this.clusterVerdict(d)));
        rules.push(`${IP[f]} ${a} . meta l4proto . th dport vmap @${this.setOnce(clusterSet(p.clusterId, `c${f}`), true, f, true, () => elems().concat)}`);
        rules.push(`${IP[f]} ${a} vmap @${this.setOnce(clusterSet(p.clusterId, `k${f}`), true, f, false, () => elems().addrOnly)}`);
      }
    }
    if (isolated) {
      for (const f of [4, 6] as const) {
        let e: Elements | undefined;
        const elems = (): Elements => (e ??= allowElements(f, p.allow[f === 4 ? 'v4' : 'v6']));
        rules.push(`${IP[f]} ${a} @${this.setOnce(allowSet(p.allowId, `a${f}`), false, f, false, () => elems().addrOnly)} accept`);
        rules.push(`${IP[f]} ${a} . meta l4proto . th dport @${this.setOnce(allowSet(p.allowId, `p${f}`), false, f, true, () => elems().concat)} accept`);
      }
      if (this.opts.logDrops) rules.push(`log prefix ${logPrefix(dropPrefix(p.id))} group ${this.group}`);
      rules.push('drop');
    } else {
      rules.push('accept');
    }
    this.addChain({ name: chain, role: 'profile', rules });
    return `jump ${chain}`;
  }

  base(ingress: ReadonlyMap<string, string>, egress: ReadonlyMap<string, string>): void {
    this.addSet(INGRESS_MAP, true, 'ifname', false, ingress);
    this.addSet(EGRESS_MAP, true, 'ifname', false, egress);
    const ct = 'ct state established,related accept';
    // A pod interface without a map entry (not admitted yet, or its pod is unknown) is closed.
    const closed = this.opts.logDrops ? `log prefix ${logPrefix(UNMAPPED_PREFIX)} group ${this.group} drop` : 'drop';
    this.addChain({ name: FWD_EGRESS, role: 'base', hook: 'type filter hook forward priority -5; policy accept;', rules: [ct, `iifname vmap @${EGRESS_MAP}`, `${POD_IIF} ${closed}`] });
    this.addChain({ name: FWD_INGRESS, role: 'base', hook: 'type filter hook forward priority 0; policy accept;', rules: [ct, `oifname vmap @${INGRESS_MAP}`, `${POD_OIF} ${closed}`] });
    this.addChain({
      name: INPUT_EGRESS,
      role: 'base',
      hook: 'type filter hook input priority 0; policy accept;',
      rules: [
        ct,
        `${POD_IIF} icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } accept`,
        `iifname vmap @${EGRESS_MAP}`,
        `${POD_IIF} ${closed}`,
      ],
    });
  }
}

/** A profile needs a chain unless it is open and no cluster policy applies (then its interfaces map to accept). */
const hasChain = (p: DirectionProfile): boolean => p.isolatedBy.length > 0 || p.tiers.length > 0;

/** What an interface with this profile maps to in ingress_if / egress_if. */
export function endpointVerdict(p: DirectionProfile): string {
  return hasChain(p) ? `jump ${profileChain(p.id)}` : 'accept';
}

/** The table for a compiled node. */
export function buildModel(node: CompiledNode, opts: RenderOptions = {}): NftModel {
  const b = new Builder(opts);
  const verdicts = new Map<string, string>();
  const verdictOf = (id: string): string => {
    let v = verdicts.get(id);
    if (v === undefined) {
      const p = node.profiles.get(id);
      if (!p) throw new Error(`compiled node references unknown profile ${id}`);
      v = b.profile(p) ?? 'accept';
      verdicts.set(id, v);
    }
    return v;
  };
  const ingress = new Map<string, string>();
  const egress = new Map<string, string>();
  for (const ep of node.endpoints) {
    const key = ifnameLiteral(ep.ifname);
    ingress.set(key, verdictOf(ep.ingress));
    egress.set(key, verdictOf(ep.egress));
  }
  b.base(ingress, egress);
  return { sets: b.sets, chains: b.chains };
}
