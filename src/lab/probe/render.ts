/**
 * A probed matrix against its expectation, as text: rows are sources, columns destinations;
 * "." allowed as expected, "x" denied as expected, "A!" allowed but expected denied, "D!" denied
 * but expected allowed, "-" the diagonal. Then one line per mismatch with the probe's detail.
 */
import { specName, type Matrix } from './matrix.js';

export function mismatches(m: Matrix, expected: (from: string, to: string) => boolean): string[] {
  return m.cells
    .filter((c) => c.connected !== expected(c.from, c.to))
    .map((c) => `${c.from} -> ${c.to} (${c.dst}) ${specName(m.spec)}: expected ${expected(c.from, c.to) ? 'allow' : 'deny'}, got ${c.connected ? 'allow' : 'deny'} (${c.detail}, ${c.attempts} attempt${c.attempts > 1 ? 's' : ''})`);
}

export function renderComparison(m: Matrix, expected: (from: string, to: string) => boolean, indent = ''): string {
  const cell = new Map(m.cells.map((c) => [`${c.from}>${c.to}`, c]));
  const rows = m.pods.map((from) => [
    from,
    ...m.pods.map((to) => {
      if (from === to) return '-';
      const c = cell.get(`${from}>${to}`);
      if (!c) return '?';
      const want = expected(from, to);
      return c.connected === want ? (want ? '.' : 'x') : c.connected ? 'A!' : 'D!';
    }),
  ]);
  const header = ['from\\to', ...m.pods];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (vals: readonly string[]): string => indent + vals.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' ').trimEnd();
  const bad = mismatches(m, expected);
  const title = `${indent}${specName(m.spec)}: ${bad.length === 0 ? 'as expected' : `${bad.length} of ${m.cells.length} pairs differ`} (. allowed, x denied, A! allowed but expected denied, D! denied but expected allowed)\n`;
  return title + [line(header), ...rows.map(line)].join('\n') + '\n' + bad.map((b) => `${indent}  ${b}\n`).join('');
}
