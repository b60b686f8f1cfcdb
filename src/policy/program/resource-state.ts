/**
 * The resources the programmer compiles from, kept by datastore key and split by kind, with the
 * PolicyState views rebuilt only when their kinds changed. Local pods admitted by the CNI fill
 * in until their record arrives from the datastore (the write precedes admission, but a
 * snapshot taken before it may still be in flight).
 */
import type { ClusterNetworkPolicy, Namespace, NetworkPolicy, Pod, Resource } from '../../model/k8s.js';
import type { PolicyState } from '../compile/types.js';

const podKey = (p: Pod): string => `${p.namespace}/${p.name}`;

export class ResourceState {
  private readonly namespaces = new Map<string, Namespace>();
  private readonly pods = new Map<string, Pod>();
  private readonly policies = new Map<string, NetworkPolicy>();
  private readonly cluster = new Map<string, ClusterNetworkPolicy>();
  /** Datastore key -> where it went. */
  private readonly kinds = new Map<string, Resource['kind']>();
  private readonly local = new Map<string, Pod>();
  private policyView: PolicyState | undefined;
  private fullView: PolicyState | undefined;

  get size(): number {
    return this.kinds.size;
  }

  replace(entries: Iterable<readonly [string, Resource]>): void {
    this.namespaces.clear();
    this.pods.clear();
    this.policies.clear();
    this.cluster.clear();
    this.kinds.clear();
    for (const [k, r] of entries) this.put(k, r);
    this.policyView = this.fullView = undefined;
  }

  put(key: string, r: Resource): void {
    const was = this.kinds.get(key);
    if (was && was !== r.kind) this.delete(key);
    this.kinds.set(key, r.kind);
    this.mapOf(r.kind).set(key, r);
    this.touched(r.kind);
  }

  delete(key: string): void {
    const kind = this.kinds.get(key);
    if (!kind) return;
    this.kinds.delete(key);
    this.mapOf(kind).delete(key);
    this.touched(kind);
  }

  /** A pod this node attached, by interface (used while the datastore has no record of it). */
  setLocalPod(ifname: string, pod: Pod | undefined): void {
    if (pod) this.local.set(ifname, pod);
    else this.local.delete(ifname);
    this.fullView = undefined;
  }

  /** Namespaces and policies only (what profile keys depend on). */
  policyState(): PolicyState {
    return (this.policyView ??= {
      namespaces: [...this.namespaces.values()],
      pods: [],
      networkPolicies: [...this.policies.values()],
      clusterNetworkPolicies: [...this.cluster.values()],
    });
  }

  state(): PolicyState {
    if (this.fullView) return this.fullView;
    const pods = [...this.pods.values()];
    const known = new Set(pods.map(podKey));
    for (const p of this.local.values()) if (!known.has(podKey(p))) pods.push(p);
    return (this.fullView = { ...this.policyState(), pods });
  }

  private mapOf(kind: Resource['kind']): Map<string, Resource> {
    switch (kind) {
      case 'Namespace':
        return this.namespaces as Map<string, Resource>;
      case 'Pod':
        return this.pods as Map<string, Resource>;
      case 'NetworkPolicy':
        return this.policies as Map<string, Resource>;
      case 'ClusterNetworkPolicy':
        return this.cluster as Map<string, Resource>;
    }
  }

  private touched(kind: Resource['kind']): void {
    this.fullView = undefined;
    if (kind !== 'Pod') this.policyView = undefined;
  }
}
