/** Renders command results as a table (default), JSON or YAML (`-o`). */
import { stringify as toYaml } from 'yaml';
import { PodnetError, CommonErrors } from '../common/errors.js';

export type OutputFormat = 'table' | 'json' | 'yaml';

export function parseOutputFormat(s: string | undefined): OutputFormat {
  if (s === undefined || s === 'table' || s === 'wide') return 'table';
  if (s === 'json' || s === 'yaml') return s;
  throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `-o ${s}: output must be json, yaml or table`);
}

export interface Column<T> {
  readonly header: string;
  readonly get: (row: T) => string | number | undefined;
}

export function table<T>(rows: readonly T[], cols: readonly Column<T>[]): string {
  const cells = rows.map((r) => cols.map((c) => String(c.get(r) ?? '')));
  const widths = cols.map((c, i) => Math.max(c.header.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (vals: readonly string[]) => vals.map((v, i) => (i === vals.length - 1 ? v : v.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(cols.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

export function render(data: unknown, format: OutputFormat, asTable: () => string): string {
  if (format === 'json') return JSON.stringify(data, null, 2) + '\n';
  if (format === 'yaml') return toYaml(data);
  return asTable();
}
