/**
 * Axis ticks a reader can take in at a glance: "nice numbers" (1, 2 or 5 times a power of ten,
 * Heckbert, Graphics Gems I, 1990; rounded at the geometric midpoints √2, √10, √50 as d3 does, so
 * the tick count stays close to the one asked for) on linear axes, decades (with 2 and 5 in between when the range
 * is short) on log axes, and labels without floating-point noise (0.30000000000000004 → 0.3).
 */

/** The nice number (1, 2, 5 or 10 × 10^k) closest to x (round) or not below x (ceiling). */
export function niceNumber(x: number, round: boolean): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`niceNumber: expected a positive finite number, got ${x}`);
  const exponent = Math.floor(Math.log10(x));
  const f = Number((x / 10 ** exponent).toPrecision(12)); // 0.7 / 0.1 is 6.999999999999999
  const nice = round ? (f < Math.SQRT2 ? 1 : f < Math.sqrt(10) ? 2 : f < Math.sqrt(50) ? 5 : 10) : f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return Number((nice * 10 ** exponent).toPrecision(12));
}

/** Decimal places that show every multiple of `step` exactly. */
function decimals(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

export interface LinearTicks {
  /** Axis range, widened to whole steps around the data. */
  min: number;
  max: number;
  step: number;
  values: number[];
}

/** About `count` + 1 ticks covering [lo, hi], at multiples of a nice step. */
export function linearTicks(lo: number, hi: number, count = 5): LinearTicks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new RangeError('linearTicks: the range must be finite');
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    // one value: a range of one nice unit around it
    const pad = lo === 0 ? 1 : niceNumber(Math.abs(lo), false) / 2;
    lo -= pad;
    hi += pad;
  }
  const step = niceNumber((hi - lo) / Math.max(1, count), true);
  const d = decimals(step);
  const min = Math.floor(lo / step + 1e-9) * step,
    max = Math.ceil(hi / step - 1e-9) * step;
  const values: number[] = [];
  for (let i = 0; min + i * step <= max + step * 1e-9; i++) values.push(Number((min + i * step).toFixed(d)));
  return { min: Number(min.toFixed(d)), max: Number(max.toFixed(d)), step, values };
}

export interface LogTicks {
  /** Axis range in data units: whole decades around the data. */
  min: number;
  max: number;
  /** Labelled ticks (decades; 2× and 5× too when the range spans at most two decades). */
  values: number[];
}

/** Ticks of a log axis covering [lo, hi] (both > 0). */
export function logTicks(lo: number, hi: number): LogTicks {
  if (!(lo > 0) || !(hi > 0) || !Number.isFinite(lo) || !Number.isFinite(hi)) throw new RangeError('logTicks: the range must be positive and finite');
  if (hi < lo) [lo, hi] = [hi, lo];
  let e0 = Math.floor(Math.log10(lo) + 1e-9),
    e1 = Math.ceil(Math.log10(hi) - 1e-9);
  if (e1 === e0) e1 = e0 + 1;
  const decades = e1 - e0;
  // Many decades: label every k-th so about six labels remain.
  const every = Math.max(1, Math.ceil(decades / 6));
  const values: number[] = [];
  for (let e = e0; e <= e1; e++) {
    if ((e - e0) % every === 0) values.push(pow10(e));
    if (decades <= 2 && e < e1) for (const m of [2, 5]) values.push(m * pow10(e));
  }
  values.sort((a, b) => a - b);
  return { min: pow10(e0), max: pow10(e1), values: values.map(clean) };
}

/** 10^e without the binary-fraction noise of Math.pow (10 ** -3 is 0.0010000000000000002). */
function pow10(e: number): number {
  return e >= 0 ? 10 ** e : 1 / 10 ** -e;
}

function clean(v: number): number {
  return Number(v.toPrecision(12));
}

const SUPERSCRIPT: Record<string, string> = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };

/** A tick label: plain decimals from 0.001 to 99,999, else m×10ⁿ (with real superscripts). */
export function formatTick(v: number, step?: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e5) {
    const d = step !== undefined ? decimals(step) : Math.min(12, Math.max(0, -Math.floor(Math.log10(a)) + 2));
    return String(Number(v.toFixed(d))).replace('-', '−');
  }
  const e = Math.floor(Math.log10(a) + 1e-9);
  const m = Number((v / 10 ** e).toPrecision(3));
  const power = `10${String(e)
    .split('')
    .map((ch) => SUPERSCRIPT[ch])
    .join('')}`;
  return m === 1 ? power : `${String(m).replace('-', '−')}×${power}`;
}
