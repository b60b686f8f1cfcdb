/** Collects the calculation's problems: de-duplicated, blocks grouped per node and reason, sorted. */
import { compareCidr, compareText } from './order.js';

export class Problems {
  private readonly plain = new Set<string>();
  /** "node X: reason" -> blocks without a route for that reason. */
  private readonly unrouted = new Map<string, Set<string>>();

  add(text: string): void {
    this.plain.add(text);
  }

  addAll(prefix: string, texts: readonly string[]): void {
    for (const t of texts) this.plain.add(`${prefix}: ${t}`);
  }

  noRoute(node: string, reason: string, block: string): void {
    const key = `node ${node}: ${reason}`;
    let blocks = this.unrouted.get(key);
    if (!blocks) this.unrouted.set(key, (blocks = new Set()));
    blocks.add(block);
  }

  list(): string[] {
    const out = [...this.plain];
    for (const [key, blocks] of this.unrouted) out.push(`${key}; no route to ${[...blocks].sort(compareCidr).join(', ')}`);
    return out.sort(compareText);
  }
}
