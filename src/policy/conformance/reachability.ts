/**
 * The standard NetworkPolicy conformance model's pods (namespaces x, y, z; pods a, b, c in each)
 * and the expected-connectivity matrix over them, built like the upstream e2e Reachability helper.
 * Pure: shared by the compiler's unit tests and the lab's datapath test.
 */
export const NAMESPACES = ['x', 'y', 'z'] as const;
export const PODS = ['a', 'b', 'c'] as const;
/** "x/a" … "z/c", namespace-major. */
export const ALL_PODS: readonly string[] = NAMESPACES.flatMap((ns) => PODS.map((p) => `${ns}/${p}`));

/** Ordered pairs of distinct pods (the diagonal is loopback inside a pod: never probed). */
export const ALL_PAIRS: readonly (readonly [string, string])[] = ALL_PODS.flatMap((f) => ALL_PODS.filter((t) => t !== f).map((t) => [f, t] as const));

export const pairKey = (from: string, to: string): string => `${from}>${to}`;

/** Expected connectivity; "x/*", "* /a" (no space) and "*" select pods. */
export class Reachability {
  private readonly m = new Map<string, boolean>();
  constructor(defaultAllowed: boolean) {
    for (const f of ALL_PODS) for (const t of ALL_PODS) this.m.set(pairKey(f, t), defaultAllowed);
  }
  private static sel(s: string): string[] {
    if (s === '*') return [...ALL_PODS];
    const [ns, pod] = s.split('/') as [string, string];
    return ALL_PODS.filter((k) => (ns === '*' || k.startsWith(`${ns}/`)) && (pod === '*' || k.endsWith(`/${pod}`)));
  }
  expect(from: string, to: string, allowed: boolean): this {
    for (const f of Reachability.sel(from)) for (const t of Reachability.sel(to)) this.m.set(pairKey(f, t), allowed);
    return this;
  }
  get(from: string, to: string): boolean {
    return this.m.get(pairKey(from, to)) as boolean;
  }
}
