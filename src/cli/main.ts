/** Command table of the `podnet` CLI. Each command returns its output; errors carry a code. */
import { AgentRpcError } from '../agent/client.js';
import { PodnetError } from '../common/errors.js';
import { agentCommand } from './agent-command.js';
import { errorsCommand } from './errors-command.js';
import { labCommand } from './lab-command.js';
import { endpointsCommand, ipamShowCommand, nodeRemoveCommand, nodesCommand, statusCommand } from './agent-queries.js';
import { applyCommand, deleteCommand, getCommand } from './resource-commands.js';
import { policyExplainCommand, policyStatusCommand } from './policy-commands.js';
import { metricsCommand, observeCommand } from './observe-command.js';
import { VERSION } from './version.js';

type Command = (argv: readonly string[]) => Promise<string | number>;

const COMMANDS: Readonly<Record<string, { readonly run: Command; readonly help: string }>> = {
  agent: { run: agentCommand, help: 'run the node agent (IPAM, pod dataplane, CNI socket)' },
  status: { run: statusCommand, help: "show the local agent's state" },
  endpoints: { run: endpointsCommand, help: 'list pod endpoints on this node' },
  'ipam show': { run: ipamShowCommand, help: 'show IP pools, blocks and usage' },
  nodes: { run: nodesCommand, help: 'list the nodes of the cluster and whether their agents are alive' },
  'node remove': { run: nodeRemoveCommand, help: "remove a (dead) node: its routes vanish everywhere, its addresses return to the pools" },
  apply: { run: applyCommand, help: 'create or update resources from manifests: -f FILE|- (Namespace, Pod, NetworkPolicy, ClusterNetworkPolicy) [--wait]' },
  delete: { run: deleteCommand, help: 'delete resources: -f FILE|- or KIND NAME [-n NAMESPACE]' },
  get: { run: getCommand, help: 'list resources: KIND [NAME] [-n NAMESPACE | -A] [-o yaml|json]' },
  'policy explain': { run: policyExplainCommand, help: 'which policies decide a connection: --from NS/POD --to NS/POD --port 80/TCP' },
  'policy status': { run: policyStatusCommand, help: "the node's policy programming state" },
  observe: { run: observeCommand, help: 'flow records of every node: --follow, --pod NS/POD, --namespace, --verdict forwarded|dropped|audit|logged, --protocol, --port, --since 5m, -o json' },
  metrics: { run: metricsCommand, help: "the local agent's Prometheus metrics (also served at http://NODE:9473/metrics)" },
  lab: { run: labCommand, help: 'a multi-node cluster in network namespaces: up, status, pod, exec, ping, node, down, demo' },
  errors: { run: errorsCommand, help: 'list every error code (--markdown for docs/ERRORS.md)' },
  version: { run: async () => `podnet ${VERSION}\n`, help: 'print the version' },
};

export function usage(): string {
  const names = Object.keys(COMMANDS);
  const w = Math.max(...names.map((n) => n.length));
  return [
    'usage: podnet COMMAND [options]',
    '',
    ...names.map((n) => `  ${n.padEnd(w)}  ${COMMANDS[n]?.help ?? ''}`),
    '',
    'Query commands take -o json|yaml|table and --socket PATH (default /run/podnet/agent.sock).',
    '',
  ].join('\n');
}

/** Runs argv; returns the process exit code. */
export async function runCommand(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '-h' || argv[0] === '--help' || argv[0] === 'help') {
    process.stdout.write(usage());
    return argv.length === 0 ? 2 : 0;
  }
  const two = argv.length > 1 ? `${argv[0]} ${argv[1]}` : '';
  const [name, rest] = COMMANDS[two] ? [two, argv.slice(2)] : [argv[0] as string, argv.slice(1)];
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`podnet: unknown command ${JSON.stringify(argv.join(' '))}\n\n${usage()}`);
    return 2;
  }
  try {
    const out = await cmd.run(rest);
    if (typeof out === 'number') return out;
    process.stdout.write(out);
    return 0;
  } catch (e) {
    if (e instanceof PodnetError || e instanceof AgentRpcError) {
      process.stderr.write(`podnet ${name}: ${e.message} [${e.code}]\n`);
      return 1;
    }
    const errno = (e as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT' || errno === 'ECONNREFUSED') {
      process.stderr.write(`podnet ${name}: the podnet agent is not running (${(e as Error).message})\n`);
      return 1;
    }
    throw e;
  }
}
