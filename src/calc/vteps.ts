/**
 * VXLAN endpoints must be unique: two nodes with the same MAC or tunnel address would overwrite
 * each other's FDB and neighbour entries. The first claim wins (this node first, then remote nodes
 * by name); a node that loses keeps its routes only where they need no tunnel.
 */
import type { NodeView } from './node-view.js';

export function claimVteps(me: NodeView, remotes: readonly NodeView[], problem: (text: string) => void): NodeView[] {
  const owner = new Map<string, string>();
  const claim = (n: NodeView): NodeView => {
    const v = n.vtep;
    if (!v) return n;
    const keys = [`MAC ${v.mac}`, ...Object.values(v.tunnel).map((ip) => `tunnel address ${ip}`)];
    const taken = keys.find((k) => owner.has(k));
    if (taken !== undefined) {
      const holder = owner.get(taken);
      problem(`node ${n.name}: its VXLAN ${taken} is also node ${holder}'s${holder === me.name ? ' (this node)' : ''}; no tunnel to it`);
      return { ...n, vtep: undefined };
    }
    for (const k of keys) owner.set(k, n.name);
    return n;
  };
  claim(me);
  return [...remotes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(claim);
}
