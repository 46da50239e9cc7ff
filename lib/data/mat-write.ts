/**
 * MATLAB v5 MAT-file writer, so results can go back to MATLAB / scipy users (fused images,
 * metrics). Row-major HostArrays of shape [d0..dk-1] become MATLAB arrays of the same dims
 * (the data is transposed to column-major). Strings become char arrays.
 *
 * Shapes: [] → 1×1, [n] → 1×n (a row vector, like scipy's default), otherwise unchanged.
 * dtypes: each maps to its MATLAB class; bool → logical; float16/bfloat16 are not accepted
 * (convert to float32 first). Uncompressed by default; `compress: true` deflates each variable.
 */
import zlib from 'node:zlib';
import { writeFileAtomic } from '../atomic.js';
import type { DType, HostArray } from '../host.js';
import { checkHostArray, permute } from './arrays.js';
import { DataFormatError } from './format-errors.js';
import { FLAG_LOGICAL, HEADER_SIZE, mi, mx } from './mat-format.js';

export type MatValue = HostArray | string;

export interface WriteMatOptions {
  /** Deflate every variable (miCOMPRESSED, as MATLAB's default -v7 does). */
  compress?: boolean;
  /** Header text (at most 116 characters); default names specfuse and the date. */
  headerText?: string;
}

const typeOf: Partial<Record<DType, { mx: number; mi: number; size: number }>> = {
  float64: { mx: mx.DOUBLE, mi: mi.DOUBLE, size: 8 },
  float32: { mx: mx.SINGLE, mi: mi.SINGLE, size: 4 },
  int8: { mx: mx.INT8, mi: mi.INT8, size: 1 },
  uint8: { mx: mx.UINT8, mi: mi.UINT8, size: 1 },
  bool: { mx: mx.UINT8, mi: mi.UINT8, size: 1 },
  int16: { mx: mx.INT16, mi: mi.INT16, size: 2 },
  uint16: { mx: mx.UINT16, mi: mi.UINT16, size: 2 },
  int32: { mx: mx.INT32, mi: mi.INT32, size: 4 },
  int64: { mx: mx.INT64, mi: mi.INT64, size: 8 },
};

const NAME_RE = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;

/** Encodes variables as a complete MAT-file. */
export function writeMat(vars: Map<string, MatValue> | Record<string, MatValue>, opts: WriteMatOptions = {}): Uint8Array {
  const entries = vars instanceof Map ? [...vars.entries()] : Object.entries(vars);
  const parts: Uint8Array[] = [header(opts.headerText)];
  for (const [name, value] of entries) {
    if (!NAME_RE.test(name))
      throw new DataFormatError('bad-argument', `'${name}' is not a valid MATLAB variable name (letter first, then letters, digits, _; at most 63)`, {
        key: name,
      });
    const element = typeof value === 'string' ? charElement(name, value) : numericElement(name, value);
    parts.push(opts.compress ? compressElement(element) : element);
  }
  return concat(parts);
}

/** writeMat straight to a file, atomically (a failed write leaves the previous file, if any). */
export function writeMatFile(path: string, vars: Map<string, MatValue> | Record<string, MatValue>, opts: WriteMatOptions = {}): void {
  writeFileAtomic(path, writeMat(vars, opts));
}

function header(text?: string): Uint8Array {
  const h = new Uint8Array(HEADER_SIZE);
  const t = text ?? `MATLAB 5.0 MAT-file, Platform: nodejs, Created on: ${new Date().toUTCString()} by specfuse`;
  if (!t.startsWith('MATLAB 5.0 MAT-file')) throw new DataFormatError('bad-argument', 'MAT header text must start with "MATLAB 5.0 MAT-file"');
  if (t.length > 116 || /[^\x20-\x7e]/.test(t)) throw new DataFormatError('bad-argument', 'MAT header text must be at most 116 printable ASCII characters');
  h.fill(0x20, 0, 116);
  for (let i = 0; i < t.length; i++) h[i] = t.charCodeAt(i);
  // bytes 116..123: subsystem offset, zero = none
  h[124] = 0x00;
  h[125] = 0x01; // version 0x0100, little-endian
  h[126] = 0x49;
  h[127] = 0x4d; // 'IM': little-endian marker
  return h;
}

function matDims(shape: readonly number[]): number[] {
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [1, shape[0]!];
  return [...shape];
}

function numericElement(name: string, a: HostArray): Uint8Array {
  checkHostArray(a, `variable '${name}'`);
  const t = typeOf[a.dtype];
  if (!t) throw new DataFormatError('bad-argument', `variable '${name}': dtype ${a.dtype} has no MATLAB class; convert to float32 first`, { key: name });
  const dims = matDims(a.shape);
  // Row-major [d0..dk-1] transposed (axes reversed) is the column-major order MATLAB wants.
  const col = permute(
    { ...a, shape: dims },
    dims.map((_, i) => dims.length - 1 - i),
  );
  const d = col.data;
  const payload = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  return matrixElement(name, t.mx, a.dtype === 'bool' ? FLAG_LOGICAL : 0, dims, t.mi, payload);
}

function charElement(name: string, s: string): Uint8Array {
  // UTF-8 payload, as MATLAB 7+ and scipy write; dims count UTF-16 code units (MATLAB chars).
  return matrixElement(name, mx.CHAR, 0, [1, s.length], mi.UTF8, new TextEncoder().encode(s));
}

function pad8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

function matrixElement(name: string, mxClass: number, flags: number, dims: number[], dataType: number, payload: Uint8Array): Uint8Array {
  for (const d of dims) {
    if (d > 0x7fffffff) throw new DataFormatError('bad-argument', `variable '${name}': dimension ${d} exceeds MATLAB's int32 limit`, { key: name });
  }
  const nameBytes = new TextEncoder().encode(name);
  const nameLen = nameBytes.length <= 4 ? 8 : 8 + pad8(nameBytes.length);
  const bodyLen = 16 + (8 + pad8(dims.length * 4)) + nameLen + 8 + pad8(payload.byteLength);
  if (bodyLen > 0xffffffff) throw new DataFormatError('bad-argument', `variable '${name}' is larger than the 4 GiB a v5 MAT element can hold`, { key: name });
  const out = new Uint8Array(8 + bodyLen);
  const dv = new DataView(out.buffer);
  let p = 0;
  const tag = (type: number, n: number) => {
    dv.setUint32(p, type, true);
    dv.setUint32(p + 4, n, true);
    p += 8;
  };
  tag(mi.MATRIX, bodyLen);
  tag(mi.UINT32, 8);
  dv.setUint32(p, mxClass | flags, true); // nzmax word stays 0
  p += 8;
  tag(mi.INT32, dims.length * 4);
  dims.forEach((d, i) => dv.setInt32(p + 4 * i, d, true));
  p += pad8(dims.length * 4);
  if (nameBytes.length <= 4) {
    // Small data element form: size and type share the first word.
    dv.setUint32(p, (nameBytes.length << 16) | mi.INT8, true);
    out.set(nameBytes, p + 4);
    p += 8;
  } else {
    tag(mi.INT8, nameBytes.length);
    out.set(nameBytes, p);
    p += pad8(nameBytes.length);
  }
  tag(dataType, payload.byteLength);
  out.set(payload, p);
  return out;
}

function compressElement(element: Uint8Array): Uint8Array {
  const z = zlib.deflateSync(element);
  const out = new Uint8Array(8 + z.byteLength);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, mi.COMPRESSED, true);
  dv.setUint32(4, z.byteLength, true);
  out.set(z, 8);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, x) => s + x.byteLength, 0));
  let p = 0;
  for (const x of parts) {
    out.set(x, p);
    p += x.byteLength;
  }
  return out;
}
