/**
 * The simulated nodes' writer for bench/controlplane: runs INSIDE the lab's etcd namespace
 * (`ip netns exec pl-<lab>-etcd node dist/bench/controlplane/writer.js <etcd url>`), because the
 * lab's etcd listens only on its namespace address. It talks to etcd through the project's own
 * EtcdDatastore adapter (the agents' client) and to the bench through stdin/stdout, one JSON
 * object per line:
 *
 *   in:  {"op":"bulk","from":0,"count":500,"concurrency":16}   {"op":"one","i":500}   {"op":"quit"}
 *   out: {"op":"ready"}  {"op":"one","i":500,"cidr":"…","t0":ms,"t1":ms}  {"op":"bulk",…,"t0","t1"}
 *
 * A simulated node i is what an agent would register: its record /podnet/nodes/v1/sim-<i>
 * (backend vxlan, an underlay address in 172.31.0.0/16, a locally administered VXLAN MAC, the
 * tunnel address), its liveness key on a lease this process keeps alive (so no agent reclaims
 * anything), and one IPv4 /26 block of the lab's pool (10.244.0.0/16, pool "v4") owned by it,
 * holding the tunnel address's allocation, as the agent writes it. t0/t1: wall clock (ms, with
 * fractions) before the first write and after the last write was acknowledged.
 */
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { EtcdDatastore } from '../../src/datastore/etcd.js';
import { blockKey } from '../../src/ipam/keys.js';
import { aliveKey, nodeKey, type NodeRecord } from '../../src/model/node.js';
import { simBlock } from './sim.js';

const now = (): number => performance.timeOrigin + performance.now();
const hex = (n: number): string => n.toString(16).padStart(2, '0');

async function main(): Promise<void> {
  const endpoint = process.argv[2];
  if (!endpoint) throw new Error('usage: writer.js <etcd client url>');
  const store = new EtcdDatastore({ endpoints: [endpoint], requestTimeoutMs: 10_000 });
  const lease = await store.grantLease(120);
  const keep = setInterval(() => void store.keepAlive(lease).catch((e: unknown) => process.stderr.write(`keepAlive: ${String(e)}\n`)), 20_000);

  const register = async (i: number): Promise<string> => {
    const name = `sim-${i}`;
    const { cidr, tunnel } = simBlock(i);
    const rec: NodeRecord = {
      name,
      addressV4: `172.31.${1 + Math.floor(i / 250)}.${1 + (i % 250)}/16`,
      uplinkMtu: 1500,
      backend: 'vxlan',
      vxlan: { mac: `02:5e:00:00:${hex(i >> 8)}:${hex(i & 255)}`, tunnelV4: tunnel },
      agentVersion: '0.1.0',
    };
    await store.create(nodeKey(name), JSON.stringify(rec));
    await store.create(aliveKey(name), JSON.stringify({ since: new Date().toISOString(), pid: process.pid }), { lease });
    const block = {
      v: 1,
      cidr,
      pool: 'v4',
      node: name,
      cursor: 0,
      allocations: { '0': { handle: `podnet-tunnel/${name}`, since: Date.now(), attrs: { containerId: 'podnet-tunnel', ifname: 'podnet.vxlan', node: name, plugin: 'tunnel' } } },
    };
    await store.create(blockKey('v4', cidr), JSON.stringify(block));
    return cidr;
  };

  const out = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
  out({ op: 'ready' });
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const cmd = JSON.parse(line) as { op: string; i?: number; from?: number; count?: number; concurrency?: number };
    if (cmd.op === 'quit') break;
    try {
      if (cmd.op === 'one') {
        const t0 = now();
        const cidr = await register(cmd.i as number);
        out({ op: 'one', i: cmd.i, cidr, t0, t1: now() });
      } else if (cmd.op === 'bulk') {
        const from = cmd.from ?? 0;
        const count = cmd.count ?? 0;
        let next = from;
        const t0 = now();
        const worker = async (): Promise<void> => {
          while (next < from + count) await register(next++);
        };
        await Promise.all(Array.from({ length: cmd.concurrency ?? 16 }, worker));
        out({ op: 'bulk', from, count, t0, t1: now() });
      } else throw new Error(`unknown op ${cmd.op}`);
    } catch (e) {
      out({ op: 'error', error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  }
  clearInterval(keep);
  await store.revokeLease(lease).catch(() => undefined);
  await store.close();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stdout.write(`${JSON.stringify({ op: 'error', error: e instanceof Error ? (e.stack ?? e.message) : String(e) })}\n`);
    process.exit(1);
  },
);
