// The weight files the training fixtures write (fixtures/train-rank.ts: every state-dict tensor as
// float32, keys sorted) and how two of them are compared.
import { readFileSync } from 'node:fs';

export function read(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}
export const bitIdentical = (a: Float32Array, b: Float32Array) =>
  a.length > 0 && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

/**
 * The norm-wise relative difference ‖a − b‖₂ / ‖b‖₂ over the tensors training changed (tensors
 * bit-equal in both runs, frozen ones and buffers, are left out: they would only dilute it), and
 * the largest element-wise difference relative to its tensor's largest value, for the message.
 */
export function relativeDifference(a: Float32Array, b: Float32Array, sizes: number[]): { normwise: number; elementwise: number } {
  let diff2 = 0,
    ref2 = 0,
    elementwise = 0,
    at = 0;
  for (const n of sizes) {
    let d2 = 0,
      r2 = 0,
      dmax = 0,
      rmax = 0;
    for (let j = at; j < at + n; j++) {
      const d = a[j]! - b[j]!;
      d2 += d * d;
      r2 += b[j]! * b[j]!;
      dmax = Math.max(dmax, Math.abs(d));
      rmax = Math.max(rmax, Math.abs(b[j]!));
    }
    if (dmax > 0) {
      diff2 += d2;
      ref2 += r2;
      elementwise = Math.max(elementwise, dmax / Math.max(rmax, 1e-30));
    }
    at += n;
  }
  return { normwise: ref2 > 0 ? Math.sqrt(diff2 / ref2) : 0, elementwise };
}
