/**
 * Resources back to Kubernetes manifests (what `podnet get -o yaml|json` prints): the same
 * shape `podnet apply` reads, so a listing applies again unchanged. Defaults are written out
 * (protocol, policyTypes, stage), empty selectors as {}.
 */
import { API_VERSIONS, type ClusterPolicyRule, type LabelSelector, type NetworkPolicyRule, type PolicyPeer, type PolicyPort, type Resource } from '../model/k8s.js';

export type Manifest = Record<string, unknown>;

function selector(s: LabelSelector): Manifest {
  return {
    ...(Object.keys(s.matchLabels).length > 0 ? { matchLabels: { ...s.matchLabels } } : {}),
    ...(s.matchExpressions.length > 0 ? { matchExpressions: s.matchExpressions.map((e) => ({ key: e.key, operator: e.operator, ...(e.values.length > 0 ? { values: [...e.values] } : {}) })) } : {}),
  };
}

function peer(p: PolicyPeer): Manifest {
  return {
    ...(p.podSelector ? { podSelector: selector(p.podSelector) } : {}),
    ...(p.namespaceSelector ? { namespaceSelector: selector(p.namespaceSelector) } : {}),
    ...(p.ipBlock ? { ipBlock: { cidr: p.ipBlock.cidr, ...(p.ipBlock.except.length > 0 ? { except: [...p.ipBlock.except] } : {}) } } : {}),
  };
}

const port = (p: PolicyPort): Manifest => ({ protocol: p.protocol, ...(p.port !== undefined ? { port: p.port } : {}), ...(p.endPort !== undefined ? { endPort: p.endPort } : {}) });

function rule(r: NetworkPolicyRule | ClusterPolicyRule, peersKey: 'from' | 'to'): Manifest {
  return {
    ...('action' in r ? { action: r.action } : {}),
    ...(r.peers.length > 0 ? { [peersKey]: r.peers.map(peer) } : {}),
    ...(r.ports.length > 0 ? { ports: r.ports.map(port) } : {}),
  };
}

export function toManifest(r: Resource): Manifest {
  const head = { apiVersion: API_VERSIONS[r.kind], kind: r.kind };
  switch (r.kind) {
    case 'Namespace':
      return { ...head, metadata: { name: r.name, labels: { ...r.labels } } };
    case 'Pod':
      return {
        ...head,
        metadata: { name: r.name, namespace: r.namespace, ...(Object.keys(r.labels).length > 0 ? { labels: { ...r.labels } } : {}) },
        spec: {
          ...(r.nodeName !== undefined ? { nodeName: r.nodeName } : {}),
          containers: r.ports.length > 0 ? [{ name: 'ports', ports: r.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), containerPort: p.containerPort, protocol: p.protocol })) }] : [],
        },
        ...(r.ips.length > 0 ? { status: { podIPs: r.ips.map((ip) => ({ ip })) } } : {}),
      };
    case 'NetworkPolicy':
      return {
        ...head,
        metadata: { name: r.name, namespace: r.namespace },
        spec: {
          podSelector: selector(r.podSelector),
          policyTypes: [...r.policyTypes],
          ...(r.policyTypes.includes('Ingress') ? { ingress: r.ingress.map((x) => rule(x, 'from')) } : {}),
          ...(r.policyTypes.includes('Egress') ? { egress: r.egress.map((x) => rule(x, 'to')) } : {}),
        },
      };
    case 'ClusterNetworkPolicy':
      return {
        ...head,
        metadata: { name: r.name },
        spec: {
          order: r.order,
          stage: r.stage,
          ...(r.namespaceSelector ? { namespaceSelector: selector(r.namespaceSelector) } : {}),
          ...(r.podSelector ? { podSelector: selector(r.podSelector) } : {}),
          ...(r.ingress.length > 0 ? { ingress: r.ingress.map((x) => rule(x, 'from')) } : {}),
          ...(r.egress.length > 0 ? { egress: r.egress.map((x) => rule(x, 'to')) } : {}),
        },
      };
  }
}
