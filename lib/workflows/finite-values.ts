/**
 * The finite-value policy of the fusion and evaluation workflows: a NaN or ±Inf pixel spreads
 * through a network (50 NaN MS pixels made 99.9 % of a fused image NaN), so by default any
 * non-finite input or output value is a NonFiniteError saying how many and where; the option
 * `fillNonFinite` replaces them explicitly. Also the range check: MS/PAN in [0, 1] look like
 * reflectance, not the DN the models expect.
 */
import type { HostArray } from '../host.js';
import { NonFiniteError } from './workflow-errors.js';

/** Where a workflow's warnings go (the CLI prints them; the default drops them). */
export type WarningSink = (message: string) => void;

export interface NonFinite {
  nan: number;
  inf: number;
  /** flat index of the first one */
  first: number;
}

export function countNonFinite(a: HostArray): NonFinite | undefined {
  const d = a.data as ArrayLike<number>;
  if (typeof d[0] === 'bigint') return undefined; // integer data is always finite
  let nan = 0,
    inf = 0,
    first = -1;
  for (let i = 0; i < d.length; i++) {
    const x = d[i]!;
    if (x - x !== 0) {
      // NaN or ±Inf, one comparison on the common path
      if (Number.isNaN(x)) nan++;
      else inf++;
      if (first < 0) first = i;
    }
  }
  return first < 0 ? undefined : { nan, inf, first };
}

/** "band 3, row 10, column 7" of a flat index into a C×H×W (or N×C×H×W) array. */
export function where(shape: readonly number[], index: number): string {
  const names = shape.length === 4 ? ['image', 'band', 'row', 'column'] : shape.length === 3 ? ['band', 'row', 'column'] : shape.map((_, i) => `dim ${i}`);
  const out: string[] = [];
  let rest = index;
  for (let k = shape.length - 1; k >= 0; k--) {
    out[k] = `${names[k]} ${rest % shape[k]!}`;
    rest = Math.floor(rest / shape[k]!);
  }
  return out.join(', ');
}

export function describeNonFinite(a: HostArray, f: NonFinite): string {
  const n = f.nan + f.inf;
  const pct = (100 * n) / a.data.length;
  const kinds = [f.nan ? `${f.nan} NaN` : '', f.inf ? `${f.inf} ±Inf` : ''].filter(Boolean).join(', ');
  return `${n} non-finite value${n === 1 ? '' : 's'} (${kinds}; ${pct < 0.01 ? '<0.01' : pct.toFixed(2)} % of ${a.data.length}), the first at ${where(a.shape, f.first)}`;
}

/** Replaces non-finite values in place; returns how many. */
export function fillNonFinite(a: HostArray, value: number): number {
  const d = a.data as Float32Array | Float64Array;
  let n = 0;
  for (let i = 0; i < d.length; i++)
    if (!Number.isFinite(d[i]!)) {
      d[i] = value;
      n++;
    }
  return n;
}

/**
 * Applies the policy to a named array: with `fill` undefined a non-finite value is a NonFiniteError
 * (what, how many, where, what to do); else they are replaced and a warning says how many.
 */
export function finitePolicy(label: string, a: HostArray | undefined, fill: number | undefined, hint: string, warn?: WarningSink): void {
  if (!a) return;
  const f = countNonFinite(a);
  if (!f) return;
  const what = `${label} has ${describeNonFinite(a, f)}`;
  if (fill === undefined) throw new NonFiniteError(label, `${what}: ${hint}, or set fillNonFinite to replace them`);
  fillNonFinite(a, fill);
  warn?.(`${what}; replaced by ${fill} (fillNonFinite)`);
}

/** The largest finite value of the arrays (for the reflectance check). */
export function maxFinite(arrays: Array<HostArray | undefined>): number {
  let max = -Infinity;
  for (const a of arrays) {
    if (!a) continue;
    const d = a.data as ArrayLike<number>;
    if (typeof d[0] === 'bigint') continue;
    for (let i = 0; i < d.length; i++) {
      const x = d[i]!;
      if (x > max && x !== Infinity) max = x;
    }
  }
  return max;
}

/** Warns when the inputs look like reflectance ([0, 1]) while they will be divided by a DN scale. */
export function warnIfReflectance(arrays: Array<HostArray | undefined>, scale: number, scaleGiven: boolean, warn?: WarningSink): void {
  if (scaleGiven || scale <= 2) return;
  const max = maxFinite(arrays);
  if (max > 0 && max <= 1.5) {
    warn?.(
      `the inputs look like reflectance (largest value ${max.toPrecision(3)}), not DN: they are divided by ${scale} like DN; ` +
        'set scale 1 if they are already normalised (or give the DN scale)',
    );
  }
}
