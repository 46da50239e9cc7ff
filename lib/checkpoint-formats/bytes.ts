/**
 * Small byte-level helpers shared by the readers: safe 64-bit reads and turning little-endian
 * element bytes into the typed arrays HostArray carries. Every function copies, so a HostArray
 * never aliases the (possibly huge, possibly reused) input buffer.
 */
import type { DType, HostData } from '../host.js';
import { BYTES_PER_ELEMENT } from '../host.js';
import { CheckpointError } from './checkpoint-errors.js';

/**
 * A plain Uint8Array view of the same bytes. Node Buffers override slice() to return a view,
 * so every reader normalises its input first and our copies really are copies.
 */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A fresh copy in its own exactly-sized ArrayBuffer. */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const c = new Uint8Array(bytes.length);
  c.set(bytes);
  return c;
}

export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type TypedCtor = new (buffer: ArrayBuffer, byteOffset?: number, length?: number) => HostData;

const CTOR: Record<DType, TypedCtor> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  bool: Uint8Array,
};

/** Does `data` have the typed-array class HostArray uses for `dtype`? (Writers validate input with it.) */
export function dataMatchesDType(dtype: DType, data: HostData): boolean {
  return data instanceof (CTOR[dtype] as unknown as typeof Uint8Array);
}

/** Reverse each `size`-byte group in place (for big-endian hosts or big-endian files). */
export function byteSwapInPlace(bytes: Uint8Array, size: number): void {
  if (size <= 1) return;
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const tmp = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = tmp;
    }
  }
}

/**
 * Copy element bytes stored in the given byte order into a fresh typed array of `dtype`.
 * The copy also fixes alignment: element data inside a file can start at any byte offset.
 */
export function hostDataFromBytes(dtype: DType, bytes: Uint8Array, littleEndian = true): HostData {
  const size = BYTES_PER_ELEMENT[dtype];
  if (bytes.length % size !== 0) {
    throw new CheckpointError('corrupt', `${bytes.length} bytes is not a whole number of ${dtype} elements`);
  }
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  if (littleEndian !== HOST_LITTLE_ENDIAN) byteSwapInPlace(copy, size);
  return new CTOR[dtype](copy.buffer, 0, bytes.length / size);
}

/**
 * A typed array over `bytes` without copying, when the host is little-endian and the bytes sit at
 * an offset the element size divides (typed arrays cannot be unaligned); else undefined. The view
 * shares the caller's buffer: only for buffers nobody else holds (a file just read).
 */
export function hostDataView(dtype: DType, bytes: Uint8Array): HostData | undefined {
  const size = BYTES_PER_ELEMENT[dtype];
  if (!HOST_LITTLE_ENDIAN || bytes.byteOffset % size !== 0 || bytes.length % size !== 0) return undefined;
  return new CTOR[dtype](bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length / size);
}

/** A zero-filled typed array of `n` elements. */
export function allocHostData(dtype: DType, n: number): HostData {
  return new CTOR[dtype](new ArrayBuffer(n * BYTES_PER_ELEMENT[dtype]), 0, n);
}

/** The raw little-endian bytes of a typed array (a view when the host is LE, a swapped copy otherwise). */
export function hostDataToLEBytes(dtype: DType, data: HostData): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (HOST_LITTLE_ENDIAN) return view;
  const copy = copyBytes(view);
  byteSwapInPlace(copy, BYTES_PER_ELEMENT[dtype]);
  return copy;
}

/**
 * Read an unsigned 64-bit little-endian integer as a JS number, refusing values above 2^53
 * (no real file has offsets that large; accepting them would silently lose precision).
 */
export function readU64(view: DataView, offset: number, what: string): number {
  const lo = view.getUint32(offset, true);
  const hi = view.getUint32(offset + 4, true);
  if (hi >= 0x200000) throw new CheckpointError('limit', `${what} is too large (>= 2^53)`);
  return hi * 0x100000000 + lo;
}

/** Multiply non-negative safe integers, failing instead of losing precision. */
export function safeMul(a: number, b: number, what: string): number {
  const r = a * b;
  if (!Number.isSafeInteger(r)) throw new CheckpointError('limit', `${what} overflows (${a} * ${b})`);
  return r;
}

/** Number of elements of a shape, with overflow checking (host.numel does not check). */
export function checkedNumel(shape: readonly number[], what: string): number {
  let n = 1;
  for (const d of shape) n = safeMul(n, d, `${what} element count`);
  return n;
}

export function isDimList(x: unknown): x is number[] {
  return Array.isArray(x) && x.every((d) => Number.isSafeInteger(d) && (d as number) >= 0);
}
