/**
 * The policy scale fixture (the scale test and bench/policy): pods in namespaces of `perNs` pods,
 * 10 NetworkPolicies per namespace of 10 shapes (selectors, namespace selectors, named ports,
 * ipBlock with except, endPort, SCTP, egress), and 20 ClusterNetworkPolicies, some staged.
 * Defaults: 100 namespaces x 100 pods = 10,000 pods and 1,000 policies.
 */
import type { ClusterNetworkPolicy, LabelSelector, Namespace, NetworkPolicy, Pod } from '../../model/k8s.js';
import type { PolicyState } from './types.js';

export const sel = (matchLabels: Record<string, string>): LabelSelector => ({ matchLabels, matchExpressions: [] });

export function bigState(NS = 100, PER_NS = 100): PolicyState {
  const namespaces: Namespace[] = [];
  const pods: Pod[] = [];
  const networkPolicies: NetworkPolicy[] = [];
  for (let n = 0; n < NS; n++) {
    const ns = `ns-${n}`;
    namespaces.push({ kind: 'Namespace', name: ns, labels: { 'kubernetes.io/metadata.name': ns, team: `t${n % 5}`, env: n % 2 ? 'prod' : 'dev' } });
    for (let p = 0; p < PER_NS; p++) {
      const i = n * PER_NS + p;
      pods.push({
        kind: 'Pod',
        namespace: ns,
        name: `pod-${p}`,
        labels: { app: `app-${p % 10}`, tier: ['front', 'back', 'db'][p % 3] as string },
        nodeName: `node-${i % 100}`,
        ports: [{ name: 'http', containerPort: 8000 + (p % 10), protocol: 'TCP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }],
        ips: [`10.244.${i >> 8}.${i & 255}`, `fd00:244::${i.toString(16)}`],
      });
    }
    for (let k = 0; k < 10; k++) {
      const name = `np-${k}`;
      const app = `app-${k}`;
      const shapes: NetworkPolicy[] = [
        { kind: 'NetworkPolicy', namespace: ns, name, podSelector: sel({}), policyTypes: ['Ingress'], ingress: [{ peers: [{ podSelector: sel({}) }], ports: [] }], egress: [] },
        { kind: 'NetworkPolicy', namespace: ns, name, podSelector: sel({ app }), policyTypes: ['Ingress'], ingress: [{ peers: [{ podSelector: sel({ app: `app-${(k + 1) % 10}` }) }], ports: [{ protocol: 'TCP', port: 80 }] }], egress: [] },
        { kind: 'NetworkPolicy', namespace: ns, name, podSelector: sel({ app }), policyTypes: ['Ingress'], ingress: [{ peers: [{ namespaceSelector: sel({ team: `t${k % 5}` }) }], ports: [{ protocol: 'TCP', port: 'http' }] }], egress: [] },
        { kind: 'NetworkPolicy', namespace: ns, name, podSelector: sel({ tier: 'db' }), policyTypes: ['Ingress'], ingress: [{ peers: [{ namespaceSelector: sel({ env: 'prod' }), podSelector: sel({ tier: 'back' }) }], ports: [{ protocol: 'TCP', port: 5432 }] }], egress: [] },
        {
          kind: 'NetworkPolicy', namespace: ns, name, podSelector: sel({ app }), policyTypes: ['Egress'], ingress: [],
          egress: [{ peers: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.96.0.0/12'] } }], ports: [{ protocol: 'UDP', port: 53 }] }, { peers: [{ podSelector: sel({ tier: 'db' }) }], ports: [{ protocol: 'TCP', port: 'http' }] }],
        },
        { kind: 'NetworkPolicy', namespace: ns, name, podSelector: sel({ app: 'app-0' }), policyTypes: ['Ingress'], ingress: [{ peers: [{ namespaceSelector: sel({ env: 'prod' }), podSelector: sel({ app: 'app-5' }) }], ports: [{ protocol: 'TCP', port: 8080 }] }], egress: [] },
        { kind: 'NetworkPolicy', namespace: ns, name, podSelector: sel({ tier: 'front' }), policyTypes: ['Egress'], ingress: [], egress: [{ peers: [{ namespaceSelector: sel({}) }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 'http' }] }] },
        { kind: 'NetworkPolicy', namespace: ns, name, podSelector: sel({ app }), policyTypes: ['Ingress'], ingress: [{ peers: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.1.0/24'] } }], ports: [] }], egress: [] },
        { kind: 'NetworkPolicy', namespace: ns, name, podSelector: sel({ tier: 'back' }), policyTypes: ['Ingress'], ingress: [{ peers: [{ podSelector: sel({ tier: 'front' }) }], ports: [{ protocol: 'TCP', port: 8000, endPort: 8100 }] }], egress: [] },
        {
          kind: 'NetworkPolicy', namespace: ns, name, podSelector: sel({ app }), policyTypes: ['Ingress', 'Egress'],
          ingress: [{ peers: [{ podSelector: sel({ app: 'app-0' }) }], ports: [{ protocol: 'SCTP', port: 9000 }] }], egress: [{ peers: [], ports: [{ protocol: 'TCP', port: 443 }] }],
        },
      ];
      networkPolicies.push(shapes[k] as NetworkPolicy);
    }
  }
  const clusterNetworkPolicies: ClusterNetworkPolicy[] = Array.from({ length: 20 }, (_, i) => ({
    kind: 'ClusterNetworkPolicy',
    name: `cnp-${i}`,
    order: i,
    stage: i % 7 === 0 ? 'audit' : 'enforce',
    namespaceSelector: sel({ team: `t${i % 5}` }),
    ingress: [{ action: (['Allow', 'Deny', 'Pass', 'Log'] as const)[i % 4] as 'Allow', peers: [{ namespaceSelector: sel({ env: i % 2 ? 'prod' : 'dev' }), podSelector: sel({ tier: 'front' }) }], ports: [{ protocol: 'TCP', port: 443 }] }],
    egress: [{ action: 'Deny', peers: [{ ipBlock: { cidr: `169.254.${i}.0/24`, except: [] } }], ports: [] }],
  }));
  return { namespaces, pods, networkPolicies, clusterNetworkPolicies };
}

