/** The C shim's own answers must be the verb layer's: VERSION (answered without an agent). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { versionReply } from '../src/cni/run.js';
import { run } from '../src/lab/exec.js';
import { PODNET_CNI_DIR } from '../src/lab/paths.js';

const inputs = [
  '{"cniVersion":"0.3.0"}',
  '{"cniVersion":"1.0.0","name":"x","type":"podnet-cni"}',
  '{"name":"x","cniVersion":"9.10.11"}',
  '{"cniVersion":"01.0.0"}',
  '{"cniVersion":"1.0"}',
  '{"cniVersion":7}',
  '{}',
  '',
];

for (const bin of ['podnet-cni', 'podnet-ipam']) {
  test(`${bin} answers VERSION exactly as runCni does, with no agent anywhere`, async () => {
    for (const stdin of inputs) {
      const r = await run(join(PODNET_CNI_DIR, bin), [], { input: stdin, env: { CNI_COMMAND: 'VERSION', PATH: process.env.PATH ?? '' } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${JSON.stringify(versionReply(stdin))}\n`, `stdin ${JSON.stringify(stdin)}`);
    }
  });
}
