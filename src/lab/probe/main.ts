/**
 * Entry point of a lab pod's probe daemon (started by fleet.ts with `ip netns exec <pod ns>`):
 *   node dist/src/lab/probe/main.js --name x/a --control <lab dir>/probes/x-a.sock
 *        --ports 80,81 --sctp-bin build/lab/podnet-sctp-probe [--max-seconds 7200]
 * The control path lies under the lab directory, so lab teardown finds the process by it.
 */
import { parseArgs } from 'node:util';
import { ProbeDaemon } from './daemon.js';

function fail(msg: string): never {
  process.stderr.write(`podnet probe daemon: ${msg}\n`);
  process.exit(2);
}

function main(): void {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: { name: { type: 'string' }, control: { type: 'string' }, ports: { type: 'string' }, 'sctp-bin': { type: 'string' }, 'max-seconds': { type: 'string' } },
      strict: true,
    }) as { values: Record<string, string | undefined> });
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
  const { name, control, ports, 'sctp-bin': sctpBin } = values;
  if (!name || !control || !ports || !sctpBin) fail('needs --name, --control, --ports and --sctp-bin');
  const portList = ports.split(',').map(Number);
  if (portList.length === 0 || portList.length > 64 || portList.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) fail(`--ports ${ports}: want a comma-separated list of 1-65535`);
  const maxSeconds = Number(values['max-seconds'] ?? 7200);
  if (!Number.isInteger(maxSeconds) || maxSeconds < 1 || maxSeconds > 86_400) fail('--max-seconds: want 1-86400');
  const d = new ProbeDaemon({ name, control, ports: portList, sctpBin, maxSeconds });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => void d.stop(sig, 0));
  d.start().then(
    () => d.stopped.then((code) => process.exit(code)),
    (e: unknown) => {
      process.stderr.write(`podnet probe daemon for ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
      void d.stop('start failed', 1).finally(() => process.exit(1));
    },
  );
}

main();
