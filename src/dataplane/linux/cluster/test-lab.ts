/**
 * A namespace lab for the cluster dataplane's privileged tests: an underlay namespace with two
 * bridges (subnet A 172.30.1.0/24 + fd00:a::/64, subnet B 172.30.2.0/24 + fd00:b::/64), a router
 * namespace joining them, node namespaces on either subnet (IPv4 and/or IPv6 underlay, default
 * routes via the router, which leads nowhere else), and one pod per node plumbed by
 * LinuxPodDataplane. Every namespace is named `<prefix>-...`; destroy() removes them all.
 * Nothing is created in the namespace the tests run in.
 */
import { randomBytes } from 'node:crypto';
import type { BackendName, NodeRecord } from '../../../model/node.js';
import { testNode } from '../../../calc/test-fixtures.js';
import { addNetns, delNetns, execIn, execInOk, listNetns, netnsPath } from '../../../lab/netns.js';
import { runOk } from '../../../lab/exec.js';
import { LinuxPodDataplane } from '../pod-dataplane.js';

export interface LabNodeSpec {
  readonly i: number;
  readonly subnet: 'a' | 'b';
  readonly v4?: boolean;
  readonly v6?: boolean;
}

export interface LabNode {
  readonly i: number;
  readonly name: string;
  readonly ns: string;
  readonly path: string;
  readonly subnet: 'a' | 'b';
  readonly addressV4: string | undefined;
  readonly addressV6: string | undefined;
  readonly podNs: string;
  readonly podV4: string;
  readonly podV6: string;
  readonly hostIfname: string;
  readonly pods: LinuxPodDataplane;
}

const SUBNET = { a: { v4: '172.30.1', v6: 'fd00:a:' }, b: { v4: '172.30.2', v6: 'fd00:b:' } } as const;
const hex = (n: number): string => n.toString(16);

export const labPrefix = (): string => `pnc-${randomBytes(3).toString('hex')}`;

export const podV4 = (i: number): string => `10.244.${i >> 2}.${(i & 3) * 64 + 2}`;
export const podV6 = (i: number): string => `fd10:244::${hex(i * 64 + 2)}`;

async function ip(ns: string, ...args: string[]): Promise<void> {
  await runOk('ip', ['-n', ns, ...args]);
}

export class ClusterLab {
  readonly nodes: LabNode[] = [];
  private readonly made: string[] = [];

  private constructor(readonly prefix: string) {}

  get ul(): string {
    return `${this.prefix}-ul`;
  }
  get rt(): string {
    return `${this.prefix}-rt`;
  }

  static async create(prefix: string, specs: readonly LabNodeSpec[]): Promise<ClusterLab> {
    const lab = new ClusterLab(prefix);
    try {
      await lab.build(specs);
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    return lab;
  }

  node(i: number): LabNode {
    const n = this.nodes.find((x) => x.i === i);
    if (!n) throw new Error(`no lab node ${i}`);
    return n;
  }

  /** The node record the agent of node i would register. */
  record(i: number, backend: BackendName): NodeRecord {
    const n = this.node(i);
    return testNode(i, backend, { addressV4: n.addressV4, addressV6: n.addressV6 });
  }

  /** (Re)creates node i's pod with this MTU. */
  async setupPod(i: number, mtu: number): Promise<void> {
    const n = this.node(i);
    await n.pods.teardown(n.hostIfname);
    await n.pods.setup({
      netnsPath: netnsPath(n.podNs),
      ifname: 'eth0',
      hostIfname: n.hostIfname,
      addresses: [
        { family: 4, address: n.podV4 },
        { family: 6, address: n.podV6 },
      ],
      mtu,
    });
  }

  /** One ping with DF set and this payload size, retried a few times (bounded); true when answered. */
  async ping(fromNs: string, dst: string, size = 56, tries = 4): Promise<boolean> {
    for (let t = 0; t < tries; t++) {
      const r = await execIn(fromNs, 'ping', ['-n', '-c', '1', '-W', '1', '-M', 'do', '-s', String(size), dst], { timeoutMs: 5000 });
      if (r.code === 0) return true;
    }
    return false;
  }

  async sh(ns: string, cmd: string, args: readonly string[]): Promise<string> {
    return execInOk(ns, cmd, args, { timeoutMs: 10_000 });
  }

  async destroy(): Promise<void> {
    for (const n of this.nodes) n.pods.close();
    for (const ns of [...this.made].reverse()) await delNetns(ns);
    for (const ns of listNetns(`${this.prefix}-`)) await delNetns(ns);
  }

  // --- building -----------------------------------------------------------------------------------

  private async netns(name: string): Promise<string> {
    await addNetns(name);
    this.made.push(name);
    return name;
  }

  /** A veth from the underlay namespace's bridge to `ns`, named `ifname` there. */
  private async attach(ns: string, ifname: string, bridge: string, tag: string): Promise<void> {
    const ulEnd = `v${tag}`;
    await ip(this.ul, 'link', 'add', ulEnd, 'type', 'veth', 'peer', 'name', ifname, 'netns', ns);
    await ip(this.ul, 'link', 'set', ulEnd, 'master', bridge, 'up');
    await ip(ns, 'link', 'set', ifname, 'up');
  }

  private async build(specs: readonly LabNodeSpec[]): Promise<void> {
    await this.netns(this.ul);
    for (const br of ['br0', 'br1']) {
      await ip(this.ul, 'link', 'add', br, 'type', 'bridge');
      await ip(this.ul, 'link', 'set', br, 'up');
    }
    await this.netns(this.rt);
    await this.attach(this.rt, 'ra', 'br0', 'ra');
    await this.attach(this.rt, 'rb', 'br1', 'rb');
    for (const [dev, s] of [['ra', SUBNET.a], ['rb', SUBNET.b]] as const) {
      await ip(this.rt, 'addr', 'add', `${s.v4}.1/24`, 'dev', dev);
      await ip(this.rt, 'addr', 'add', `${s.v6}:1/64`, 'dev', dev, 'nodad');
    }
    await this.sh(this.rt, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    for (const spec of specs) await this.buildNode(spec);
  }

  private async buildNode(spec: LabNodeSpec): Promise<void> {
    const { i, subnet } = spec;
    const s = SUBNET[subnet];
    const ns = await this.netns(`${this.prefix}-n${i}`);
    const podNs = await this.netns(`${this.prefix}-p${i}`);
    await this.attach(ns, 'eth0', subnet === 'a' ? 'br0' : 'br1', `n${i}`);
    const addressV4 = spec.v4 === false ? undefined : `${s.v4}.${10 + i}/24`;
    const addressV6 = spec.v6 === false ? undefined : `${s.v6}:${hex(10 + i)}/64`;
    if (addressV4) {
      await ip(ns, 'addr', 'add', addressV4, 'dev', 'eth0');
      await ip(ns, 'route', 'add', 'default', 'via', `${s.v4}.1`);
    }
    if (addressV6) {
      await ip(ns, 'addr', 'add', addressV6, 'dev', 'eth0', 'nodad');
      await ip(ns, '-6', 'route', 'add', 'default', 'via', `${s.v6}:1`);
    }
    const pods = new LinuxPodDataplane({ hostNetns: netnsPath(ns) });
    await pods.prepareNode();
    this.nodes.push({
      i,
      name: `n${i}`,
      ns,
      path: netnsPath(ns),
      subnet,
      addressV4,
      addressV6,
      podNs,
      podV4: podV4(i),
      podV6: podV6(i),
      hostIfname: `pn${randomBytes(6).toString('hex')}`,
      pods,
    });
  }
}

