// Shared test helpers: Img <-> Tensor, relative comparison, typed error expectations.
import type { Test } from 'tap';
import { tensor, type Tensor } from '../../lib/index.js';
import type { Img } from './reference.js';

export const toTensor = (x: Img, dtype?: 'float32'): Tensor =>
  dtype === 'float32' ? tensor(new Float32Array(x.d), [x.c, x.h, x.w]) : tensor(x.d, [x.c, x.h, x.w]);

/** 1×H×W PAN-like tensor from band 0 of x. */
export const panTensor = (x: Img): Tensor => tensor(x.d.slice(0, x.h * x.w), [1, x.h, x.w]);

export function close(t: Test, got: number, want: number, rel: number, what: string): void {
  const err = Math.abs(got - want);
  const ok = Number.isFinite(want) ? err <= rel * Math.max(Math.abs(want), 1e-300) : got === want;
  t.ok(ok, `${what}: ${got} vs ${want} (relative error ${(err / Math.abs(want)).toExponential(2)})`);
}

export function near(t: Test, got: number, want: number, abs: number, what: string): void {
  t.ok(Math.abs(got - want) <= abs, `${what}: ${got} vs ${want} (|error| ${Math.abs(got - want).toExponential(2)} <= ${abs})`);
}

type Ctor = typeof Error | typeof TypeError | typeof RangeError;

export async function rejectsWith(t: Test, what: string, fn: () => Promise<unknown>, cls: Ctor, re: RegExp): Promise<void> {
  try {
    await fn();
    t.fail(`${what}: resolved, expected ${cls.name}`);
  } catch (e) {
    const err = e as Error;
    t.equal(err.constructor, cls, `${what}: ${cls.name} (${err.constructor.name}: ${err.message})`);
    t.match(err.message, re, `${what}: message names the argument`);
  }
}
