/** `podnet agent`: load the configuration, run the agent until SIGTERM/SIGINT. */
import { readFileSync } from 'node:fs';
import { runAgent } from '../agent/agent.js';
import { DEFAULT_CONFIG, parseAgentConfig, parseAgentConfigText, type AgentConfig } from '../agent/config.js';
import { CommonErrors, PodnetError } from '../common/errors.js';
import { parseCommandArgs } from './args.js';
import { VERSION } from './version.js';

export async function agentCommand(argv: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    config: { type: 'string', short: 'c' },
    'node-name': { type: 'string' },
    socket: { type: 'string' },
    'state-dir': { type: 'string' },
    mtu: { type: 'string' },
    'log-level': { type: 'string' },
    pool: { type: 'string', multiple: true },
    datastore: { type: 'string' },
    'etcd-endpoints': { type: 'string' },
    backend: { type: 'string' },
    'underlay-interface': { type: 'string' },
  });
  let config: AgentConfig = DEFAULT_CONFIG;
  if (values.config) {
    let text: string;
    try {
      text = readFileSync(values.config, 'utf8');
    } catch (e) {
      throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `--config ${values.config}: ${(e as Error).message}`);
    }
    config = parseAgentConfigText(text, values.config);
  }
  const overrides: Record<string, unknown> = {};
  if (values['node-name'] !== undefined) overrides.nodeName = values['node-name'];
  if (values.socket !== undefined) overrides.socket = values.socket;
  if (values['state-dir'] !== undefined) overrides.stateDir = values['state-dir'];
  if (values['log-level'] !== undefined) overrides.logLevel = values['log-level'];
  if (values.mtu !== undefined) overrides.mtu = Number(values.mtu);
  if (values.pool !== undefined) overrides.pools = values.pool.map(parsePoolFlag);
  if (values.backend !== undefined) overrides.backend = values.backend;
  if (values['underlay-interface'] !== undefined) overrides.underlayInterface = values['underlay-interface'];
  if (values.datastore !== undefined || values['etcd-endpoints'] !== undefined) {
    const type = values.datastore ?? 'etcd';
    overrides.datastore = type === 'etcd' ? { type, endpoints: (values['etcd-endpoints'] ?? '').split(',').filter(Boolean) } : { type };
  }
  config = parseAgentConfig(overrides, config);

  const agent = await runAgent(config, { version: VERSION });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await agent.close();
  return 0;
}

/** --pool NAME=CIDR[,blockSize=N][,natOutgoing=false][,gateway=IP] */
function parsePoolFlag(s: string): Record<string, unknown> {
  const [head, ...opts] = s.split(',');
  const eq = head?.indexOf('=') ?? -1;
  if (!head || eq <= 0) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `--pool ${s}: expected NAME=CIDR[,blockSize=N][,natOutgoing=false][,gateway=IP]`);
  const pool: Record<string, unknown> = { name: head.slice(0, eq), cidr: head.slice(eq + 1) };
  for (const o of opts) {
    const [k, v] = o.split('=');
    if (k === 'blockSize') pool.blockSize = Number(v);
    else if (k === 'natOutgoing' || k === 'disabled') pool[k] = v === 'true';
    else if (k === 'gateway') pool.gateway = v;
    else throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `--pool ${s}: unknown option ${k}`);
  }
  return pool;
}
