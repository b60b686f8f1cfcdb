/**
 * What to look at when a lab check fails: per node, the routes, the VXLAN device with its FDB and
 * neighbours, the egress NAT table, and the tail of the agent's log. Tests attach this to their
 * assertion messages; `podnet lab status --evidence` prints it.
 */
import { readFileSync } from 'node:fs';
import { execIn } from './netns.js';
import type { Lab } from './lab.js';

const PROBES: readonly (readonly string[])[] = [
  ['ip', '-4', 'route', 'show'],
  ['ip', '-6', 'route', 'show'],
  ['ip', '-d', 'link', 'show', 'type', 'vxlan'],
  ['bridge', 'fdb', 'show', 'dev', 'podnet.vxlan'],
  ['ip', 'neigh', 'show', 'dev', 'podnet.vxlan'],
  ['nft', 'list', 'table', 'inet', 'podnet-nat'],
];

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function collectEvidence(lab: Lab, logLines = 15): Promise<string> {
  const out: string[] = [];
  for (const n of lab.nodes()) {
    out.push(`===== node ${n.name} (${n.ns}, ${n.v4}) =====`);
    for (const [cmd, ...args] of PROBES) {
      if (!cmd) continue;
      const r = await execIn(n.ns, cmd, args, { timeoutMs: 5000 }).catch((e: unknown) => ({ code: -1, stdout: '', stderr: String(e) }));
      const text = (r.code === 0 ? r.stdout : r.stderr).trimEnd();
      out.push(`$ ${[cmd, ...args].join(' ')}`, text === '' ? '(empty)' : text);
    }
    out.push(`--- agent log (last ${logLines} lines): ${lab.agentLog(n.name)}`, tail(lab.agentLog(n.name), logLines));
  }
  return `${out.join('\n')}\n`;
}
