/**
 * `podnet lab …`: a multi-node cluster in network namespaces on this machine (src/lab). Labs made
 * here are detached (agents and etcd outlive the command); later commands re-attach through the
 * lab's state file. `up` and `demo` remove everything they built when interrupted.
 */
import { spawn } from 'node:child_process';
import { CommonErrors, PodnetError } from '../common/errors.js';
import type { Family } from '../common/ip.js';
import { runDemo } from '../lab/demo.js';
import { LabErrors } from '../lab/errors.js';
import { collectEvidence } from '../lab/evidence.js';
import { Lab } from '../lab/lab.js';
import { renderEgress, renderMatrix, renderStatus } from '../lab/render.js';
import { assertComplete, teardownAll, teardownLab, type TeardownReport } from '../lab/teardown.js';
import { checkBackend, checkLabName, DEFAULT_LAB, LAB_NS_PREFIX } from '../lab/topology.js';
import { statusCommand } from './agent-queries.js';
import { outputOption, parseCommandArgs } from './args.js';
import { parseOutputFormat, render } from './output.js';

const nameOption = { name: { type: 'string' } } as const;

const USAGE = `usage: podnet lab COMMAND [--name LAB] (default lab: ${DEFAULT_LAB})

  up [--nodes N] [--backend host-gw|vxlan|cross-subnet] [--subnets 1|2] [--etcd-members 1-3]
                               build the underlay, start etcd and one agent per node
  status [-o json|yaml] [--evidence]
                               nodes, agents, sync state, pods and their addresses (and per
                               node: routes, VXLAN FDB/neighbours, NAT table, agent log tail)
  pod add NODE POD [--namespace NS] [--label K=V]...
                               create a pod namespace on NODE and attach it (CNI ADD)
  pod del POD                  detach (CNI DEL) and delete the pod
  exec TARGET -- CMD [ARG]...  run a command in a pod's (or node's: n1, ext, rt, etcd) namespace
  ping [--family 4|6]          every pod pings every other pod; exit 1 if any pair fails
  egress POD [--family 4|6]    POD reaches the external namespace; ext must see the node's address
  node add | node del NODE     add a node / remove one (pods, agent, datastore record, namespace)
  agent start|stop|kill|restart NODE
  down [--all]                 remove the lab (every lab with --all), also after crashes
  demo [--backend B] [--subnets 1|2] [--keep]
                               3 nodes, 2 pods each, reachability matrices, egress NAT, verdict
`;

function labName(v: string | undefined): string {
  return checkLabName(v ?? process.env.PODNET_LAB ?? DEFAULT_LAB);
}

function int(v: string | undefined, what: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `--${what} ${v}: want an integer`);
  return n;
}

function family(v: string | undefined): Family {
  if (v === undefined || v === '4') return 4;
  if (v === '6') return 6;
  throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `--family ${v}: want 4 or 6`);
}

function subnetsOf(v: string | undefined): 1 | 2 {
  const n = int(v, 'subnets', 1);
  if (n !== 1 && n !== 2) throw new PodnetError(LabErrors.LAB_INVALID, `--subnets ${n}: want 1 or 2`);
  return n;
}

/**
 * Runs fn; if SIGINT/SIGTERM/SIGHUP arrives meanwhile, tears the lab down (twice: the second pass
 * catches what an in-flight step created during the first) and exits 130.
 */
async function teardownOnSignal<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const sigs = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  let stopping = false;
  const handler = (sig: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\npodnet lab: ${sig}: removing lab ${name}…\n`);
    void (async () => {
      await teardownLab(name);
      const r = await teardownLab(name);
      process.stderr.write(r.leftNamespaces.length || r.leftPids.length ? `podnet lab: teardown incomplete: ${JSON.stringify(r)}\n` : `podnet lab: lab ${name} removed\n`);
      process.exit(130);
    })();
  };
  for (const s of sigs) process.on(s, handler);
  try {
    return await fn();
  } catch (e) {
    // Interrupted: fn failed because its namespaces vanished; the handler exits the process.
    if (stopping) await new Promise<never>(() => undefined);
    throw e;
  } finally {
    if (!stopping) for (const s of sigs) process.removeListener(s, handler);
  }
}

async function up(argv: readonly string[]): Promise<string> {
  const { values } = parseCommandArgs(argv, {
    ...nameOption,
    nodes: { type: 'string' },
    backend: { type: 'string' },
    subnets: { type: 'string' },
    'etcd-members': { type: 'string' },
    'log-level': { type: 'string' },
  });
  const name = labName(values.name);
  const t0 = Date.now();
  const logLevel = values['log-level'];
  if (logLevel !== undefined && !['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `--log-level ${logLevel}`);
  const lab = await teardownOnSignal(name, () =>
    Lab.up({
      name,
      nodes: int(values.nodes, 'nodes', 3),
      backend: checkBackend(values.backend ?? 'vxlan'),
      subnets: subnetsOf(values.subnets),
      etcdMembers: int(values['etcd-members'], 'etcd-members', 1),
      detached: true,
      ...(logLevel ? { logLevel: logLevel as 'debug' | 'info' | 'warn' | 'error' } : {}),
      progress: (l) => process.stdout.write(`  ${l}\n`),
    }),
  );
  const first = lab.nodes()[0]?.name ?? 'n1';
  return [
    `lab ${name} up in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${lab.nodes().length} nodes (${lab.nodes().map((n) => n.name).join(', ')}), backend ${lab.backend}, etcd ${lab.etcdEndpoints.join(',')}`,
    `next: ${['pod add ' + first + ' web', 'ping', 'status', 'down'].map((c) => `podnet lab ${c}${name === DEFAULT_LAB ? '' : ` --name ${name}`}`).join('; ')}`,
    '',
  ].join('\n');
}

async function status(argv: readonly string[]): Promise<string> {
  const { values } = parseCommandArgs(argv, { ...nameOption, ...outputOption, evidence: { type: 'boolean' } });
  const lab = await Lab.load(labName(values.name));
  const s = await lab.status();
  const text = render(s, parseOutputFormat(values.output), () => renderStatus(s));
  return values.evidence ? `${text}\n${await collectEvidence(lab)}` : text;
}

async function pod(argv: readonly string[]): Promise<string> {
  const [verb, ...rest] = argv;
  if (verb === 'add') {
    const { values, positionals } = parseCommandArgs(rest, { ...nameOption, namespace: { type: 'string' }, label: { type: 'string', multiple: true } }, 2);
    const [node, podName] = positionals;
    if (!node || !podName) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, 'usage: podnet lab pod add NODE POD [--namespace NS] [--label K=V]...');
    const labels: Record<string, string> = {};
    for (const l of values.label ?? []) {
      const eq = l.indexOf('=');
      if (eq <= 0) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `--label ${l}: want KEY=VALUE`);
      labels[l.slice(0, eq)] = l.slice(eq + 1);
    }
    const lab = await Lab.load(labName(values.name));
    const p = await lab.addPod(node, podName, { ...(values.namespace ? { namespace: values.namespace } : {}), labels });
    return `pod ${p.name} on ${p.node}: ${p.addresses.join(', ')} (namespace ${p.ns})\n`;
  }
  if (verb === 'del') {
    const { values, positionals } = parseCommandArgs(rest, nameOption, 1);
    if (!positionals[0]) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, 'usage: podnet lab pod del POD');
    const r = await (await Lab.load(labName(values.name))).delPod(positionals[0]);
    return `pod ${positionals[0]} deleted${r.cniDeleted ? '' : ` (CNI DEL failed: ${r.error ?? '?'}; namespace removed anyway)`}\n`;
  }
  throw new PodnetError(CommonErrors.INVALID_ARGUMENT, 'usage: podnet lab pod add|del …');
}

/** exec TARGET -- CMD ARGS…: argv after "--" is passed as is (never through a shell). */
async function exec(argv: readonly string[]): Promise<number> {
  const dash = argv.indexOf('--');
  if (dash < 0 || dash === argv.length - 1) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, 'usage: podnet lab exec TARGET -- CMD [ARG]...');
  const { values, positionals } = parseCommandArgs(argv.slice(0, dash), nameOption, 1);
  if (!positionals[0]) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, 'usage: podnet lab exec TARGET -- CMD [ARG]...');
  const ns = (await Lab.load(labName(values.name))).nsOf(positionals[0]);
  const child = spawn('ip', ['netns', 'exec', ns, ...argv.slice(dash + 1)], { stdio: 'inherit' });
  const ignore = (): void => undefined; // the child gets the terminal's signals; we wait for it
  process.on('SIGINT', ignore);
  try {
    return await new Promise<number>((resolve) => {
      child.once('error', (e) => {
        process.stderr.write(`podnet lab exec: ${e.message}\n`);
        resolve(127);
      });
      child.once('exit', (code, sig) => resolve(code ?? (sig ? 128 + 15 : 1)));
    });
  } finally {
    process.removeListener('SIGINT', ignore);
  }
}

async function ping(argv: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...nameOption, ...outputOption, family: { type: 'string' } });
  const lab = await Lab.load(labName(values.name));
  const m = await lab.pingMatrix({ family: family(values.family) });
  process.stdout.write(render(m, parseOutputFormat(values.output), () => renderMatrix(m)));
  return m.failed > 0 || m.cells.length === 0 ? 1 : 0;
}

async function egress(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { ...nameOption, ...outputOption, family: { type: 'string' } }, 1);
  if (!positionals[0]) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, 'usage: podnet lab egress POD [--family 4|6]');
  const e = await (await Lab.load(labName(values.name))).egress(positionals[0], family(values.family));
  process.stdout.write(render(e, parseOutputFormat(values.output), () => renderEgress(e)));
  return e.ok ? 0 : 1;
}

async function node(argv: readonly string[]): Promise<string> {
  const [verb, ...rest] = argv;
  const { values, positionals } = parseCommandArgs(rest, nameOption, verb === 'del' ? 1 : 0);
  const lab = await Lab.load(labName(values.name));
  if (verb === 'add') return `node ${await lab.addNode()} added\n`;
  if (verb === 'del' && positionals[0]) {
    await lab.removeNode(positionals[0]);
    return `node ${positionals[0]} removed\n`;
  }
  throw new PodnetError(CommonErrors.INVALID_ARGUMENT, 'usage: podnet lab node add | node del NODE');
}

async function agent(argv: readonly string[]): Promise<string> {
  const [verb, ...rest] = argv;
  const { values, positionals } = parseCommandArgs(rest, nameOption, 1);
  const n = positionals[0];
  if (!n || !['start', 'stop', 'kill', 'restart'].includes(verb ?? '')) throw new PodnetError(CommonErrors.INVALID_ARGUMENT, 'usage: podnet lab agent start|stop|kill|restart NODE');
  const lab = await Lab.load(labName(values.name));
  if (verb === 'start') await lab.startAgent(n);
  else if (verb === 'stop') await lab.stopAgent(n);
  else if (verb === 'kill') await lab.killAgent(n);
  else await lab.restartAgent(n);
  return `agent ${n}: ${verb} done${lab.agentPid(n) !== undefined ? ` (pid ${lab.agentPid(n) ?? ''})` : ''}\n`;
}

async function down(argv: readonly string[]): Promise<string> {
  const { values } = parseCommandArgs(argv, { ...nameOption, all: { type: 'boolean' } });
  const reports: TeardownReport[] = values.all ? await teardownAll() : [await teardownLab(labName(values.name))];
  for (const r of reports) assertComplete(r);
  if (reports.length === 0) return `no labs (no ${LAB_NS_PREFIX}* namespaces, nothing under /run/podnet-lab)\n`;
  return reports.map((r) => `lab ${r.lab}: killed ${r.killed.length} processes, removed ${r.namespaces.length} namespaces\n`).join('');
}

async function demo(argv: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...nameOption, backend: { type: 'string' }, subnets: { type: 'string' }, nodes: { type: 'string' }, keep: { type: 'boolean' } });
  const name = labName(values.name);
  const ok = await teardownOnSignal(name, () =>
    runDemo({
      name,
      backend: checkBackend(values.backend ?? 'vxlan'),
      subnets: subnetsOf(values.subnets),
      nodes: int(values.nodes, 'nodes', 3),
      keep: values.keep === true,
      out: (t) => process.stdout.write(t),
      nodeStatus: (socket) => statusCommand(['--socket', socket]),
    }),
  );
  return ok ? 0 : 1;
}

const SUB: Readonly<Record<string, (argv: readonly string[]) => Promise<string | number>>> = { up, status, pod, exec, ping, egress, node, agent, down, demo };

export async function labCommand(argv: readonly string[]): Promise<string | number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || sub === '-h' || sub === '--help') {
    process.stdout.write(USAGE);
    return sub === undefined ? 2 : 0;
  }
  const fn = SUB[sub];
  if (!fn) {
    process.stderr.write(`podnet lab: unknown command ${JSON.stringify(sub)}\n\n${USAGE}`);
    return 2;
  }
  return fn(rest);
}
