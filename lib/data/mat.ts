/**
 * MATLAB v5 MAT-file reader (the format of the community's example images: I_MS, I_PAN, ...).
 *
 * - `openMat(bytesOrPath)` lists variables (name, class, shape) reading only element headers;
 *   for a path nothing else is read until `read(name)` asks for one variable.
 * - `readMat(bytesOrPath)` reads every numeric/logical variable into HostArrays.
 *
 * Arrays come out row-major with MATLAB's dimensions: an H×W×C image is shape [H,W,C]
 * (MATLAB stores column-major, so the reader transposes). Values come out in the MATLAB class
 * (`double` → float64) even when the file stores them in a smaller integer type, as MATLAB
 * does to save space; `{ storedType: true }` keeps the stored type instead (scipy's default).
 * uint32 widens to int64 (HostArray has no uint32); uint64 too, when every value fits.
 * Complex, sparse, cell, struct and object variables are listed but not read.
 */
import zlib from 'node:zlib';
import type { DType, HostArray, HostData } from '../host.js';
import { numel } from '../host.js';
import { allocate, dtypeOfData, permute } from './arrays.js';
import { type ByteSource, bufferSource, fileSource } from './bytesource.js';
import { DataFormatError } from './format-errors.js';
import {
  type ArrayHeader,
  Cursor,
  HEADER_SIZE,
  type MatHeader,
  type Place,
  mi,
  miSize,
  mx,
  mxClassName,
  parseArrayHeader,
  parseHeader,
  placeError,
} from './mat-format.js';

export interface MatVariableInfo {
  name: string;
  /** MATLAB class: 'double', 'uint16', 'logical', 'char', 'cell', 'struct', 'sparse', ... */
  class: string;
  /** MATLAB dimensions, which are also the row-major shape `read` returns. */
  shape: number[];
  complex: boolean;
  global: boolean;
  compressed: boolean;
  /** True when `read` can return it as a HostArray (real numeric or logical). */
  numeric: boolean;
  /** File offset of the variable's element tag. */
  offset: number;
}

export interface MatReadOptions {
  /** Keep the integer type the file stores values in instead of converting to the MATLAB class. */
  storedType?: boolean;
}

export interface ReadMatOptions extends MatReadOptions {
  /**
   * What to do with variables `read` cannot return (complex, sparse, cell, struct, object):
   * 'skip' (default) leaves them out of the result, 'throw' raises DataFormatError('unsupported').
   * char variables are always left out: use `openMat(...).readString(name)`.
   */
  unsupported?: 'skip' | 'throw';
}

export type Numeric =
  Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

const classDType: Record<number, DType> = {
  [mx.DOUBLE]: 'float64',
  [mx.SINGLE]: 'float32',
  [mx.INT8]: 'int8',
  [mx.UINT8]: 'uint8',
  [mx.INT16]: 'int16',
  [mx.UINT16]: 'uint16',
  [mx.INT32]: 'int32',
  [mx.UINT32]: 'int64',
  [mx.INT64]: 'int64',
  [mx.UINT64]: 'int64',
};
const storedDType: Record<number, DType> = {
  [mi.INT8]: 'int8',
  [mi.UINT8]: 'uint8',
  [mi.INT16]: 'int16',
  [mi.UINT16]: 'uint16',
  [mi.INT32]: 'int32',
  [mi.UINT32]: 'int64',
  [mi.SINGLE]: 'float32',
  [mi.DOUBLE]: 'float64',
  [mi.INT64]: 'int64',
  [mi.UINT64]: 'int64',
};

/** Largest inflated variable we accept: beyond this a typed array could not hold it anyway. */
const MAX_INFLATED = 2 ** 32;

/**
 * What both MAT readers offer (v5: MatFile, synchronous; v7.3: Mat73File from mat73.ts, HDF5-based).
 * `openMatFile(path)` (mat73.ts) returns whichever the file needs.
 */
export interface MatReader {
  readonly variables: MatVariableInfo[];
  names(): string[];
  has(name: string): boolean;
  info(name: string): MatVariableInfo;
  read(name: string, opts?: MatReadOptions): HostArray;
  readString(name: string): string;
  close(): void;
}

/** MATLAB class -> the dtype `read` returns (uint32 widens to int64: HostArray has no uint32). */
export const MATLAB_CLASS_DTYPE: Record<string, DType> = {
  double: 'float64',
  single: 'float32',
  int8: 'int8',
  uint8: 'uint8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  uint32: 'int64',
  int64: 'int64',
  uint64: 'int64',
  logical: 'bool',
};

interface Entry {
  info: MatVariableInfo;
  /** Payload of the top-level element (miMATRIX body or compressed stream). */
  dataOffset: number;
  nbytes: number;
}

/**
 * The variable table both MAT-file readers (v5 here, v7.3 in mat73.ts) keep: listing, lookup and the
 * missing-variable error, over entries that each reader fills with its own location data.
 */
export abstract class MatVariables<E extends { info: MatVariableInfo }> {
  protected readonly entries: E[] = [];
  /** The file named in errors. */
  protected abstract get label(): string;

  /** Every variable, in file order, including those `read` cannot return. */
  get variables(): MatVariableInfo[] {
    return this.entries.map((e) => ({ ...e.info, shape: [...e.info.shape] }));
  }

  names(): string[] {
    return this.entries.map((e) => e.info.name);
  }

  has(name: string): boolean {
    return this.entries.some((e) => e.info.name === name);
  }

  info(name: string): MatVariableInfo {
    const i = this.entry(name).info;
    return { ...i, shape: [...i.shape] };
  }

  protected entry(name: string): E {
    const e = this.entries.find((x) => x.info.name === name);
    if (!e)
      throw new DataFormatError('missing-key', `no variable '${name}' (variables: ${this.names().join(', ') || 'none'})`, { file: this.label, key: name });
    return e;
  }
}

export class MatFile extends MatVariables<Entry> implements MatReader {
  readonly header: MatHeader;

  /** Use openMat(). */
  constructor(private readonly src: ByteSource) {
    super();
    if (src.size < HEADER_SIZE) {
      const head = src.read(0, src.size, 'header');
      const text = new TextDecoder('latin1').decode(head);
      if ('MATLAB 5.0 MAT-file'.startsWith(text) || text.startsWith('MATLAB'))
        throw new DataFormatError('truncated', `MAT-file header needs 128 bytes, file has ${src.size}`, { file: src.label });
      throw new DataFormatError('bad-magic', 'not a MATLAB v5 MAT-file', { file: src.label });
    }
    this.header = parseHeader(src.read(0, HEADER_SIZE, 'header'), src.label);
    this.scan();
  }

  protected get label(): string {
    return this.src.label;
  }

  /** One numeric or logical variable as a row-major HostArray with shape = MATLAB dims. */
  read(name: string, opts: MatReadOptions = {}): HostArray {
    const e = this.entry(name);
    const what = `variable '${name}'`;
    if (!e.info.numeric)
      throw new DataFormatError(
        'unsupported',
        `${what} is a ${e.info.complex ? 'complex ' : ''}${e.info.class} array; only real numeric and logical arrays can be read`,
        { file: this.src.label, key: name },
      );
    const { c, h } = this.body(e);
    const n = numel(h.dims);
    const real = c.tag(h.body, c.buf.byteLength, `the data of ${what}`);
    const size = miSize[real.type];
    if (!size || real.type === mi.UTF8 || real.type === mi.UTF16 || real.type === mi.UTF32)
      throw c.corrupt(`data element of ${what} has non-numeric type ${real.type}`, h.body);
    if (real.nbytes !== n * size)
      throw c.corrupt(`${what} has dims [${h.dims}] (${n} elements) but ${real.nbytes} bytes of type ${real.type} (${real.nbytes / size} elements)`, h.body);
    const stored = decodeNumbers(c, real.data, real.type, n);
    let dtype: DType = opts.storedType ? storedDType[real.type]! : classDType[h.mxClass]!;
    if (h.logical) dtype = 'bool';
    const data = castNumbers(stored, dtype, e.info, this.src.label);
    // Column-major dims [d0..dk-1] is row-major [dk-1..d0]; reversing the axes gives row-major [d0..dk-1].
    const colMajor: HostArray = { dtype, shape: [...h.dims].reverse(), data };
    return permute(
      colMajor,
      h.dims.map((_, i) => h.dims.length - 1 - i),
    );
  }

  /** A char variable as a string (rows of a multi-row char array joined with '\n'). */
  readString(name: string): string {
    const e = this.entry(name);
    if (e.info.class !== 'char')
      throw new DataFormatError('unsupported', `variable '${name}' is ${e.info.class}, not char`, { file: this.src.label, key: name });
    const { c, h } = this.body(e);
    const t = c.tag(h.body, c.buf.byteLength, `the characters of '${name}'`);
    const bytes = c.buf.subarray(t.data, t.data + t.nbytes);
    let units: number[];
    if (t.type === mi.UTF8 || t.type === mi.UINT8 || t.type === mi.INT8) {
      // MATLAB chars are UTF-16 code units: decode the UTF-8 and count units, not code points.
      const text = new TextDecoder('utf-8').decode(bytes);
      units = Array.from({ length: text.length }, (_, i) => text.charCodeAt(i));
    } else if (t.type === mi.UINT16 || t.type === mi.UTF16 || t.type === mi.INT16) {
      units = Array.from({ length: t.nbytes >> 1 }, (_, i) => c.dv.getUint16(t.data + 2 * i, c.le));
    } else if (t.type === mi.UTF32 || t.type === mi.UINT32 || t.type === mi.INT32) {
      units = Array.from({ length: t.nbytes >> 2 }, (_, i) => c.dv.getUint32(t.data + 4 * i, c.le));
    } else {
      throw c.corrupt(`char data of '${name}' has type ${t.type}`, h.body);
    }
    const rows = h.dims[0] ?? 0;
    const cols = rows === 0 ? 0 : numel(h.dims) / rows;
    if (units.length !== rows * cols) throw c.corrupt(`char variable '${name}' has dims [${h.dims}] but ${units.length} characters`, h.body);
    const lines: string[] = [];
    for (let r = 0; r < rows; r++) {
      let s = '';
      for (let k = 0; k < cols; k++) s += String.fromCharCode(units[r + k * rows]!);
      lines.push(s);
    }
    return lines.join('\n');
  }

  close(): void {
    this.src.close();
  }

  /** Walks the top-level elements reading only their headers. */
  private scan(): void {
    const { src } = this;
    const le = this.header.littleEndian;
    let pos = HEADER_SIZE;
    while (pos < src.size) {
      const tagBytes = src.read(pos, 8, 'an element tag');
      const dv = new DataView(tagBytes.buffer, tagBytes.byteOffset, 8);
      const type = dv.getUint32(0, le),
        nbytes = dv.getUint32(4, le);
      if (type !== mi.MATRIX && type !== mi.COMPRESSED) {
        throw new DataFormatError('corrupt', `top-level element has type ${type} (expected miMATRIX or miCOMPRESSED)`, { file: src.label, offset: pos });
      }
      if (pos + 8 + nbytes > src.size) {
        throw new DataFormatError(
          'truncated',
          `file ends inside a ${type === mi.COMPRESSED ? 'compressed ' : ''}variable: element needs ${nbytes} bytes, ${src.size - pos - 8} remain`,
          { file: src.label, offset: pos },
        );
      }
      const compressed = type === mi.COMPRESSED;
      const h = nbytes === 0 ? null : this.peekHeader(pos, nbytes, compressed);
      // Subsystem data (function handles, class objects) is stored as a nameless variable: not user data.
      if (h && h.name !== '' && pos !== this.header.subsysOffset) {
        const cls = h.mxClass === mx.UINT8 && h.logical ? 'logical' : (mxClassName[h.mxClass] ?? `class${h.mxClass}`);
        const numeric = !h.complex && h.mxClass >= mx.DOUBLE && h.mxClass <= mx.UINT64;
        this.entries.push({
          info: { name: h.name, class: cls, shape: h.dims, complex: h.complex, global: h.global, compressed, numeric, offset: pos },
          dataOffset: pos + 8,
          nbytes,
        });
      }
      pos += 8 + nbytes;
    }
  }

  /** Header of one variable from as few bytes as possible (a growing prefix, inflated if compressed). */
  private peekHeader(pos: number, nbytes: number, compressed: boolean): ArrayHeader {
    const place: Place = { file: this.src.label, base: compressed ? pos : pos + 8, compressed };
    for (let want = Math.min(nbytes, 512); ; want = Math.min(nbytes, want * 4)) {
      const raw = this.src.read(pos + 8, want, 'a variable header');
      let buf = raw;
      if (compressed) buf = inflatePrefix(raw, place, want === nbytes);
      try {
        return headerOf(new Cursor(buf, this.header.littleEndian, place, undefined, want === nbytes), place, compressed ? undefined : nbytes);
      } catch (e) {
        // The prefix may just be too short: read more. A complete element's failure is final.
        if (!(e instanceof DataFormatError && e.code === 'truncated') || want === nbytes) throw e;
      }
    }
  }

  /** The whole variable element decoded: cursor over the miMATRIX payload plus its header. */
  private body(e: Entry): { c: Cursor; h: ArrayHeader } {
    const raw = this.src.read(e.dataOffset, e.nbytes, `variable '${e.info.name}'`);
    const place: Place = { file: this.src.label, base: e.info.compressed ? e.info.offset : e.dataOffset, compressed: e.info.compressed };
    if (!e.info.compressed) {
      const c = new Cursor(raw, this.header.littleEndian, place, e.info.name);
      return { c, h: parseArrayHeader(c, 0, raw.byteLength) };
    }
    let out: Uint8Array;
    try {
      out = zlib.inflateSync(raw, { maxOutputLength: MAX_INFLATED });
    } catch (err) {
      throw placeError('corrupt', `compressed data of variable '${e.info.name}' is damaged: ${(err as Error).message}`, place, 0, e.info.name);
    }
    const outer = new Cursor(out, this.header.littleEndian, place, e.info.name);
    const t = outer.tag(0, out.byteLength, `variable '${e.info.name}'`);
    if (t.type !== mi.MATRIX) throw outer.corrupt(`compressed element holds type ${t.type}, expected miMATRIX`, 0);
    const c = new Cursor(out.subarray(t.data, t.data + t.nbytes), this.header.littleEndian, place, e.info.name);
    return { c, h: parseArrayHeader(c, 0, t.nbytes) };
  }
}

/** Opens a MAT-file from bytes or a path. With a path only headers are read until `read()`. */
export function openMat(source: Uint8Array | string): MatFile {
  const src = typeof source === 'string' ? fileSource(source) : bufferSource(source);
  try {
    return new MatFile(src);
  } catch (e) {
    src.close();
    throw e;
  }
}

/** Every real numeric/logical variable of a MAT-file, by name, in file order. */
export function readMat(source: Uint8Array | string, opts: ReadMatOptions = {}): Map<string, HostArray> {
  const f = openMat(source);
  try {
    const out = new Map<string, HostArray>();
    for (const v of f.variables) {
      if (v.numeric) out.set(v.name, f.read(v.name, opts));
      else if (v.class !== 'char' && opts.unsupported === 'throw') f.read(v.name);
    }
    return out;
  } finally {
    f.close();
  }
}

function headerOf(c: Cursor, place: Place, plainBytes?: number): ArrayHeader {
  if (plainBytes !== undefined) return parseArrayHeader(c, 0, Math.min(plainBytes, c.buf.byteLength));
  // Compressed: the stream holds one full miMATRIX element, tag included.
  c.need(0, 8, 'the tag of a compressed variable');
  const type = c.u32(0);
  if (type !== mi.MATRIX) throw placeError('corrupt', `compressed element holds type ${type}, expected miMATRIX`, place, 0);
  return parseArrayHeader(c, 8, c.buf.byteLength);
}

/**
 * Inflates as much of a zlib stream prefix as it holds. A cut stream is normal here (we ask
 * for a prefix on purpose); a stream that is invalid is not.
 */
function inflatePrefix(raw: Uint8Array, place: Place, complete: boolean): Uint8Array {
  try {
    return zlib.inflateSync(raw, complete ? { maxOutputLength: MAX_INFLATED } : { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch (err) {
    throw placeError('corrupt', `compressed variable is damaged: ${(err as Error).message}`, place, 0);
  }
}

/** Copies n stored values out of the buffer into a typed array of the stored type (any endianness, any alignment). */
function decodeNumbers(c: Cursor, pos: number, type: number, n: number): Numeric {
  const size = miSize[type]!;
  // An aligned copy we own (Buffer.slice would be a view into a shared pool, hence set()).
  const bytes = new Uint8Array(n * size);
  bytes.set(c.buf.subarray(pos, pos + n * size));
  const hostLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (c.le !== hostLE && size > 1) {
    for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
  }
  const b = bytes.buffer;
  switch (type) {
    case mi.INT8:
      return new Int8Array(b);
    case mi.UINT8:
      return new Uint8Array(b);
    case mi.INT16:
      return new Int16Array(b);
    case mi.UINT16:
      return new Uint16Array(b);
    case mi.INT32:
      return new Int32Array(b);
    case mi.UINT32:
      return new Uint32Array(b);
    case mi.SINGLE:
      return new Float32Array(b);
    case mi.DOUBLE:
      return new Float64Array(b);
    case mi.INT64:
      return new BigInt64Array(b);
    case mi.UINT64:
      return new BigUint64Array(b);
  }
  throw c.corrupt(`unexpected data type ${type}`, pos);
}

/** Stored values as the output dtype; exact for every conversion MATLAB itself makes when saving. */
export function castNumbers(src: Numeric, dtype: DType, info: MatVariableInfo, label: string): HostData {
  const n = src.length;
  const big = src instanceof BigInt64Array || src instanceof BigUint64Array;
  if (dtype === 'int64') {
    if (src instanceof BigInt64Array) return src;
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      const v = src[i]!;
      if (typeof v === 'bigint') {
        if (v > 0x7fffffffffffffffn)
          throw new DataFormatError('unsupported', `uint64 value ${v} of '${info.name}' does not fit int64`, { file: label, key: info.name });
        out[i] = v;
      } else {
        out[i] = BigInt(Math.trunc(v));
      }
    }
    return out;
  }
  if (dtype === 'bool') {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = src[i] ? 1 : 0;
    return out;
  }
  if (dtypeOfData(src as HostData) === dtype && !(src instanceof Uint32Array) && !(src instanceof BigUint64Array)) return src as HostData;
  const out = allocate(dtype, n) as Exclude<Numeric, BigInt64Array | BigUint64Array | Uint32Array>;
  if (big) {
    for (let i = 0; i < n; i++) out[i] = Number(src[i]!);
  } else {
    out.set(src as Float64Array);
  }
  return out;
}
