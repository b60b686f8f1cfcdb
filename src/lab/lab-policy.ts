/**
 * Resources in a lab: apply or delete manifests through one agent (they share the datastore),
 * then wait, bounded, until every node's agent has programmed the resulting revision.
 */
import { callRpc } from '../agent/client.js';
import type { PolicyStatusView } from '../agent/rpc-policy.js';
import { CommonErrors, PodnetError } from '../common/errors.js';
import type { ChangeReport } from '../resources/store.js';
import type { Lab } from './lab.js';

/** Waits until every node's policy table reflects `revision`. */
export async function waitProgrammed(lab: Lab, revision: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const n of lab.nodes()) {
    for (let i = 0; ; i++) {
      const s = await callRpc<PolicyStatusView>(n.socket, 'policy.status', {}, 5000);
      if (!s.enabled || s.programmedRevision >= revision) break;
      if (Date.now() > deadline || i > 5000) {
        throw new PodnetError(CommonErrors.TIMEOUT, `node ${n.name} had not programmed revision ${revision} after ${timeoutMs} ms (at ${s.programmedRevision}${s.lastError ? `; last error: ${s.lastError}` : ''})`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** `podnet apply` (or delete) on the first node, in force on every node when it resolves. */
export async function applyEverywhere(lab: Lab, text: string, verb: 'apply' | 'delete' = 'apply', timeoutMs?: number): Promise<ChangeReport> {
  const first = lab.nodes()[0];
  if (!first) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `lab ${lab.name} has no nodes`);
  const r = await callRpc<ChangeReport>(first.socket, verb === 'apply' ? 'resources.apply' : 'resources.delete', { text });
  await waitProgrammed(lab, r.revision, timeoutMs);
  return r;
}
