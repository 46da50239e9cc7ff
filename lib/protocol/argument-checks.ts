/**
 * Argument checks shared by lib/protocol and lib/baselines, for what the native ops cannot check or
 * TypeScript uses first: that a value is a live Tensor, the shapes TypeScript computes with, the
 * ratio where TypeScript does arithmetic with it. They throw a TypeError (wrong kind of value) or a
 * RangeError (right kind, wrong value) that names the argument. The ops (native/ops) are the
 * authority for the rest: the ratio's range and whether a filter needs a power of two, whether the
 * band count fits the sensor, whether an image divides by the ratio (same error classes).
 */
import { parseSensor, sensorBands } from '../data/sensors.js';
import { Tensor } from '../tensor.js';

/** Sensors with an MTF table in the toolbox ('none' = the generic 0.3 gain, any band count). */
export type ProtocolSensor = 'QB' | 'IKONOS' | 'GeoEye1' | 'WV4' | 'WV2' | 'WV3' | 'GF2' | 'none';

export type OutDType = 'float32' | 'float64';

/** Canonical lower-case id ('qb', 'wv3', ..., 'none') of a sensor name, via lib/data's aliases. */
export function resolveSensor(sensor: unknown, arg = 'sensor'): string {
  if (typeof sensor !== 'string') throw new TypeError(`${arg}: expected a sensor name (QB, IKONOS, GeoEye1, WV4, WV2, WV3, GF2 or none), got ${typeof sensor}`);
  if (sensor.trim().toLowerCase() === 'none') return 'none';
  const id = parseSensor(sensor);
  if (!id) throw new RangeError(`${arg}: unknown sensor '${sensor}' (known: QB, IKONOS, GeoEye1, WV4, WV2, WV3, GF2, none)`);
  return id;
}

/** A ratio that TypeScript computes with before the ops see it (they check the rest: range, powers of two). */
export function checkRatio(ratio: unknown, arg = 'ratio'): number {
  if (typeof ratio !== 'number') throw new TypeError(`${arg}: expected an integer, got ${typeof ratio}`);
  if (!Number.isInteger(ratio) || ratio < 2 || ratio > 64) throw new RangeError(`${arg}: must be an integer in [2, 64], got ${ratio}`);
  return ratio;
}

/** A live Tensor with 3 ([C,H,W]) or 4 ([N,C,H,W]) dims; `pan` also allows [H,W] and needs 1 channel. */
export function checkImage(x: unknown, arg: string, opts: { pan?: boolean } = {}): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${arg}: expected a Tensor, got ${x === null ? 'null' : typeof x}`);
  if (x.disposed) throw new TypeError(`${arg}: tensor was disposed`);
  const nd = x.ndim;
  const ok = nd === 3 || nd === 4 || (opts.pan === true && nd === 2);
  if (!ok) {
    const want = opts.pan ? '[H, W], [1, H, W] or [N, 1, H, W]' : '[C, H, W] or [N, C, H, W]';
    throw new RangeError(`${arg}: expected ${want}, got shape [${x.shape.join(', ')}]`);
  }
  if (x.dtype === 'bool') throw new TypeError(`${arg}: expected numeric values, got bool`);
  if (x.numel === 0) throw new RangeError(`${arg}: image is empty (shape [${x.shape.join(', ')}])`);
  if (opts.pan && nd >= 3 && x.shape[nd - 3] !== 1) throw new RangeError(`${arg}: expected 1 channel, got shape [${x.shape.join(', ')}]`);
  return x;
}

/** [N, C, H, W] of an image checked by checkImage (N = 1 for unbatched, C = 1 for a 2-D PAN). */
export function dims(x: Tensor): [number, number, number, number] {
  const s = x.shape;
  if (s.length === 4) return [s[0]!, s[1]!, s[2]!, s[3]!];
  if (s.length === 3) return [1, s[0]!, s[1]!, s[2]!];
  return [1, 1, s[0]!, s[1]!];
}

export function isBatched(x: Tensor): boolean {
  return x.ndim === 4;
}

export function checkSameBatching(a: Tensor, b: Tensor, an: string, bn: string): void {
  if (isBatched(a) !== isBatched(b)) {
    throw new RangeError(
      `${bn}: ${isBatched(b) ? 'batched [N, C, H, W]' : 'a single image'} but ${an} is ${isBatched(a) ? 'batched [N, C, H, W]' : 'a single image'}`,
    );
  }
  const na = dims(a)[0],
    nb = dims(b)[0];
  if (na !== nb) throw new RangeError(`${bn}: batch of ${nb} but ${an} has ${na}`);
}

export function checkOutDType(dtype: unknown): OutDType | undefined {
  if (dtype === undefined) return undefined;
  if (dtype !== 'float32' && dtype !== 'float64') throw new RangeError(`dtype: must be 'float32' or 'float64', got ${String(dtype)}`);
  return dtype;
}
