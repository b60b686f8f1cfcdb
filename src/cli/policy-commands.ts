/** `podnet policy explain` and `podnet policy status`. */
import { callRpc, DEFAULT_AGENT_SOCKET } from '../agent/client.js';
import type { PolicyStatusView } from '../agent/rpc-policy.js';
import { CommonErrors, PodnetError } from '../common/errors.js';
import { formatExplanation, type Explanation } from '../policy/explain.js';
import { outputOption, parseCommandArgs, socketOption } from './args.js';
import { parseOutputFormat, render } from './output.js';

const socketOf = (v: { socket?: string | undefined }): string => v.socket ?? process.env.PODNET_AGENT_SOCKET ?? DEFAULT_AGENT_SOCKET;

export async function policyExplainCommand(argv: readonly string[]): Promise<string> {
  const { values } = parseCommandArgs(argv, { ...outputOption, ...socketOption, from: { type: 'string' }, to: { type: 'string' }, port: { type: 'string' } });
  if (!values.from || !values.to || !values.port) {
    throw new PodnetError(CommonErrors.INVALID_ARGUMENT, 'usage: podnet policy explain --from NS/POD|IP --to NS/POD|IP --port PORT[/TCP|UDP|SCTP]');
  }
  const e = await callRpc<Explanation>(socketOf(values), 'policy.explain', { from: values.from, to: values.to, port: values.port });
  return render(e, parseOutputFormat(values.output), () => formatExplanation(e));
}

export async function policyStatusCommand(argv: readonly string[]): Promise<string> {
  const { values } = parseCommandArgs(argv, { ...outputOption, ...socketOption });
  const s = await callRpc<PolicyStatusView>(socketOf(values), 'policy.status');
  return render(s, parseOutputFormat(values.output), () => {
    if (!s.enabled) return 'policy:      disabled in the agent config\n';
    const l = s.last;
    return [
      `policy:      enforced (nftables table inet podnet-policy)`,
      `programmed:  revision ${s.programmedRevision} of ${s.revision}${s.synced ? '' : ' (datastore not synced yet)'}`,
      `endpoints:   ${s.endpoints} on this node, ${s.profiles} distinct profiles`,
      `resources:   ${s.resources}`,
      ...(l ? [`last:        ${l.kind} in ${l.ms.toFixed(1)} ms (compile ${l.compileMs.toFixed(1)} ms, ${l.ops} operations)`] : []),
      ...(s.lastError ? [`last error:  ${s.lastError}`] : []),
      ...(s.problems.length ? ['problems:', ...s.problems.map((p) => `  - ${p}`)] : []),
      '',
    ].join('\n');
  });
}
