/**
 * Minimal TIFF structure reader: header and first IFD, with every offset checked against the
 * file size. geotiff.js decodes the pixels; this file exists so that a truncated or corrupt
 * file is rejected with a precise DataFormatError before geotiff.js (which trusts offsets)
 * sees it, and so that GeoTIFF tags can be copied through byte-exact.
 */
import { type ByteSource } from './bytesource.js';
import { DataFormatError } from './format-errors.js';

/** TIFF field types: byte size per value. */
const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8, 17: 8, 18: 8 };

export const TIFF = {
  BYTE: 1,
  ASCII: 2,
  SHORT: 3,
  LONG: 4,
  RATIONAL: 5,
  SBYTE: 6,
  UNDEFINED: 7,
  SSHORT: 8,
  SLONG: 9,
  SRATIONAL: 10,
  FLOAT: 11,
  DOUBLE: 12,
} as const;

export const TAG = {
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  Photometric: 262,
  StripOffsets: 273,
  SamplesPerPixel: 277,
  RowsPerStrip: 278,
  StripByteCounts: 279,
  PlanarConfiguration: 284,
  Software: 305,
  Predictor: 317,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  ExtraSamples: 338,
  SampleFormat: 339,
  ModelPixelScale: 33550,
  ModelTiepoint: 33922,
  ModelTransformation: 34264,
  GeoKeyDirectory: 34735,
  GeoDoubleParams: 34736,
  GeoAsciiParams: 34737,
  GdalMetadata: 42112,
  GdalNoData: 42113,
} as const;

export interface IfdEntry {
  tag: number;
  type: number;
  count: number;
  /** Absolute offset of the value bytes (inline values point inside the entry). */
  valueOffset: number;
}

export interface Ifd {
  littleEndian: boolean;
  offset: number;
  entries: Map<number, IfdEntry>;
  /** Values of a numeric tag (undefined when absent). */
  numbers(tag: number): number[] | undefined;
  /** Value of an ASCII tag without the trailing NUL (undefined when absent). */
  ascii(tag: number): string | undefined;
}

/** Parses the header and first IFD; checks that every entry's value lies inside the file. */
export function readFirstIfd(src: ByteSource): Ifd {
  const label = src.label;
  if (src.size < 8) {
    const head = src.read(0, src.size, 'the TIFF header');
    // a prefix of a TIFF header (II*\0 or MM\0*) is a cut TIFF, anything else is not a TIFF
    const isPrefix = (magic: number[]) => head.subarray(0, 4).every((b, i) => b === magic[i]);
    const looksTiff = isPrefix([0x49, 0x49, 42, 0]) || isPrefix([0x4d, 0x4d, 0, 42]);
    if (looksTiff) throw new DataFormatError('truncated', `TIFF header needs 8 bytes, file has ${src.size}`, { file: label });
    throw new DataFormatError('bad-magic', 'not a TIFF file', { file: label });
  }
  const h = src.read(0, 8, 'the TIFF header');
  let le: boolean;
  if (h[0] === 0x49 && h[1] === 0x49) le = true;
  else if (h[0] === 0x4d && h[1] === 0x4d) le = false;
  else throw new DataFormatError('bad-magic', 'not a TIFF file (no II/MM byte-order mark)', { file: label });
  const dv = new DataView(h.buffer, h.byteOffset, 8);
  const magic = dv.getUint16(2, le);
  if (magic === 43) throw new DataFormatError('unsupported', 'BigTIFF files are not supported', { file: label });
  if (magic !== 42) throw new DataFormatError('bad-magic', `not a TIFF file (version ${magic}, expected 42)`, { file: label });
  const offset = dv.getUint32(4, le);
  if (offset < 8) throw new DataFormatError('corrupt', `first IFD offset ${offset} points into the header`, { file: label, offset: 4 });
  const countBytes = src.read(offset, 2, 'the first IFD');
  const n = new DataView(countBytes.buffer, countBytes.byteOffset, 2).getUint16(0, le);
  if (n === 0) throw new DataFormatError('corrupt', 'first IFD has no entries', { file: label, offset });
  const raw = src.read(offset + 2, n * 12, 'the first IFD');
  const rv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const entries = new Map<number, IfdEntry>();
  for (let i = 0; i < n; i++) {
    const p = i * 12;
    const tag = rv.getUint16(p, le),
      type = rv.getUint16(p + 2, le),
      count = rv.getUint32(p + 4, le);
    const size = TYPE_SIZE[type];
    if (!size) continue; // unknown field types must be skipped, per TIFF 6.0
    const bytes = size * count;
    const valueOffset = bytes <= 4 ? offset + 2 + p + 8 : rv.getUint32(p + 8, le);
    if (valueOffset + bytes > src.size) {
      throw new DataFormatError('truncated', `file ends inside the value of TIFF tag ${tag} (${bytes} bytes at ${valueOffset}, file has ${src.size})`, {
        file: label,
        offset: offset + 2 + p,
      });
    }
    entries.set(tag, { tag, type, count, valueOffset });
  }
  const read = (e: IfdEntry) => {
    const size = TYPE_SIZE[e.type]!;
    const b = src.read(e.valueOffset, size * e.count, `the value of TIFF tag ${e.tag}`);
    return { b, v: new DataView(b.buffer, b.byteOffset, b.byteLength), size };
  };
  return {
    littleEndian: le,
    offset,
    entries,
    numbers(tag) {
      const e = entries.get(tag);
      if (!e) return undefined;
      const { v, size } = read(e);
      const out: number[] = [];
      for (let i = 0; i < e.count; i++) {
        const p = i * size;
        switch (e.type) {
          case TIFF.BYTE:
          case TIFF.UNDEFINED:
            out.push(v.getUint8(p));
            break;
          case TIFF.SBYTE:
            out.push(v.getInt8(p));
            break;
          case TIFF.SHORT:
            out.push(v.getUint16(p, le));
            break;
          case TIFF.SSHORT:
            out.push(v.getInt16(p, le));
            break;
          case TIFF.LONG:
          case 13:
            out.push(v.getUint32(p, le));
            break;
          case TIFF.SLONG:
            out.push(v.getInt32(p, le));
            break;
          case TIFF.RATIONAL:
            out.push(v.getUint32(p, le) / v.getUint32(p + 4, le));
            break;
          case TIFF.SRATIONAL:
            out.push(v.getInt32(p, le) / v.getInt32(p + 4, le));
            break;
          case TIFF.FLOAT:
            out.push(v.getFloat32(p, le));
            break;
          case TIFF.DOUBLE:
            out.push(v.getFloat64(p, le));
            break;
          default:
            out.push(Number(v.getBigUint64(p, le)));
        }
      }
      return out;
    },
    ascii(tag) {
      const e = entries.get(tag);
      if (!e) return undefined;
      return new TextDecoder('latin1').decode(read(e).b).replace(/\0+$/, '');
    },
  };
}
