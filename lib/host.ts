/**
 * Host arrays: plain typed arrays plus a shape, the currency between the file readers
 * (lib/checkpoint-formats, lib/data) and the native tensor layer. Row-major (C order), contiguous.
 * Readers produce them without touching the addon, so they can be tested on their own and
 * so a corrupt file never reaches C++.
 */
export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int32' | 'int64' | 'int16' | 'int8' | 'uint8' | 'uint16' | 'bool';

export type HostData = Float32Array | Float64Array | Int32Array | BigInt64Array | Int16Array | Int8Array | Uint8Array | Uint16Array;

export interface HostArray {
  dtype: DType;
  shape: number[];
  /** Row-major contiguous data; float16/bfloat16 are carried as their raw Uint16Array bits. */
  data: HostData;
}

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int32: 4,
  int64: 8,
  int16: 2,
  int8: 1,
  uint8: 1,
  uint16: 2,
  bool: 1,
};

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
