/**
 * The lab's address plan (pure: no I/O). Everything a lab creates is named from its lab name:
 *
 *   pl-<lab>-ula / -ulb   underlay subnets A and B: a bridge br0 in its own namespace
 *   pl-<lab>-rt           router: a leg on each subnet and one to ext, forwarding on
 *   pl-<lab>-ext          "the internet": 192.0.2.1/24, 2001:db8:ff::1/64 (documentation ranges)
 *   pl-<lab>-etcd[<i>]    etcd member i at 172.30.1.(250+i), on subnet A
 *   pl-<lab>-n<i>         node i: eth0 on its subnet at .(10+i) / ::(10+i), default via the router
 *   pl-<lab>-p-<pod>      pod namespaces
 *
 *   subnet A 172.30.1.0/24 + fd00:30:1::/64, subnet B 172.30.2.0/24 + fd00:30:2::/64;
 *   router .254 / ::fe on each subnet, 192.0.2.254 / 2001:db8:ff::fe towards ext.
 *
 * Lab names are [a-z0-9]{1,12} without '-': with a hyphen, lab "demo"'s prefix `pl-demo-` would
 * also match every namespace of a lab "demo-2", and `podnet lab down --name demo` (which must work
 * from the prefix alone after a crash) would destroy the other lab.
 */
import { PodnetError } from '../common/errors.js';
import { BACKENDS, type BackendName } from '../model/node.js';
import { LabErrors } from './errors.js';

export const LAB_ROOT = '/run/podnet-lab';
export const DEFAULT_LAB = 'demo';
/** Prefix of every namespace any lab creates (`podnet lab down --all`). */
export const LAB_NS_PREFIX = 'pl-';
export const MAX_NODES = 99;
export const MAX_ETCD_MEMBERS = 3;
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;

export const POOLS = ['v4=10.244.0.0/16,blockSize=26', 'v6=fd00:10:244::/56,blockSize=122'] as const;
export const UNDERLAY_MTU = 1500;

export type SubnetId = 'a' | 'b';

export interface SubnetPlan {
  readonly id: SubnetId;
  /** Namespace holding the bridge br0. */
  readonly ns: string;
  readonly v4Prefix: string; // "172.30.1"
  readonly v6Prefix: string; // "fd00:30:1:"
  readonly cidrV4: string;
  readonly cidrV6: string;
  readonly routerV4: string;
  readonly routerV6: string;
}

export interface NodePlan {
  readonly index: number;
  readonly name: string;
  readonly ns: string;
  readonly subnet: SubnetId;
  /** With prefix length: "172.30.1.11/24". */
  readonly v4: string;
  readonly v6: string;
  readonly gatewayV4: string;
  readonly gatewayV6: string;
  /** The node's port on its subnet's bridge. */
  readonly bridgePort: string;
}

export interface EtcdPlan {
  readonly index: number;
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly bridgePort: string;
}

export const EXT = {
  v4: '192.0.2.1',
  v6: '2001:db8:ff::1',
  routerV4: '192.0.2.254',
  routerV6: '2001:db8:ff::fe',
  /** Routes ext holds back to the lab underlay (via the router). */
  returnV4: '172.30.0.0/16',
  returnV6: 'fd00:30::/32',
} as const;

const LAB_RE = /^[a-z0-9]{1,12}$/;
const POD_RE = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
/** Pod names that would shadow another exec target. */
const RESERVED_POD_RE = /^(n\d+|ext|rt|ula|ulb|etcd\d*)$/;
const NODE_RE = /^n([1-9]\d?)$/;

function invalid(msg: string): PodnetError {
  return new PodnetError(LabErrors.LAB_INVALID, msg);
}

export function checkLabName(name: string): string {
  if (!LAB_RE.test(name)) throw invalid(`lab name ${JSON.stringify(name)}: want 1-12 lowercase letters or digits (no '-', so one lab's namespace prefix never covers another's)`);
  return name;
}

export function checkPodName(name: string): string {
  if (!POD_RE.test(name)) throw invalid(`pod name ${JSON.stringify(name)}: want 1-32 lowercase letters, digits or '-', starting and ending alphanumeric`);
  if (RESERVED_POD_RE.test(name)) throw invalid(`pod name ${JSON.stringify(name)} is reserved for a node or lab namespace`);
  return name;
}

export function checkBackend(b: string): BackendName {
  if (!(BACKENDS as readonly string[]).includes(b)) throw invalid(`backend ${JSON.stringify(b)}: want one of ${BACKENDS.join(', ')}`);
  return b as BackendName;
}

/** Parses "n3" to 3; undefined for anything else. */
export function nodeIndexOf(name: string): number | undefined {
  const m = NODE_RE.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function checkCount(what: string, n: number, min: number, max: number): number {
  if (!Number.isInteger(n) || n < min || n > max) throw invalid(`${what} ${String(n)}: want an integer from ${min} to ${max}`);
  return n;
}

export class Topology {
  readonly prefix: string;
  readonly dir: string;

  constructor(
    readonly lab: string,
    readonly subnetCount: 1 | 2,
    root = LAB_ROOT,
  ) {
    checkLabName(lab);
    this.prefix = `${LAB_NS_PREFIX}${lab}-`;
    this.dir = `${root}/${lab}`;
  }

  get routerNs(): string {
    return `${this.prefix}rt`;
  }
  get extNs(): string {
    return `${this.prefix}ext`;
  }

  subnet(id: SubnetId): SubnetPlan {
    const n = id === 'a' ? 1 : 2;
    return {
      id,
      ns: `${this.prefix}ul${id}`,
      v4Prefix: `172.30.${n}`,
      v6Prefix: `fd00:30:${n}:`,
      cidrV4: `172.30.${n}.0/24`,
      cidrV6: `fd00:30:${n}::/64`,
      routerV4: `172.30.${n}.254`,
      routerV6: `fd00:30:${n}::fe`,
    };
  }

  subnets(): SubnetPlan[] {
    return this.subnetCount === 2 ? [this.subnet('a'), this.subnet('b')] : [this.subnet('a')];
  }

  /** Node i (1-based): odd nodes on A, even nodes on B when there are two subnets. */
  node(index: number): NodePlan {
    checkCount('node index', index, 1, MAX_NODES);
    const s = this.subnet(this.subnetCount === 2 && index % 2 === 0 ? 'b' : 'a');
    const host = 10 + index;
    return {
      index,
      name: `n${index}`,
      ns: `${this.prefix}n${index}`,
      subnet: s.id,
      v4: `${s.v4Prefix}.${host}/24`,
      v6: `${s.v6Prefix}:${host}/64`,
      gatewayV4: s.routerV4,
      gatewayV6: s.routerV6,
      bridgePort: `n${index}`,
    };
  }

  etcd(index: number): EtcdPlan {
    checkCount('etcd member index', index, 0, MAX_ETCD_MEMBERS - 1);
    const ip = `172.30.1.${250 + index}`;
    return {
      index,
      name: `etcd${index}`,
      ns: `${this.prefix}etcd${index === 0 ? '' : index}`,
      ip,
      clientUrl: `http://${ip}:${ETCD_CLIENT_PORT}`,
      peerUrl: `http://${ip}:${ETCD_PEER_PORT}`,
      bridgePort: `etcd${index}`,
    };
  }

  etcdMembers(count: number): EtcdPlan[] {
    checkCount('etcd members', count, 1, MAX_ETCD_MEMBERS);
    return Array.from({ length: count }, (_, i) => this.etcd(i));
  }

  podNs(pod: string): string {
    return `${this.prefix}p-${checkPodName(pod)}`;
  }

  /** Container ID of a lab pod (unique in the lab, valid for CNI). */
  containerId(pod: string): string {
    return `lab-${this.lab}-${checkPodName(pod)}`;
  }

  /** Where a lab node keeps its agent's state, socket, log and pid file. */
  nodeDir(node: string): string {
    return `${this.dir}/nodes/${node}`;
  }

  get etcdDir(): string {
    return `${this.dir}/etcd`;
  }

  get stateFile(): string {
    return `${this.dir}/state.json`;
  }
}

/** The address part of "a.b.c.d/len". */
export const addressOf = (cidr: string): string => cidr.split('/')[0] ?? cidr;
