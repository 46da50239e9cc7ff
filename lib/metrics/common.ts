/** Shared pieces of the metric API: argument checks and the reference the numbers follow. */
import { Tensor } from '../tensor.js';

/** Where the formulas come from. */
export const TOOLBOX_REFERENCE =
  'Vivone et al. MATLAB pansharpening toolbox as shipped in liangjiandeng/DLPan-Toolbox (Quality_Indices/*.m, Tools/indexes_evaluation*.m)';

export function checkTensor(x: unknown, name: string): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${name}: expected a Tensor, got ${describe(x)}`);
  if (x.disposed) throw new Error(`${name}: tensor was disposed`);
  return x;
}

export function checkOptional(x: unknown, name: string): Tensor | undefined {
  return x === undefined || x === null ? undefined : checkTensor(x, name);
}

export function checkObject(x: unknown, name: string): Record<string, unknown> {
  if (x === undefined) return {};
  if (x === null || typeof x !== 'object' || Array.isArray(x) || x instanceof Tensor) {
    throw new TypeError(`${name}: expected a plain object, got ${describe(x)}`);
  }
  return x as Record<string, unknown>;
}

/** A single image (C×H×W or 1×C×H×W); batches go through the *Batch functions. */
export function checkSingle(x: Tensor, name: string, batchFn: string): void {
  if (x.ndim === 4 && x.shape[0] !== 1) {
    throw new RangeError(`${name}: a batch of ${x.shape[0]} images (shape [${x.shape.join(', ')}]); use ${batchFn}() for N×C×H×W`);
  }
}

export function checkBatch(x: Tensor, name: string): void {
  if (x.ndim !== 4) throw new RangeError(`${name}: expected an N×C×H×W batch, got shape [${x.shape.join(', ')}]`);
}

/** Height and width of a C×H×W / N×C×H×W image. */
export function spatial(x: Tensor): [number, number] {
  const s = x.shape;
  return [s[s.length - 2] ?? 0, s[s.length - 1] ?? 0];
}

export function bands(x: Tensor): number {
  return x.shape[x.ndim - 3] ?? 0;
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  return typeof x === 'object' ? (x.constructor?.name ?? 'an object') : typeof x;
}
