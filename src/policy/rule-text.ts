/** Rule references as text for messages, explain output and flow-log prefixes. */
import type { RuleRef } from './compile/types.js';

/** "NetworkPolicy x/allow-web ingress[0]", "ClusterNetworkPolicy deny-db egress[1] Deny (audit)". */
export function ruleRefText(r: RuleRef): string {
  if (r.kind === 'NetworkPolicy') return `NetworkPolicy ${r.namespace}/${r.name} ${r.direction}[${r.index}]`;
  return `ClusterNetworkPolicy ${r.name} ${r.direction}[${r.index}] ${r.action}${r.stage === 'audit' ? ' (audit)' : ''}`;
}
