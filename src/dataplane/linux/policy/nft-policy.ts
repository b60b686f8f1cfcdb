/**
 * Network policy in the kernel: the `inet podnet-policy` table of the agent's own network
 * namespace, programmed with `nft -f -` (one transaction per call, script on stdin, argument
 * arrays only). A replacement deletes and recreates the table inside one transaction, so no
 * packet ever sees the node without policy.
 */
import { PodnetError } from '../../../common/errors.js';
import { deleteTableScript, fullScript, opsScript, POLICY_FAMILY, POLICY_TABLE, type NftModel, type NftOp } from '../../../policy/nft/render.js';
import { EGRESS_MAP, INGRESS_MAP } from '../../../policy/nft/names.js';
import type { PolicyDataplane } from '../../../policy/program/port.js';
import { DataplaneErrors } from '../../errors.js';
import { runNft, type NftOptions } from '../nat/nft.js';
import { LibNftables } from './libnftables.js';

export class LinuxPolicyDataplane implements PolicyDataplane {
  /** In-process libnftables for this process's own namespace; the nft command otherwise. */
  private readonly lib: LibNftables | undefined;

  constructor(private readonly nft: NftOptions = {}) {
    this.lib = nft.netns === undefined && nft.nftPath === undefined ? LibNftables.load() : undefined;
  }

  async replace(model: NftModel): Promise<void> {
    await this.run(fullScript(model), 'replacing the policy table');
    // libnftables refills its cache of the table on the first command after a replacement
    // (~100 ms at 10,000 pods): a no-op now keeps that off the next pod's admission.
    if (this.lib) await this.lib.run(`add table ${POLICY_FAMILY} ${POLICY_TABLE}`);
  }

  async update(ops: readonly NftOp[], _model: NftModel): Promise<void> {
    const script = opsScript(ops);
    if (script !== '') await this.run(script, `updating the policy table (${ops.length} operations)`);
  }

  remove(): Promise<void> {
    return this.run(deleteTableScript(), 'removing the policy table');
  }

  /** The interface maps hold exactly the model's interfaces (a lost or flushed table fails this). */
  async intact(model: NftModel): Promise<boolean> {
    for (const map of [INGRESS_MAP, EGRESS_MAP]) {
      const r = await runNft({ timeoutMs: 15_000, ...this.nft }, ['list', 'map', POLICY_FAMILY, POLICY_TABLE, map]);
      if (r.code !== 0) return false;
      const have = new Set(r.stdout.match(/"pn[0-9a-f]{12}"/g) ?? []);
      const want = [...(model.sets.get(map)?.elements.keys() ?? [])];
      if (have.size !== want.length || want.some((k) => !have.has(k))) return false;
    }
    return true;
  }

  private async run(script: string, what: string): Promise<void> {
    if (this.lib) {
      const r = await this.lib.run(script);
      if (!r.ok) throw new PodnetError(DataplaneErrors.DATAPLANE_POLICY_FAILED, `${what}: libnftables: ${r.error.split('\n').slice(0, 12).join('\n')}`);
      return;
    }
    const r = await runNft({ timeoutMs: 60_000, ...this.nft }, ['-f', '-'], script);
    if (r.code !== 0) {
      const words = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(0, 12).join('\n');
      throw new PodnetError(DataplaneErrors.DATAPLANE_POLICY_FAILED, `${what}: nft exited ${r.code}: ${words}`);
    }
  }
}
