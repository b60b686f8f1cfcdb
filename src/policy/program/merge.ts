/**
 * Admission without a full recompile: a new endpoint joins the table that is programmed, using
 * profiles already there (only its interface map entries are new) or a table compiled for it
 * alone (its profile's chain and sets are added; nothing that exists is changed). The full
 * recompile that follows brings every other profile up to date (e.g. the new pod as a peer).
 */
import type { CompiledNode, DirectionProfile, EndpointPolicy } from '../compile/types.js';
import type { NftModel, NftSet } from '../nft/model.js';
import { EGRESS_MAP, INGRESS_MAP, ifnameLiteral } from '../nft/names.js';

function withEntry(set: NftSet | undefined, ifname: string, verdict: string): NftSet {
  if (!set) throw new Error('the programmed table has no interface maps');
  const elements = new Map(set.elements);
  elements.set(ifnameLiteral(ifname), verdict);
  return { ...set, elements };
}

/** `model` with one interface mapped to the given verdicts. */
export function mapEndpoint(model: NftModel, ifname: string, ingress: string, egress: string): NftModel {
  const sets = new Map(model.sets);
  sets.set(INGRESS_MAP, withEntry(model.sets.get(INGRESS_MAP), ifname, ingress));
  sets.set(EGRESS_MAP, withEntry(model.sets.get(EGRESS_MAP), ifname, egress));
  return { sets, chains: model.chains };
}

/** `model` with one interface unmapped (its traffic is dropped again). */
export function unmapEndpoint(model: NftModel, ifname: string): NftModel {
  const key = ifnameLiteral(ifname);
  const sets = new Map(model.sets);
  for (const name of [INGRESS_MAP, EGRESS_MAP]) {
    const s = model.sets.get(name);
    if (!s || !s.elements.has(key)) continue;
    const elements = new Map(s.elements);
    elements.delete(key);
    sets.set(name, { ...s, elements });
  }
  return { sets, chains: model.chains };
}

/**
 * `model` plus what `alone` (a table compiled for the new endpoint only) has and `model` lacks:
 * chains and sets by name (existing ones are kept as programmed) and the endpoint's map entries.
 */
export function mergeAdditive(model: NftModel, alone: NftModel, ifname: string): NftModel {
  const sets = new Map(model.sets);
  const chains = new Map(model.chains);
  for (const [name, s] of alone.sets) if (name !== INGRESS_MAP && name !== EGRESS_MAP && !sets.has(name)) sets.set(name, s);
  for (const [name, c] of alone.chains) if (!chains.has(name)) chains.set(name, c);
  const key = ifnameLiteral(ifname);
  const ing = alone.sets.get(INGRESS_MAP)?.elements.get(key);
  const eg = alone.sets.get(EGRESS_MAP)?.elements.get(key);
  if (ing === undefined || eg === undefined) throw new Error(`the table compiled for ${ifname} does not map it`);
  return mapEndpoint({ sets, chains }, ifname, ing, eg);
}

/** `node` plus an endpoint and the profiles it brought (so explain and later admissions see them). */
export function withEndpoint(node: CompiledNode, ep: EndpointPolicy, profiles: readonly DirectionProfile[]): CompiledNode {
  const all = new Map(node.profiles);
  for (const p of profiles) if (!all.has(p.id)) all.set(p.id, p);
  const endpoints = [...node.endpoints.filter((e) => e.ifname !== ep.ifname), ep].sort((a, b) => (a.ifname < b.ifname ? -1 : a.ifname > b.ifname ? 1 : 0));
  return { endpoints, profiles: all, problems: node.problems };
}
