/**
 * Resolving rule peers to pods and addresses. A NetworkPolicy peer's lone podSelector means pods
 * of the policy's namespace (scope = that namespace); a ClusterNetworkPolicy's means pods of every
 * namespace (scope = null). Results are memoised per (scope, selectors), so policies sharing a
 * selector resolve it once.
 */
import type { LabelSelector, PolicyPeer, Pod } from '../../model/k8s.js';
import { compileSelector, selectorKey } from '../selectors.js';
import { ALL_ADDRESSES, type AddrSet, addrSetContains, addrSetOfAddrs, ipBlockAddrSet, unionAddrSets } from './space.js';
import type { StateIndex } from './state-index.js';
import type { Ip } from '../../common/ip.js';

/** The namespace a lone podSelector refers to, or null for every namespace. */
export type PeerScope = string | null;

export interface PodIp {
  readonly ip: Ip;
  readonly pod: Pod;
}

export class PeerResolver {
  private readonly nsMemo = new Map<string, readonly string[]>();
  private readonly podsMemo = new Map<string, readonly Pod[]>();
  private readonly addrMemo = new Map<string, AddrSet>();
  private allPodIps: readonly PodIp[] | undefined;

  constructor(readonly index: StateIndex) {}

  namespacesMatching(sel: LabelSelector): readonly string[] {
    const k = selectorKey(sel);
    let r = this.nsMemo.get(k);
    if (!r) {
      const m = compileSelector(sel);
      r = this.index.namespaceNames.filter((ns) => m(this.index.namespaceLabels(ns)));
      this.nsMemo.set(k, r);
    }
    return r;
  }

  private selectorPeerKey(peer: PolicyPeer, scope: PeerScope): string {
    const ns = peer.namespaceSelector ? `n${selectorKey(peer.namespaceSelector)}` : scope === null ? '*' : `s${scope}`;
    return `${ns}|${peer.podSelector ? selectorKey(peer.podSelector) : '*'}`;
  }

  /** Pods a selector peer selects ([] for an ipBlock peer). */
  podsOf(peer: PolicyPeer, scope: PeerScope): readonly Pod[] {
    if (peer.ipBlock) return [];
    const k = this.selectorPeerKey(peer, scope);
    let r = this.podsMemo.get(k);
    if (!r) {
      const namespaces = peer.namespaceSelector ? this.namespacesMatching(peer.namespaceSelector) : scope === null ? this.index.namespaceNames : [scope];
      const m = peer.podSelector ? compileSelector(peer.podSelector) : undefined;
      const out: Pod[] = [];
      for (const ns of namespaces) for (const p of this.index.podsIn(ns)) if (!m || m(p.labels)) out.push(p);
      r = out;
      this.podsMemo.set(k, r);
    }
    return r;
  }

  peerAddresses(peer: PolicyPeer, scope: PeerScope): AddrSet {
    if (peer.ipBlock) return ipBlockAddrSet(peer.ipBlock);
    const k = this.selectorPeerKey(peer, scope);
    let r = this.addrMemo.get(k);
    if (!r) {
      r = addrSetOfAddrs(this.podsOf(peer, scope).flatMap((p) => this.index.addressesOf(p)));
      this.addrMemo.set(k, r);
    }
    return r;
  }

  /** A rule's peer addresses; no peers means every address. */
  ruleAddresses(peers: readonly PolicyPeer[], scope: PeerScope): AddrSet {
    if (peers.length === 0) return ALL_ADDRESSES;
    return unionAddrSets(peers.map((p) => this.peerAddresses(p, scope)));
  }

  private podIps(): readonly PodIp[] {
    this.allPodIps ??= this.index.pods.flatMap((pod) => this.index.addressesOf(pod).map((ip) => ({ ip, pod })));
    return this.allPodIps;
  }

  /** Pod addresses a rule's peers cover (selected pods, pods inside ipBlocks, every pod when no peers). */
  rulePodIps(peers: readonly PolicyPeer[], scope: PeerScope): readonly PodIp[] {
    if (peers.length === 0) return this.podIps();
    const seen = new Map<string, PodIp>();
    const key = (ip: Ip): string => `${ip.family}/${ip.value}`;
    for (const peer of peers) {
      if (peer.ipBlock) {
        const set = ipBlockAddrSet(peer.ipBlock);
        for (const pi of this.podIps()) if (addrSetContains(set, pi.ip.family, pi.ip.value)) seen.set(key(pi.ip), pi);
      } else {
        for (const pod of this.podsOf(peer, scope)) for (const ip of this.index.addressesOf(pod)) seen.set(key(ip), { ip, pod });
      }
    }
    return [...seen.values()];
  }
}
