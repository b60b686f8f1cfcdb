/**
 * A fake datapath for the rendered table: interprets the model's base chains, verdict maps,
 * profile and outcome chains for one packet, as the kernel would. It understands exactly the
 * rule shapes model.ts writes (and throws on anything else), so tests can check the rendering
 * end to end without root, and compare it with explain().
 */
import { type Family, parseCidr, parseIp } from '../../common/ip.js';
import { cidrInterval } from '../compile/space.js';
import type { NftChain, NftModel, NftSet } from './model.js';
import { POD_IF_GROUP } from '../../dataplane/types.js';
import { IFNAME_RE } from '../compile/compile-node.js';

export interface FakePacket {
  readonly hook: 'forward' | 'input';
  readonly iif?: string;
  readonly oif?: string;
  readonly family: Family;
  readonly saddr: string;
  readonly daddr: string;
  /** IP protocol number. */
  readonly proto: number;
  /** Destination port (what `th dport` reads). */
  readonly dport: number;
  /** Part of an established connection (conntrack). */
  readonly established?: boolean;
  /** ICMPv6 neighbour discovery. */
  readonly nd?: boolean;
}

export interface FakeResult {
  readonly verdict: 'accept' | 'drop';
  readonly logs: readonly string[];
}

interface Range {
  readonly lo: bigint;
  readonly hi: bigint;
}

interface ParsedElement {
  readonly addr: Range;
  readonly proto?: Range;
  readonly port?: Range;
  readonly value: string;
}

function parseAddr(text: string): Range {
  const dash = text.indexOf('-');
  if (dash > 0) {
    const lo = parseIp(text.slice(0, dash));
    const hi = parseIp(text.slice(dash + 1));
    if (!lo || !hi) throw new Error(`bad address range ${text}`);
    return { lo: lo.value, hi: hi.value };
  }
  if (text.includes('/')) {
    const c = parseCidr(text);
    if (!c) throw new Error(`bad cidr ${text}`);
    return cidrInterval(c);
  }
  const ip = parseIp(text);
  if (!ip) throw new Error(`bad address ${text}`);
  return { lo: ip.value, hi: ip.value };
}

function parseNum(text: string): Range {
  const [a, b] = text.split('-');
  return { lo: BigInt(a as string), hi: BigInt(b ?? (a as string)) };
}

const parsedCache = new WeakMap<NftSet, ParsedElement[]>();

function elementsOf(s: NftSet): ParsedElement[] {
  let p = parsedCache.get(s);
  if (!p) {
    p = [...s.elements].map(([k, value]) => {
      const parts = k.split(' . ');
      if (parts.length === 1) return { addr: parseAddr(k), value };
      if (parts.length === 3) return { addr: parseAddr(parts[0] as string), proto: parseNum(parts[1] as string), port: parseNum(parts[2] as string), value };
      throw new Error(`bad element ${k}`);
    });
    parsedCache.set(s, p);
  }
  return p;
}

const within = (r: Range, v: bigint): boolean => v >= r.lo && v <= r.hi;

function lookup(s: NftSet, addr: bigint, pkt: FakePacket | undefined): string | undefined {
  let found: string | undefined;
  let hits = 0;
  for (const e of elementsOf(s)) {
    if (!within(e.addr, addr)) continue;
    if (e.proto && (!pkt || !within(e.proto, BigInt(pkt.proto)) || !within(e.port as Range, BigInt(pkt.dport)))) continue;
    found = e.value;
    hits++;
  }
  if (hits > 1) throw new Error(`set ${s.name} has overlapping elements`);
  return found;
}

type Outcome = { readonly kind: 'accept' | 'drop' | 'return' | 'next' } | { readonly kind: 'jump'; readonly chain: string };

const VERDICT_RE = /^(accept|drop|return|jump ([a-z0-9_]+))$/;
function verdictOf(v: string): Outcome {
  const m = VERDICT_RE.exec(v);
  if (!m) throw new Error(`bad verdict ${v}`);
  return m[2] ? { kind: 'jump', chain: m[2] } : { kind: m[1] as 'accept' | 'drop' | 'return' };
}

const IFMAP_RE = /^(iif|oif)name vmap @([a-z0-9_]+)$/;
// Pod interfaces are matched by interface group; the agent puts exactly its pn + 12 hex veths in it.
const IFDROP_RE = /^(iif|oif)group (\d+) (?:log prefix "([^"]*)" group \d+ )?drop$/;
const ND_RE = /^iifgroup (\d+) icmpv6 type \{ [a-z-, ]+ \} accept$/;
const inPodGroup = (ifname: string | undefined, group: string): boolean => Number(group) === POD_IF_GROUP && ifname !== undefined && IFNAME_RE.test(ifname);
const LOOKUP_RE = /^(ip|ip6) (saddr|daddr)( \. meta l4proto \. th dport)? (vmap )?@([a-z0-9_]+)( accept)?$/;
const LOG_RE = /^log prefix "([^"]*)" group \d+$/;

class Interp {
  readonly logs: string[] = [];
  constructor(
    private readonly m: NftModel,
    private readonly pkt: FakePacket,
  ) {}

  private set(name: string): NftSet {
    const s = this.m.sets.get(name);
    if (!s) throw new Error(`no set ${name}`);
    return s;
  }

  rule(r: string): Outcome {
    const p = this.pkt;
    if (r === 'ct state established,related accept') return p.established ? { kind: 'accept' } : { kind: 'next' };
    if (r === 'accept' || r === 'drop' || r === 'return') return { kind: r };
    let x = IFMAP_RE.exec(r);
    if (x) {
      const name = x[1] === 'iif' ? p.iif : p.oif;
      const v = name === undefined ? undefined : this.set(x[2] as string).elements.get(`"${name}"`);
      return v === undefined ? { kind: 'next' } : verdictOf(v);
    }
    x = IFDROP_RE.exec(r);
    if (x) {
      if (!inPodGroup(x[1] === 'iif' ? p.iif : p.oif, x[2] as string)) return { kind: 'next' };
      if (x[3] !== undefined) this.logs.push(x[3]);
      return { kind: 'drop' };
    }
    x = ND_RE.exec(r);
    if (x) return p.nd && inPodGroup(p.iif, x[1] as string) ? { kind: 'accept' } : { kind: 'next' };
    x = LOG_RE.exec(r);
    if (x) {
      this.logs.push(x[1] as string);
      return { kind: 'next' };
    }
    x = LOOKUP_RE.exec(r);
    if (x) {
      if ((x[1] === 'ip' ? 4 : 6) !== p.family) return { kind: 'next' };
      const addr = parseIp(x[2] === 'saddr' ? p.saddr : p.daddr);
      if (!addr) throw new Error('bad packet address');
      const v = lookup(this.set(x[5] as string), addr.value, x[3] ? p : undefined);
      if (v === undefined) return { kind: 'next' };
      if (x[4]) return verdictOf(v);
      if (x[6]) return { kind: 'accept' };
      throw new Error(`unknown rule ${r}`);
    }
    throw new Error(`unknown rule ${r}`);
  }

  /** Runs a chain; 'return' and falling off the end give 'return'. */
  chain(c: NftChain, depth = 0): 'accept' | 'drop' | 'return' {
    if (depth > 16) throw new Error('jump loop');
    for (const r of c.rules) {
      const o = this.rule(r);
      if (o.kind === 'next') continue;
      if (o.kind === 'jump') {
        const target = this.m.chains.get(o.chain);
        if (!target) throw new Error(`no chain ${o.chain}`);
        const res = this.chain(target, depth + 1);
        if (res === 'return') continue;
        return res;
      }
      return o.kind;
    }
    return 'return';
  }
}

const priority = (c: NftChain): number => Number(/priority (-?\d+)/.exec(c.hook ?? '')?.[1] ?? 0);

/** Runs every base chain of the packet's hook in priority order (each has policy accept). */
export function evaluateModel(m: NftModel, pkt: FakePacket): FakeResult {
  const interp = new Interp(m, pkt);
  const bases = [...m.chains.values()].filter((c) => c.hook?.includes(`hook ${pkt.hook} `)).sort((a, b) => priority(a) - priority(b));
  for (const c of bases) {
    if (interp.chain(c) === 'drop') return { verdict: 'drop', logs: interp.logs };
  }
  return { verdict: 'accept', logs: interp.logs };
}
