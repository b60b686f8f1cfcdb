/** The basic single-node path through the real binary, agent and kernel: pods reach each other and the node. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withNode } from '../src/lab/node-fixture.js';

test('two pods via podnet-cni: pod<->pod and node<->pod over IPv4 and IPv6, DEL removes everything', async () => {
  await withNode({}, async (node) => {
    const list = node.conflist();
    const pods = [];
    for (const name of ['a', 'b']) {
      const { ns, path } = await node.newPodNs(name);
      const res = await node.runtime.add(list, node.attachment(`ctr-${name}`, path, `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name}`));
      const ips = (res.ips as { address: string }[]).map((i) => i.address.split('/')[0] as string);
      pods.push({ ns, path, v4: ips.find((i) => i.includes('.')) as string, v6: ips.find((i) => i.includes(':')) as string, name });
    }
    const [a, b] = pods as [(typeof pods)[number], (typeof pods)[number]];
    for (const [from, to] of [[a.ns, b.v4], [a.ns, b.v6], [b.ns, a.v4], [node.nodeNs, a.v4], [node.nodeNs, b.v6], [a.ns, '172.31.0.1']] as const) {
      const r = await node.execIn(from, 'ping', ['-c1', '-W2', to]);
      assert.equal(r.code, 0, `${from} -> ${to}: ${r.stdout}${r.stderr}`);
    }
    for (const p of pods) await node.runtime.del(list, node.attachment(`ctr-${p.name}`, p.path));
    const links = await node.execIn(node.nodeNs, 'ip', ['-o', 'link', 'show']);
    assert.doesNotMatch(links.stdout, /\bpn[0-9a-f]{12}\b/);
    const routes = await node.execIn(node.nodeNs, 'ip', ['route', 'show', 'proto', '147']);
    assert.equal(routes.stdout.trim(), '');
  });
});
