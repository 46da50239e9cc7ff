/** Mean ± standard deviation of per-image metrics over a test set, as the published tables report them. */

export interface MetricSummary {
  mean: number;
  std: number;
  min: number;
  max: number;
}

export interface SummarizeOptions {
  /** Delta degrees of freedom of the std: 1 (sample std, MATLAB's std default) or 0 (population). Default 1. */
  ddof?: 0 | 1;
}

export type Summary<R> = {
  count: number;
  ddof: 0 | 1;
  metrics: { [P in Exclude<keyof R, 'conventions'>]: MetricSummary };
  conventions: R extends { conventions: infer C } ? C : undefined;
};

// Fields that may differ between images of one set without changing the definition of a metric.
const PER_IMAGE = new Set(['device', 'evaluatedSize', 'size']);

function comparable(c: unknown): string {
  if (c === null || typeof c !== 'object') return JSON.stringify(c);
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c as Record<string, unknown>)) if (!PER_IMAGE.has(k)) o[k] = v;
  return JSON.stringify(o);
}

/**
 * Mean, std, min and max of every metric over `list` (results of one of the *Metrics functions).
 * All results must have been computed with the same conventions (RangeError otherwise): averaging
 * numbers computed with, say, different border cuts would be meaningless. NaN values propagate.
 */
export function summarize<R extends { conventions?: unknown }>(list: readonly R[], options: SummarizeOptions = {}): Summary<R> {
  if (!Array.isArray(list)) throw new TypeError('list: expected an array of metric results');
  if (list.length === 0) throw new RangeError('list: empty');
  const ddof = options.ddof ?? 1;
  if (ddof !== 0 && ddof !== 1) throw new RangeError('options.ddof: must be 0 or 1');
  const first = list[0]!;
  if (first === null || typeof first !== 'object') throw new TypeError('list[0]: expected a metric result object');
  const keys = Object.keys(first).filter((k) => k !== 'conventions');
  const ref = comparable(first.conventions);
  list.forEach((r, i) => {
    if (r === null || typeof r !== 'object') throw new TypeError(`list[${i}]: expected a metric result object`);
    const rk = Object.keys(r).filter((k) => k !== 'conventions');
    if (rk.length !== keys.length || !keys.every((k) => rk.includes(k))) {
      throw new RangeError(`list[${i}]: has metrics ${rk.join(', ')}, list[0] has ${keys.join(', ')}`);
    }
    for (const k of keys) {
      if (typeof (r as Record<string, unknown>)[k] !== 'number') throw new TypeError(`list[${i}].${k}: expected a number`);
    }
    if (comparable(r.conventions) !== ref) {
      throw new RangeError(`list[${i}]: computed with different conventions than list[0]:\n  ${comparable(r.conventions)}\nvs\n  ${ref}`);
    }
  });
  if (ddof === 1 && list.length < 2) throw new RangeError('list: the sample std (ddof 1) needs at least 2 results');
  const metrics: Record<string, MetricSummary> = {};
  for (const k of keys) {
    const xs = list.map((r) => (r as Record<string, unknown>)[k] as number);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const ss = xs.reduce((a, b) => a + (b - mean) * (b - mean), 0);
    metrics[k] = { mean, std: Math.sqrt(ss / (xs.length - ddof)), min: Math.min(...xs), max: Math.max(...xs) };
  }
  return { count: list.length, ddof, metrics, conventions: first.conventions } as Summary<R>;
}

/** "3.1042±0.5585" per metric, in the style of the published tables. */
export function formatSummary<R>(s: Summary<R>, digits = 4): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.metrics as Record<string, MetricSummary>)) out[k] = `${v.mean.toFixed(digits)}±${v.std.toFixed(digits)}`;
  return out;
}

/** Per-metric values of one table row: means, and the sample std when there are two or more results. */
export interface MeanAndSpread {
  values: Record<string, number>;
  spread?: Record<string, number>;
}

/**
 * The one averaging of per-image (per-tile) metric results that tables report: one result is
 * itself (no spread); two or more give summarize()'s mean and sample std. Non-number fields
 * (`conventions`) are left out.
 */
export function meanAndSpread(list: readonly Record<string, unknown>[]): MeanAndSpread {
  if (list.length === 1) {
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(list[0]!)) if (typeof v === 'number') values[k] = v;
    return { values };
  }
  const s = summarize(list as { conventions?: unknown }[]);
  const values: Record<string, number> = {},
    spread: Record<string, number> = {};
  for (const [k, m] of Object.entries(s.metrics as Record<string, MetricSummary>)) {
    values[k] = m.mean;
    spread[k] = m.std;
  }
  return { values, spread };
}

/** A metric result without its `conventions` (per-image rows of a report). */
export const stripConventions = <T extends { conventions?: unknown }>(r: T): Omit<T, 'conventions'> => {
  const { conventions: _c, ...rest } = r;
  return rest;
};
