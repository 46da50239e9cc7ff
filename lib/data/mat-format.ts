/**
 * MATLAB Level 5 MAT-file structures (MathWorks "MAT-File Format", 2013 edition): constants,
 * the 128-byte header, element tags and the bounds-checked cursor the reader parses with.
 * Kept apart from mat.ts so the reader reads as the algorithm and this file as the spec.
 */
import { DataFormatError } from './format-errors.js';

/** Data types of element tags (miXXX). */
export const mi = {
  INT8: 1,
  UINT8: 2,
  INT16: 3,
  UINT16: 4,
  INT32: 5,
  UINT32: 6,
  SINGLE: 7,
  DOUBLE: 9,
  INT64: 12,
  UINT64: 13,
  MATRIX: 14,
  COMPRESSED: 15,
  UTF8: 16,
  UTF16: 17,
  UTF32: 18,
} as const;

/** Bytes per element of the numeric mi types (0 = not a numeric payload type). */
export const miSize: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 16: 1, 17: 2, 18: 4 };

/** MATLAB array classes (mxXXX_CLASS), by number. */
export const mxClassName: Record<number, string> = {
  1: 'cell',
  2: 'struct',
  3: 'object',
  4: 'char',
  5: 'sparse',
  6: 'double',
  7: 'single',
  8: 'int8',
  9: 'uint8',
  10: 'int16',
  11: 'uint16',
  12: 'int32',
  13: 'uint32',
  14: 'int64',
  15: 'uint64',
  16: 'function',
  17: 'opaque',
};

export const mx = {
  CELL: 1,
  STRUCT: 2,
  OBJECT: 3,
  CHAR: 4,
  SPARSE: 5,
  DOUBLE: 6,
  SINGLE: 7,
  INT8: 8,
  UINT8: 9,
  INT16: 10,
  UINT16: 11,
  INT32: 12,
  UINT32: 13,
  INT64: 14,
  UINT64: 15,
} as const;

/** Flag bits of the array-flags word (bits 8..15 of its first uint32). */
export const FLAG_COMPLEX = 0x0800;
export const FLAG_GLOBAL = 0x0400;
export const FLAG_LOGICAL = 0x0200;

export const HEADER_SIZE = 128;

export interface MatHeader {
  /** The descriptive text, trailing spaces/NULs removed. */
  text: string;
  littleEndian: boolean;
  /** Offset of subsystem data (function handles, objects), 0 when absent. */
  subsysOffset: number;
}

/** Where a byte position is, for error messages: plain file offset, or inside a compressed element. */
export interface Place {
  file: string;
  /** File offset of the element; for compressed elements, of its miCOMPRESSED tag. */
  base: number;
  compressed: boolean;
}

export function placeError(code: 'truncated' | 'corrupt' | 'unsupported', msg: string, place: Place, pos: number, key?: string): DataFormatError {
  const where = place.compressed ? `${msg} [offset ${pos} inside the compressed element]` : msg;
  const details: { file: string; offset: number; key?: string } = { file: place.file, offset: place.compressed ? place.base : place.base + pos };
  if (key !== undefined) details.key = key;
  return new DataFormatError(code, where, details);
}

export function parseHeader(h: Uint8Array, label: string): MatHeader {
  const text = new TextDecoder('latin1').decode(h.subarray(0, 116)).replace(/[\s\0]+$/, '');
  const e0 = h[126],
    e1 = h[127];
  let littleEndian: boolean;
  // The writer stores the 16-bit value 'MI'; read back in the other byte order it shows as 'IM'.
  if (e0 === 0x49 && e1 === 0x4d) littleEndian = true;
  else if (e0 === 0x4d && e1 === 0x49) littleEndian = false;
  else {
    if (text.startsWith('MATLAB')) throw new DataFormatError('corrupt', 'MAT-file header has no endian indicator', { file: label, offset: 126 });
    throw new DataFormatError('bad-magic', 'not a MATLAB v5 MAT-file (no MATLAB header; v4 files are not supported)', { file: label });
  }
  const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
  const version = dv.getUint16(124, littleEndian);
  if (version === 0x0200 || text.startsWith('MATLAB 7.3')) {
    throw new DataFormatError('unsupported', 'MATLAB v7.3 MAT-file (HDF5-based): open it with openMatFile() or readMatFile(), which read v7.3 too', {
      file: label,
    });
  }
  if (version !== 0x0100)
    throw new DataFormatError('unsupported', `MAT-file version 0x${version.toString(16)} (only v5 0x0100 is supported)`, { file: label, offset: 124 });
  const s0 = dv.getUint32(116, littleEndian),
    s1 = dv.getUint32(120, littleEndian);
  // Unused subsystem offsets are all spaces or all zeros.
  const unused = (s0 === 0 && s1 === 0) || (s0 === 0x20202020 && s1 === 0x20202020);
  const subsysOffset = unused ? 0 : littleEndian ? s1 * 2 ** 32 + s0 : s0 * 2 ** 32 + s1;
  return { text, littleEndian, subsysOffset };
}

export interface Tag {
  type: number;
  nbytes: number;
  /** Position of the payload within the cursor's buffer. */
  data: number;
  /** Position of the next element (after padding, clamped to the end of the buffer). */
  next: number;
}

/** Bounds-checked reader over one buffer (the file region or an inflated element). */
export class Cursor {
  readonly dv: DataView;
  /**
   * `complete`: the buffer holds a whole element whose size the file vouches for, so running
   * past its end means the element contradicts itself ('corrupt'), not that data is missing.
   */
  constructor(
    readonly buf: Uint8Array,
    readonly le: boolean,
    readonly place: Place,
    readonly key?: string,
    readonly complete = true,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  need(pos: number, n: number, what: string, end = this.buf.byteLength): void {
    if (pos + n > end) {
      const msg = this.complete
        ? `${what} overruns its element: needs ${n} bytes at ${pos}, ${Math.max(0, end - pos)} available`
        : `data ends inside ${what}: needs ${n} bytes at ${pos}, ${Math.max(0, end - pos)} available`;
      throw placeError(this.complete ? 'corrupt' : 'truncated', msg, this.place, pos, this.key);
    }
  }

  u32(pos: number): number {
    return this.dv.getUint32(pos, this.le);
  }
  i32(pos: number): number {
    return this.dv.getInt32(pos, this.le);
  }

  /** Reads the tag at pos; the payload must lie before `end`. Handles the 4-byte "small element" form. */
  tag(pos: number, end: number, what: string): Tag {
    this.need(pos, 4, `the tag of ${what}`, end);
    const w = this.u32(pos);
    if (w >>> 16 !== 0) {
      // Small data element: 2-byte size and 2-byte type packed in one word, payload in the next 4 bytes.
      const nbytes = w >>> 16,
        type = w & 0xffff;
      if (nbytes > 4) throw placeError('corrupt', `small element for ${what} claims ${nbytes} bytes (max 4)`, this.place, pos, this.key);
      this.need(pos, 8, what, end);
      return { type, nbytes, data: pos + 4, next: pos + 8 };
    }
    this.need(pos, 8, `the tag of ${what}`, end);
    const nbytes = this.u32(pos + 4);
    this.need(pos + 8, nbytes, what, end);
    const padded = pos + 8 + Math.ceil(nbytes / 8) * 8;
    return { type: w, nbytes, data: pos + 8, next: Math.min(padded, end) };
  }

  corrupt(msg: string, pos: number): DataFormatError {
    return placeError('corrupt', msg, this.place, pos, this.key);
  }
}

export interface ArrayHeader {
  mxClass: number;
  complex: boolean;
  global: boolean;
  logical: boolean;
  dims: number[];
  name: string;
  /** Position right after the name sub-element: where the payload sub-elements start. */
  body: number;
}

/**
 * Parses array flags, dimensions and name of a miMATRIX payload spanning [pos, end).
 * Bounds are checked against `end`, so a header cut short reports 'truncated'.
 */
export function parseArrayHeader(c: Cursor, pos: number, end: number): ArrayHeader {
  const flags = c.tag(pos, end, 'array flags');
  if (flags.type !== mi.UINT32 || flags.nbytes !== 8)
    throw c.corrupt(`array flags element has type ${flags.type} and ${flags.nbytes} bytes (expected miUINT32, 8)`, pos);
  const fw = c.u32(flags.data);
  const dimsTag = c.tag(flags.next, end, 'dimensions');
  if (dimsTag.type !== mi.INT32 || dimsTag.nbytes % 4 !== 0 || dimsTag.nbytes < 4) {
    throw c.corrupt(`dimensions element has type ${dimsTag.type} and ${dimsTag.nbytes} bytes (expected miINT32)`, flags.next);
  }
  const dims: number[] = [];
  for (let i = 0; i < dimsTag.nbytes / 4; i++) {
    const d = c.i32(dimsTag.data + 4 * i);
    if (d < 0) throw c.corrupt(`negative dimension ${d}`, dimsTag.data + 4 * i);
    dims.push(d);
  }
  const nameTag = c.tag(dimsTag.next, end, 'array name');
  if (nameTag.type !== mi.INT8 && nameTag.type !== mi.UINT8 && nameTag.type !== mi.UTF8) {
    throw c.corrupt(`array name element has type ${nameTag.type} (expected miINT8)`, dimsTag.next);
  }
  const name = new TextDecoder('utf-8').decode(c.buf.subarray(nameTag.data, nameTag.data + nameTag.nbytes)).replace(/\0+$/, '');
  return {
    mxClass: fw & 0xff,
    complex: (fw & FLAG_COMPLEX) !== 0,
    global: (fw & FLAG_GLOBAL) !== 0,
    logical: (fw & FLAG_LOGICAL) !== 0,
    dims,
    name,
    body: nameTag.next,
  };
}
