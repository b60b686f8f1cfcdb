/** Resources (e.g. everything `podnet apply` stored) -> the PolicyState the compiler and explain read. */
import type { Resource } from '../model/k8s.js';
import type { PolicyState } from './compile/types.js';

export function stateOf(resources: readonly Resource[]): PolicyState {
  return {
    namespaces: resources.filter((r) => r.kind === 'Namespace'),
    pods: resources.filter((r) => r.kind === 'Pod'),
    networkPolicies: resources.filter((r) => r.kind === 'NetworkPolicy'),
    clusterNetworkPolicies: resources.filter((r) => r.kind === 'ClusterNetworkPolicy'),
  };
}
