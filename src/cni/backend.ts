/**
 * What the CNI verb layer needs from the agent. The verb layer (src/cni) parses and validates a
 * runtime's call, then calls one of these; the agent (src/agent) implements them with IPAM and
 * the dataplane. The "ipam" mode serves `podnet-ipam` as another plugin's `ipam.type`.
 */
import type { Attachment, CniRequest, CniResult, PodnetNetConf } from './types.js';

export type PluginMode = 'cni' | 'ipam';

export interface CniBackend {
  /** Returns a result in 1.x form; the verb layer converts it to the config's version. */
  add(req: CniRequest, mode: PluginMode): Promise<CniResult>;
  /** Idempotent: an unknown container, a missing netns, a missing lease are all success. */
  del(req: CniRequest, mode: PluginMode): Promise<void>;
  check(req: CniRequest, mode: PluginMode): Promise<void>;
  /** Throws PodnetError with a STATUS code (50/51) when the plugin cannot serve ADDs. */
  status(conf: PodnetNetConf, mode: PluginMode): Promise<void>;
  /** Releases everything of this network not in valid. */
  gc(conf: PodnetNetConf, valid: readonly Attachment[], mode: PluginMode): Promise<void>;
}
