/**
 * Small HostArray utilities the readers share: allocation by dtype, axis permutation (every
 * layout change here — MATLAB column-major to row-major, NHWC to NCHW, HWC to CHW — is one),
 * and dtype conversion (the float32 option of the readers).
 */
import { type DType, type HostArray, type HostData, numel } from '../host.js';
import { DataFormatError } from './format-errors.js';

/** Index access shared by every HostData variant; int64 elements are bigint. */
type Indexable = { [i: number]: number | bigint; readonly length: number };

export function allocate(dtype: DType, n: number): HostData {
  switch (dtype) {
    case 'float64':
      return new Float64Array(n);
    case 'float32':
      return new Float32Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'int16':
      return new Int16Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(n);
    case 'uint16':
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(n);
  }
}

/** The dtype a typed array naturally holds (Uint8Array reads as uint8, not bool). */
export function dtypeOfData(data: HostData): DType {
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint16Array) return 'uint16';
  return 'uint8';
}

/** Checks the invariants every reader/writer relies on: shape matches data length, typed array matches dtype. */
export function checkHostArray(a: HostArray, what: string): void {
  if (!a || !Array.isArray(a.shape) || !a.data || typeof a.dtype !== 'string') {
    throw new DataFormatError('bad-argument', `${what} is not a HostArray {dtype, shape, data}`);
  }
  for (const d of a.shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new DataFormatError('bad-argument', `${what} has an invalid dimension ${d} in shape [${a.shape}]`);
  }
  if (numel(a.shape) !== a.data.length) {
    throw new DataFormatError('shape', `${what}: shape [${a.shape}] holds ${numel(a.shape)} elements but data has ${a.data.length}`);
  }
  const natural = dtypeOfData(a.data);
  const ok = natural === a.dtype || (a.dtype === 'bool' && natural === 'uint8') || ((a.dtype === 'float16' || a.dtype === 'bfloat16') && natural === 'uint16');
  if (!ok) throw new DataFormatError('bad-argument', `${what}: dtype ${a.dtype} does not match its ${a.data.constructor.name}`);
}

/**
 * Row-major axis permutation: output axis i is input axis perm[i] (numpy.transpose semantics).
 * The innermost output axis is walked with a constant input stride; an odometer handles the rest.
 */
export function permute(a: HostArray, perm: readonly number[]): HostArray {
  const nd = a.shape.length;
  if (perm.length !== nd || [...perm].sort((x, y) => x - y).some((p, i) => p !== i)) {
    throw new DataFormatError('bad-argument', `permutation [${perm}] does not fit shape [${a.shape}]`);
  }
  const outShape = perm.map((p) => a.shape[p]!);
  if (perm.every((p, i) => p === i) || numel(a.shape) <= 1) return { dtype: a.dtype, shape: outShape, data: a.data };
  const inStrides = new Array<number>(nd);
  let s = 1;
  for (let i = nd - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= a.shape[i]!;
  }
  const strides = perm.map((p) => inStrides[p]!);
  const total = numel(outShape);
  const src = a.data as unknown as Indexable;
  const out = allocate(a.dtype, total);
  const dst = out as unknown as Indexable;
  const inner = outShape[nd - 1]!;
  const innerStride = strides[nd - 1]!;
  const idx = new Array<number>(nd).fill(0);
  let base = 0;
  for (let o = 0; o < total; o += inner) {
    let off = base;
    for (let j = 0; j < inner; j++) {
      dst[o + j] = src[off]!;
      off += innerStride;
    }
    // advance the odometer over the outer axes
    for (let ax = nd - 2; ax >= 0; ax--) {
      idx[ax]!++;
      base += strides[ax]!;
      if (idx[ax]! < outShape[ax]!) break;
      base -= strides[ax]! * outShape[ax]!;
      idx[ax] = 0;
    }
  }
  return { dtype: a.dtype, shape: outShape, data: out };
}

/** Same values in another dtype; returns the input unchanged when the dtype already matches. */
export function convertDType(a: HostArray, dtype: DType): HostArray {
  if (a.dtype === dtype) return a;
  if (dtype === 'float16' || dtype === 'bfloat16' || a.dtype === 'float16' || a.dtype === 'bfloat16') {
    throw new DataFormatError('unsupported', `conversion ${a.dtype} -> ${dtype} is not supported here`);
  }
  const n = a.data.length;
  const out = allocate(dtype, n);
  if (dtype === 'int64') {
    const d = out as BigInt64Array;
    const s = a.data as unknown as Indexable;
    for (let i = 0; i < n; i++) {
      const v = s[i]!;
      d[i] = typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
    }
  } else if (a.dtype === 'int64') {
    const d = out as unknown as { [i: number]: number };
    const s = a.data as BigInt64Array;
    for (let i = 0; i < n; i++) d[i] = Number(s[i]!);
  } else if (dtype === 'bool') {
    const d = out as Uint8Array;
    const s = a.data as unknown as ArrayLike<number>;
    for (let i = 0; i < n; i++) d[i] = s[i] ? 1 : 0;
  } else {
    // Typed-array set() does the C-style conversion (truncation / wrap for integers) natively.
    (out as Float64Array).set(a.data as Float64Array);
  }
  return { dtype, shape: [...a.shape], data: out };
}

/**
 * Converts to an integer dtype the way image writers should: round to nearest and clamp to the
 * type's range (NaN → 0), instead of the truncation and wrap-around of a plain cast.
 * Non-integer targets, and sources already of the target dtype, go through convertDType.
 */
export function quantize(a: HostArray, dtype: DType): HostArray {
  const range: Partial<Record<DType, [number, number]>> = {
    uint8: [0, 255],
    uint16: [0, 65535],
    int8: [-128, 127],
    int16: [-32768, 32767],
    int32: [-2147483648, 2147483647],
  };
  const r = range[dtype];
  if (!r || a.dtype === dtype || a.dtype === 'int64' || !(a.dtype === 'float32' || a.dtype === 'float64')) return convertDType(a, dtype);
  const [lo, hi] = r;
  const src = a.data as Float32Array | Float64Array;
  const out = allocate(dtype, src.length) as Uint8Array | Uint16Array | Int8Array | Int16Array | Int32Array;
  for (let i = 0; i < src.length; i++) {
    const v = Math.round(src[i]!);
    out[i] = v > hi ? hi : v >= lo ? v : v < lo ? lo : 0; // the last branch is NaN
  }
  return { dtype, shape: [...a.shape], data: out };
}
