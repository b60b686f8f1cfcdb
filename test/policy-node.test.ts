/**
 * Network policy on one real node (agent, podnet-cni, nftables in the node's namespace):
 * pod records from CNI ADD (K8S_POD_* and args.cni.labels), `podnet apply|get|delete|policy
 * explain` through the CLI, enforcement observed with real packets, admission (a new pod's policy
 * is in force when ADD returns), bad input refused with nothing left, and the table surviving an
 * agent restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callRpc } from '../src/agent/client.js';
import type { PolicyStatusView } from '../src/agent/rpc-policy.js';
import { CniPluginError } from '../src/lab/cni-runtime.js';
import { withNode, type NodeFixture } from '../src/lab/node-fixture.js';
import { podnetCli, type CliResult } from './harness/podnet-cli.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;

const cli = (node: NodeFixture, args: readonly string[], input?: string): Promise<CliResult> => podnetCli(node.agent.socket, args, input);

interface Pod {
  readonly name: string;
  readonly ns: string;
  readonly path: string;
  readonly v4: string;
  readonly host: string;
}

async function addPod(node: NodeFixture, name: string, labels: Record<string, string>): Promise<Pod> {
  const { ns, path } = await node.newPodNs(name);
  const list = node.conflist({ plugin: { args: { cni: { labels: Object.entries(labels).map(([key, value]) => ({ key, value })) } } } });
  const res = await node.runtime.add(list, node.attachment(`ctr-${name}`, path, `K8S_POD_NAMESPACE=prod;K8S_POD_NAME=${name}`));
  const ips = (res.ips as { address: string }[]).map((i) => i.address.split('/')[0] as string);
  const host = (res.interfaces as { name: string; sandbox?: string }[]).find((i) => !i.sandbox)?.name as string;
  return { name, ns, path, v4: ips.find((i) => i.includes('.')) as string, host };
}

async function pings(node: NodeFixture, from: Pod, to: Pod): Promise<boolean> {
  const r = await node.execIn(from.ns, 'ping', ['-c1', '-W1', to.v4]);
  return r.code === 0;
}

async function ingressMap(node: NodeFixture): Promise<string> {
  return (await node.execIn(node.nodeNs, 'nft', ['list', 'map', 'inet', 'podnet-policy', 'ingress_if'])).stdout;
}

const WEB_POLICY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-clients, namespace: prod}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
`;

test('network policy on a real node: records, apply/get/explain/delete, enforcement, admission, bad input, restart', { skip }, async () => {
  await withNode({}, async (node) => {
    const web = await addPod(node, 'web', { app: 'web' });
    const client = await addPod(node, 'client', { app: 'client' });
    const other = await addPod(node, 'other', { app: 'other' });

    // Pod records from CNI ADD, with their labels, node and addresses.
    const got = await cli(node, ['get', 'pods', '-n', 'prod', '-o', 'json']);
    assert.equal(got.code, 0, got.stderr);
    const list = JSON.parse(got.stdout) as { items: { metadata: { name: string; labels?: Record<string, string> }; spec: { nodeName?: string }; status?: { podIPs: { ip: string }[] } }[] };
    const webRec = list.items.find((i) => i.metadata.name === 'web');
    assert.deepEqual(webRec?.metadata.labels, { app: 'web' });
    assert.equal(webRec?.spec.nodeName, 'node-1');
    assert.ok(webRec?.status?.podIPs.some((p) => p.ip === web.v4));
    assert.match(await ingressMap(node), new RegExp(web.host));

    // No policy: open.
    assert.equal(await pings(node, other, web), true);

    // A bad file is refused whole, with the field path; nothing of it is applied.
    const bad = await cli(node, ['apply', '-f', '-'], `${WEB_POLICY}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: broken, namespace: prod}\nspec:\n  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]\n`);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /document 2: spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr/);
    assert.match((await cli(node, ['get', 'netpol', '-n', 'prod'])).stdout, /no NetworkPolicy found/);

    const applied = await cli(node, ['apply', '-f', '-', '--wait'], WEB_POLICY);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /networkpolicy\/prod\/web-from-clients created/);
    assert.equal(await pings(node, client, web), true, 'client -> web is allowed');
    assert.equal(await pings(node, other, web), false, 'other -> web is dropped');
    assert.equal(await pings(node, web, other), true, 'web is not isolated for egress');

    const ex = await cli(node, ['policy', 'explain', '--from', 'prod/other', '--to', 'prod/web', '--port', '80/TCP']);
    assert.equal(ex.code, 0, ex.stderr);
    assert.match(ex.stdout, /web-from-clients/);
    assert.match(ex.stdout, /denied|DENIED|dropped|DROP/i);

    // Admission: a new web pod is enforced the moment ADD returns (both its allow and its isolation).
    const t0 = Date.now();
    const web2 = await addPod(node, 'web2', { app: 'web' });
    const addMs = Date.now() - t0;
    assert.match(await ingressMap(node), new RegExp(web2.host), 'the interface is mapped when ADD returns');
    assert.equal(await pings(node, other, web2), false, 'isolated as soon as ADD returns');
    assert.equal(await pings(node, client, web2), true, 'allowed peers reach it as soon as ADD returns');
    const st = await callRpc<PolicyStatusView>(node.agent.socket, 'policy.status');
    assert.equal(st.enabled, true);
    assert.equal(st.lastError, undefined);
    console.log(`[policy-node] ADD with admission: ${addMs} ms; last programming: ${JSON.stringify(st.last)}`);

    // Relabelling a pod by applying its manifest: labels change, the CNI's addresses stay.
    const relabel = await cli(node, ['apply', '-f', '-', '--wait'], 'apiVersion: v1\nkind: Pod\nmetadata: {name: other, namespace: prod, labels: {app: client}}\n');
    assert.equal(relabel.code, 0, relabel.stderr);
    assert.match(relabel.stdout, /pod\/prod\/other configured/);
    const otherRec = JSON.parse((await cli(node, ['get', 'pod', 'other', '-n', 'prod', '-o', 'json'])).stdout) as { status?: { podIPs: { ip: string }[] } };
    assert.ok(otherRec.status?.podIPs.some((p) => p.ip === other.v4), 'addresses kept');
    assert.equal(await pings(node, other, web), true, 'relabelled pod is admitted');

    // Bad labels in args.cni.labels: code 7, nothing allocated or left.
    const { path } = await node.newPodNs('badlabels');
    const badList = node.conflist({ plugin: { args: { cni: { labels: [{ key: 'app', value: 'no spaces allowed' }] } } } });
    await assert.rejects(node.runtime.add(badList, node.attachment('ctr-bad', path, 'K8S_POD_NAMESPACE=prod;K8S_POD_NAME=bad')), (e: unknown) => e instanceof CniPluginError && e.code === 7);
    const pods = JSON.parse((await cli(node, ['get', 'pods', '-n', 'prod', '-o', 'json'])).stdout) as { items: { metadata: { name: string } }[] };
    assert.deepEqual(pods.items.map((i) => i.metadata.name).sort(), ['client', 'other', 'web', 'web2']);
    const ipam = JSON.parse((await cli(node, ['endpoints', '-o', 'json'])).stdout) as { containerId: string }[];
    assert.equal(ipam.some((e) => e.containerId === 'ctr-bad'), false);

    // Restart: the table stays in force while the agent is away and is taken over after.
    await node.agent.stop();
    assert.equal(await pings(node, other, web2), true, 'relabelled other still allowed with the agent stopped');
    assert.match(await ingressMap(node), new RegExp(web2.host));
    await node.agent.start();
    const after = await cli(node, ['delete', 'netpol', 'web-from-clients', '-n', 'prod', '--wait']);
    assert.equal(after.code, 0, after.stderr);
    assert.match(after.stdout, /deleted/);
    await cli(node, ['apply', '-f', '-', '--wait'], 'apiVersion: v1\nkind: Pod\nmetadata: {name: other, namespace: prod, labels: {app: other}}\n');
    assert.equal(await pings(node, other, web), true, 'open again once the policy is deleted');

    // DEL removes pod records and (after the next programming) the interface mappings.
    for (const p of [web, client, other, web2]) await node.runtime.del(node.conflist(), node.attachment(`ctr-${p.name}`, p.path));
    const left = JSON.parse((await cli(node, ['get', 'pods', '-n', 'prod', '-o', 'json'])).stdout) as { items: { metadata: { name: string }; status?: unknown }[] };
    // "other" was applied too: its record stays, without addresses.
    assert.deepEqual(left.items.map((i) => i.metadata.name), ['other']);
    assert.equal(left.items[0]?.status, undefined);
    const deadline = Date.now() + 5000;
    while (/pn[0-9a-f]{12}/.test(await ingressMap(node)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.doesNotMatch(await ingressMap(node), /pn[0-9a-f]{12}/);
  });
});
