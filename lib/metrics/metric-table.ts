/**
 * Metric results as the text table the command line prints: one row per method, the toolbox's
 * columns for the kind of evaluation (reduced resolution against a ground truth, or full resolution
 * without one) with the direction of each index, and mean±std where a spread is given.
 */

type Row = Record<string, number>;

export interface MetricTableRow {
  name: string;
  values: Row;
  /** Standard deviations (over images) printed after the means. */
  spread?: Row;
}

const reducedColumns = (bands: number) => [
  { key: 'SAM', label: 'SAM↓' },
  { key: 'ERGAS', label: 'ERGAS↓' },
  { key: 'Q2n', label: `Q${bands}↑` },
  { key: 'Q', label: 'Q↑' },
  { key: 'SCC', label: 'SCC↑' },
  { key: 'PSNR', label: 'PSNR↑' },
  { key: 'SSIM', label: 'SSIM↑' },
];
const FULL_COLUMNS = [
  { key: 'D_lambda', label: 'D_λ↓' },
  { key: 'D_s', label: 'D_s↓' },
  { key: 'QNR', label: 'QNR↑' },
  { key: 'D_lambda_K', label: 'D_λ^K↓' },
  { key: 'HQNR', label: 'HQNR↑' },
];

/** The table of `rows` with the columns of `kind` (`bands` names the Q2n column: Q8, Q4); '-' for a missing value. */
export function formatMetricTable(rows: readonly MetricTableRow[], kind: 'reduced-resolution' | 'full-resolution', bands: number, digits = 4): string {
  const columns = kind === 'reduced-resolution' ? reducedColumns(bands) : FULL_COLUMNS;
  const cell = (v: number | undefined, s?: number) =>
    v === undefined ? '-' : s === undefined ? v.toFixed(digits) : `${v.toFixed(digits)}±${s.toFixed(digits)}`;
  const table = [['method', ...columns.map((c) => c.label)], ...rows.map((r) => [r.name, ...columns.map((c) => cell(r.values[c.key], r.spread?.[c.key]))])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}
