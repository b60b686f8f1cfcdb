/** openNflog: packets logged by nft `log group N` rules in one namespace, read off-thread. */
import { nflogConfig } from './options.js';
import { startReader } from './reader.js';
import type { NflogHandle, NflogOptions, NflogPacket } from './types.js';

/**
 * Binds NFLOG group opts.group in opts.netns (or the process's namespace) and delivers the logged
 * packets in batches to onPackets. One socket per group and namespace: a second open of the same
 * group fails with NETFILTER_GROUP_IN_USE. Resolves once the group is bound.
 */
export async function openNflog(opts: NflogOptions): Promise<NflogHandle> {
  const cfg = nflogConfig(opts);
  return startReader<NflogPacket>(cfg, opts.onPackets, opts.onError);
}
