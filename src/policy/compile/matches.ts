/**
 * A rule -> the boxes (addresses x protocol/port spans) it matches, seen from one direction.
 * Ingress: named ports resolve against the local (destination) pod, so one box. Egress: they
 * resolve against each peer pod, so peer addresses are grouped by how their pods resolve them.
 */
import type { PolicyPeer, PolicyPort, Pod } from '../../model/k8s.js';
import type { PeerResolver, PeerScope } from './peers.js';
import { hasNamedPorts, namedSpans, numericSpans } from './ports.js';
import type { Ip } from '../../common/ip.js';
import { addrSetOfAddrs, isEmptyAddrSet, mergeSpans, type PortSpan } from './space.js';
import type { Direction, MatchBox } from './types.js';

export interface RuleShape {
  readonly peers: readonly PolicyPeer[];
  readonly ports: readonly PolicyPort[];
}

export function ruleBoxes(rule: RuleShape, scope: PeerScope, direction: Direction, localPod: Pod, peers: PeerResolver): MatchBox[] {
  const addresses = peers.ruleAddresses(rule.peers, scope);
  const numeric = numericSpans(rule.ports);
  const out: MatchBox[] = [];
  const push = (b: MatchBox): void => {
    if (b.spans.length > 0 && !isEmptyAddrSet(b.addresses)) out.push(b);
  };
  if (!hasNamedPorts(rule.ports)) {
    push({ addresses, spans: numeric });
    return out;
  }
  if (direction === 'ingress') {
    push({ addresses, spans: mergeSpans([...numeric, ...namedSpans(rule.ports, localPod)]) });
    return out;
  }
  push({ addresses, spans: numeric });
  const groups = new Map<string, { spans: PortSpan[]; ips: Ip[] }>();
  for (const { ip, pod } of peers.rulePodIps(rule.peers, scope)) {
    const spans = namedSpans(rule.ports, pod);
    if (spans.length === 0) continue;
    const key = spans.map((s) => `${s.lo}-${s.hi}`).join(',');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { spans, ips: [] }));
    g.ips.push(ip);
  }
  for (const g of groups.values()) push({ addresses: addrSetOfAddrs(g.ips), spans: g.spans });
  return out;
}
