/**
 * The egress NAT the pools ask for: sources in a natOutgoing pool are masqueraded when going to a
 * destination outside every pool. CIDRs are canonical networks, without duplicates or CIDRs that
 * another one contains, sorted.
 */
import { type Cidr, cidrContainsCidr, formatCidr, networkOf, parseCidr } from '../common/ip.js';
import type { IpPool } from '../ipam/types.js';
import { sortByCidr } from './order.js';
import type { DesiredNat } from './types.js';

/** Canonical, sorted, without duplicates or CIDRs covered by another of the list. */
export function aggregateCidrs(cidrs: readonly Cidr[]): string[] {
  const nets = cidrs.map(networkOf);
  const kept = nets.filter((c, i) => !nets.some((o, j) => j !== i && cidrContainsCidr(o, c) && (o.prefix < c.prefix || j < i)));
  return sortByCidr(new Set(kept.map(formatCidr)), (s) => s);
}

export function natFor(pools: readonly IpPool[], problem: (text: string) => void): DesiredNat {
  const all: Cidr[] = [];
  const nat: Cidr[] = [];
  for (const p of pools) {
    const c = typeof p.cidr === 'string' ? parseCidr(p.cidr) : undefined;
    if (!c) {
      problem(`pool ${p.name}: CIDR ${JSON.stringify(p.cidr)} does not parse; left out of NAT`);
      continue;
    }
    all.push(c);
    if (p.natOutgoing) nat.push(c);
  }
  return { natCidrs: aggregateCidrs(nat), clusterCidrs: aggregateCidrs(all) };
}
