/**
 * The two semantics partitions are built with. Kubernetes: any rule of any selecting policy
 * allows (union), keeping every allowing rule. Cluster tiers: first match in evaluation order;
 * Log records and continues; Allow, Deny and Pass end the evaluation; a rule of an audit-stage
 * policy changes nothing: the first of its policy's non-Log rules to match is recorded as
 * "audit-deny" when it is a Deny (what enforcing would drop), and the rest of that policy (its
 * Log rules too) is skipped, as enforcing it would have ended evaluation there.
 */
import type { Combine } from './partition.js';
import type { ClusterDecision, ClusterRecord, ClusterTier } from './types.js';

/** The value is the ranks themselves (indices of the allowing rules). */
export const unionOfRules: Combine<readonly number[]> = (ranks) => ({ value: ranks, key: ranks.join(',') });

export function firstMatch(tiers: readonly ClusterTier[]): Combine<ClusterDecision> {
  return (ranks) => {
    const records: ClusterRecord[] = [];
    const recordKeys: string[] = [];
    const auditDone = new Set<string>();
    for (const r of ranks) {
      const rule = (tiers[r] as ClusterTier).rule;
      if (rule.stage === 'audit' && auditDone.has(rule.name)) continue;
      if (rule.action === 'Log') {
        records.push({ kind: 'log', rule });
        recordKeys.push(`L${r}`);
        continue;
      }
      if (rule.stage === 'audit') {
        auditDone.add(rule.name);
        if (rule.action === 'Deny') {
          records.push({ kind: 'audit-deny', rule });
          recordKeys.push(`A${r}`);
        }
        continue;
      }
      const verdict = rule.action === 'Allow' ? 'allow' : rule.action === 'Deny' ? 'deny' : 'pass';
      return { value: { verdict, decidedBy: rule, records }, key: `${verdict}${r}|${recordKeys.join(',')}` };
    }
    if (records.length === 0) return undefined;
    return { value: { records }, key: `|${recordKeys.join(',')}` };
  };
}
