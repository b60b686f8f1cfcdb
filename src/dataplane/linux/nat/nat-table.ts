/**
 * The egress NAT table of one namespace: read back, then brought to the desired sets with one
 * nft transaction: element updates when only pools changed, a rebuild when the table is missing
 * or not ours, nothing at all when it already matches.
 *
 * Reading back means spawning nft (10-40 ms). The nftables generation id (one netlink request)
 * tells whether any transaction was committed since our last read or write; when none was, the
 * table is what we saw, and a no-op apply spawns nothing.
 */
import { PodnetError } from '../../../common/errors.js';
import type { DesiredNat } from '../../../calc/types.js';
import { LinuxClusterErrors } from '../cluster/errors.js';
import { NftGeneration } from './generation.js';
import { type NftOptions, nftScript, runNft } from './nft.js';
import { type ObservedNat, parseNatTable } from './observe.js';
import { NAT_FAMILY, NAT_TABLE, type NatSets, deleteScript, elementScript, fullScript, natSets } from './ruleset.js';

export interface NftNatOptions extends NftOptions {
  /** Names the namespace in netlink errors. */
  readonly label?: string;
}

export class NftNatTable {
  private readonly generation: NftGeneration;
  /** What the table was at a generation id we saw. */
  private known: { readonly gen: number; readonly observed: ObservedNat } | undefined;

  constructor(private readonly opts: NftNatOptions = {}) {
    this.generation = new NftGeneration({
      ...(opts.netns === undefined ? {} : { netnsPath: opts.netns }),
      label: opts.label ?? opts.netns ?? 'current namespace',
      timeoutMs: opts.timeoutMs ?? 5000,
    });
  }

  close(): void {
    this.generation.close();
  }

  async read(): Promise<ObservedNat> {
    const before = this.gen();
    if (before !== undefined && this.known?.gen === before) return this.known.observed;
    const observed = await this.readNft();
    const after = this.gen();
    this.known = before !== undefined && after === before ? { gen: before, observed } : undefined;
    return observed;
  }

  /** Brings the table to `desired`; true when something changed. No NAT pools: no table. */
  async apply(desired: DesiredNat): Promise<boolean> {
    const want = natSets(desired);
    const have = await this.read();
    if (want.nat4.length + want.nat6.length === 0) {
      if (have.state === 'absent') return false;
      await this.write(deleteScript(), `delete table ${NAT_FAMILY} ${NAT_TABLE}`, { state: 'absent' });
      return true;
    }
    const ours: ObservedNat = { state: 'ours', sets: want };
    if (have.state !== 'ours') {
      await this.write(fullScript(want), `create table ${NAT_FAMILY} ${NAT_TABLE}`, ours);
      return true;
    }
    const script = elementScript(have.sets, want);
    if (script === undefined) return false;
    try {
      await this.write(script, `update sets of ${NAT_FAMILY} ${NAT_TABLE}`, ours);
    } catch {
      // e.g. an interval the kernel sees as overlapping mid-transaction: rebuild instead.
      await this.write(fullScript(want), `rebuild table ${NAT_FAMILY} ${NAT_TABLE}`, ours);
    }
    return true;
  }

  /** Removes the table; true when there was one. */
  async clear(): Promise<boolean> {
    const have = await this.read();
    if (have.state === 'absent') return false;
    await this.write(deleteScript(), `delete table ${NAT_FAMILY} ${NAT_TABLE}`, { state: 'absent' });
    return true;
  }

  // --- internals -------------------------------------------------------------------------------

  private gen(): number | undefined {
    try {
      return this.generation.read();
    } catch {
      return undefined; // no nf_tables netlink: read back every time
    }
  }

  private async readNft(): Promise<ObservedNat> {
    const r = await runNft(this.opts, ['-j', 'list', 'table', NAT_FAMILY, NAT_TABLE]);
    if (r.code === 0) return parseNatTable(r.stdout);
    if (/No such file or directory/.test(r.stderr)) return { state: 'absent' };
    throw new PodnetError(LinuxClusterErrors.CLUSTER_NFT_FAILED, `list table ${NAT_FAMILY} ${NAT_TABLE}: nft exited ${r.code}: ${r.stderr.trim()}`);
  }

  /** One transaction; the result is remembered only if it was the only commit meanwhile. */
  private async write(script: string, what: string, result: ObservedNat): Promise<void> {
    const before = this.gen();
    this.known = undefined;
    await nftScript(this.opts, script, what);
    const after = this.gen();
    if (before !== undefined && after === before + 1) this.known = { gen: after, observed: result };
  }
}

export type { NatSets, ObservedNat };
