/**
 * Resource-level matching of one flow against one rule (used by explain): no compilation, just
 * the Kubernetes definitions, so it doubles as an independent oracle for the compiler's tests.
 */
import type { Family } from '../common/ip.js';
import type { PolicyPeer, PolicyPort, Pod, Protocol } from '../model/k8s.js';
import { resolveNamedPort } from './compile/ports.js';
import type { PeerScope } from './compile/peers.js';
import { addrSetContains, ipBlockAddrSet } from './compile/space.js';
import type { StateIndex } from './compile/state-index.js';
import { compileSelector } from './selectors.js';

/** The other end of the flow as a rule sees it. */
export interface FlowPeer {
  /** The pod at that address, if it is one. */
  readonly pod?: Pod;
  /** The flow's address there, if known. */
  readonly address?: { readonly family: Family; readonly value: bigint };
}

export function peerMatches(index: StateIndex, peer: PolicyPeer, scope: PeerScope, target: FlowPeer): boolean {
  if (peer.ipBlock) return target.address !== undefined && addrSetContains(ipBlockAddrSet(peer.ipBlock), target.address.family, target.address.value);
  const pod = target.pod;
  if (!pod) return false;
  if (peer.namespaceSelector) {
    if (!compileSelector(peer.namespaceSelector)(index.namespaceLabels(pod.namespace))) return false;
  } else if (scope !== null && pod.namespace !== scope) return false;
  return !peer.podSelector || compileSelector(peer.podSelector)(pod.labels);
}

/** destination: the pod whose named ports apply (the receiving pod). */
export function portsMatch(ports: readonly PolicyPort[], protocol: Protocol, port: number, destination: Pod | undefined): boolean {
  if (ports.length === 0) return true;
  return ports.some((p) => {
    if (p.protocol !== protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'number') return port >= p.port && port <= (p.endPort ?? p.port);
    return resolveNamedPort(destination, p.port, p.protocol) === port;
  });
}

export function ruleMatchesFlow(
  index: StateIndex,
  rule: { readonly peers: readonly PolicyPeer[]; readonly ports: readonly PolicyPort[] },
  scope: PeerScope,
  peer: FlowPeer,
  protocol: Protocol,
  port: number,
  destination: Pod | undefined,
): boolean {
  if (!portsMatch(rule.ports, protocol, port, destination)) return false;
  return rule.peers.length === 0 || rule.peers.some((p) => peerMatches(index, p, scope, peer));
}
