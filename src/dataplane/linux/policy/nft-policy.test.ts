/**
 * The nft policy dataplane in a test namespace: a compiled table loads, incremental operations
 * apply, `intact` sees a deleted table, an emptied map and an extra element, and nft's refusals
 * come back as DATAPLANE_POLICY_FAILED with nft's words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPodnetError } from '../../../common/errors.js';
import { compileNode } from '../../../policy/compile/compile-node.js';
import { buildModel, diffModels } from '../../../policy/nft/render.js';
import { parseResources } from '../../../policy/parse/resources.js';
import { stateOf } from '../../../policy/state.js';
import { NetnsPool, privilegedSkip } from '../netns-fixture.js';
import { runNft } from '../nat/nft.js';
import { LinuxPolicyDataplane } from './nft-policy.js';

const state = stateOf(
  parseResources(`
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
status: {podIP: 10.0.0.1}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: x}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: 10.1.0.0/16, except: [10.1.2.0/24]}}], ports: [{port: 80, endPort: 90}, {protocol: SCTP, port: 9}]}]
`),
);

test('nft policy dataplane: load, update, intact, refusal', { skip: privilegedSkip() }, async () => {
  const pool = new NetnsPool();
  try {
    const ns = pool.create('pol');
    const dp = new LinuxPolicyDataplane({ netns: pool.path(ns) });
    const one = buildModel(compileNode(state, [{ namespace: 'x', pod: 'a', ifname: 'pn000000000001' }]), { logDrops: true });
    await dp.replace(one);
    assert.equal(await dp.intact(one), true);
    const two = buildModel(compileNode(state, [{ namespace: 'x', pod: 'a', ifname: 'pn000000000001' }, { namespace: 'x', pod: 'a', ifname: 'pn000000000002' }]), { logDrops: true });
    assert.equal(await dp.intact(two), false, 'a missing element');
    await dp.update(diffModels(one, two), two);
    assert.equal(await dp.intact(two), true);
    const listed = await runNft({ netns: pool.path(ns) }, ['list', 'table', 'inet', 'podnet-policy']);
    assert.match(listed.stdout, /iifgroup 1886283124/);
    await runNft({ netns: pool.path(ns) }, ['flush', 'map', 'inet', 'podnet-policy', 'ingress_if']);
    assert.equal(await dp.intact(two), false, 'a flushed map');
    await dp.replace(two);
    await runNft({ netns: pool.path(ns) }, ['delete', 'table', 'inet', 'podnet-policy']);
    assert.equal(await dp.intact(two), false, 'a deleted table');
    // An update against a table that is not there: nft refuses, with its words.
    await assert.rejects(dp.update(diffModels(two, one), one), (e: unknown) => isPodnetError(e, 'DATAPLANE_POLICY_FAILED') && /nft exited/.test(e.message));
    await dp.remove();
    await dp.remove();
  } finally {
    pool.cleanup();
  }
});

test('libnftables in-process (the agent\'s path): a transaction applies; a refused one reports nft\'s words', { skip: privilegedSkip() }, async () => {
  const pool = new NetnsPool();
  try {
    const ns = pool.create('lib');
    const { execFileSync } = await import('node:child_process');
    const code = `const { LibNftables } = require(${JSON.stringify(require.resolve('./libnftables.js'))});
      (async () => {
        const lib = LibNftables.load();
        if (!lib) { console.log('unavailable'); return; }
        const a = await lib.run('add table inet pnt-lib\\nadd chain inet pnt-lib c\\n');
        const b = await lib.run('add rule inet pnt-lib nosuchchain accept\\n');
        console.log(JSON.stringify([a, b]));
      })();`;
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const out = execFileSync('nsenter', [`--net=${pool.path(ns)}`, '--', process.execPath, '-e', code], { env, encoding: 'utf8' });
    const [a, b] = JSON.parse(out) as { ok: boolean; error: string }[];
    assert.deepEqual(a, { ok: true, error: '' });
    assert.equal(b?.ok, false);
    assert.match(b?.error ?? '', /No such file or directory|nosuchchain/);
    const listed = execFileSync('nsenter', [`--net=${pool.path(ns)}`, '--', 'nft', 'list', 'table', 'inet', 'pnt-lib'], { encoding: 'utf8' });
    assert.match(listed, /chain c/);
  } finally {
    pool.cleanup();
  }
});
