/**
 * The CniBackend the Node fallback plugin uses when it cannot reach the agent's socket. ADD,
 * CHECK, DEL and GC fail with CNI_TRY_AGAIN_LATER (code 11: the runtime retries, and a DEL that
 * fails is retried rather than leaking the address); STATUS fails with CNI_PLUGIN_NOT_AVAILABLE
 * (code 50: the plugin cannot serve ADDs).
 */
import { PodnetError } from '../common/errors.js';
import { CniErrors } from './errors.js';
import type { CniBackend } from './backend.js';
import type { Attachment, CniRequest, CniResult, PodnetNetConf } from './types.js';

export class AgentUnavailableBackend implements CniBackend {
  /** `reason`: why the socket could not be reached, e.g. "connect ENOENT /run/podnet/agent.sock". */
  constructor(readonly reason: string) {}

  message(socket: string): string {
    return `podnet agent is not reachable at ${socket}: ${this.reason}; is \`podnet agent\` running?`;
  }

  private retry(conf: PodnetNetConf): PodnetError {
    return new PodnetError(CniErrors.CNI_TRY_AGAIN_LATER, this.message(conf.agentSocket));
  }

  async add(req: CniRequest): Promise<CniResult> {
    throw this.retry(req.conf);
  }

  async del(req: CniRequest): Promise<void> {
    throw this.retry(req.conf);
  }

  async check(req: CniRequest): Promise<void> {
    throw this.retry(req.conf);
  }

  async status(conf: PodnetNetConf): Promise<void> {
    throw new PodnetError(CniErrors.CNI_PLUGIN_NOT_AVAILABLE, this.message(conf.agentSocket));
  }

  async gc(conf: PodnetNetConf, _valid: readonly Attachment[]): Promise<void> {
    throw this.retry(conf);
  }
}
