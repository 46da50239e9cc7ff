/**
 * Multi-band GeoTIFF writer (baseline little-endian TIFF, written by hand).
 *
 * Why not geotiff.js's writeArrayBuffer: it reserves a fixed 1000-byte IFD (long GeoAscii
 * params overflow it), writes big-endian one value at a time, and invents a WGS84 whole-globe
 * georeference when none is given. Here: strips are streamed to the file as they are encoded
 * (optionally deflated), the IFD goes last and the header is patched to point at it, and the
 * georeference tags of a GeoReference are copied through unchanged.
 *
 * Layout: planar (PlanarConfiguration=2, one set of strips per band) by default because the
 * input is [C,H,W]; `interleave: 'pixel'` writes chunky. Classic TIFF: files must stay < 4 GiB.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { writeAtomically } from '../atomic.js';
import { BYTES_PER_ELEMENT, type DType, type HostArray } from '../host.js';
import { checkHostArray, quantize } from './arrays.js';
import { DataFormatError } from './format-errors.js';
import { GEO_TAGS, type GeoReference } from './geotiff.js';
import { TAG, TIFF } from './tiff-ifd.js';

export type GeoTiffDType = 'float32' | 'uint16' | 'uint8' | 'int16' | 'int32' | 'float64';

export interface WriteGeoTiffOptions {
  /** Sample type on disk; default: the input's dtype when it is one of these, else float32. Floats → integers round and clamp. */
  dtype?: GeoTiffDType;
  /** Georeference to copy (usually from readGeoTiff of the input). */
  georef?: GeoReference;
  /** Overrides georef's nodata; null removes it. */
  noData?: number | null;
  /** 'none' (default) or 'deflate' (TIFF compression 8, readable by GDAL and geotiff.js). */
  compression?: 'none' | 'deflate';
  /** 'band' (planar, default) or 'pixel' (chunky). */
  interleave?: 'band' | 'pixel';
}

const FORMAT: Record<GeoTiffDType, number> = { uint8: 1, uint16: 1, int16: 2, int32: 2, float32: 3, float64: 3 };
const STRIP_TARGET = 256 * 1024;

/** Where encoded bytes go: a file (streamed) or memory. */
interface Sink {
  pos: number;
  write(b: Uint8Array): void;
  patch(at: number, b: Uint8Array): void;
}

function fileSink(fd: number): Sink {
  return {
    pos: 0,
    write(b) {
      let done = 0;
      while (done < b.byteLength) done += fs.writeSync(fd, b, done, b.byteLength - done, this.pos + done);
      this.pos += b.byteLength;
    },
    patch(at, b) {
      fs.writeSync(fd, b, 0, b.byteLength, at);
    },
  };
}

function memorySink(): Sink & { bytes(): Uint8Array } {
  const parts: Uint8Array[] = [];
  const patches: [number, Uint8Array][] = [];
  return {
    pos: 0,
    write(b) {
      parts.push(b.slice());
      this.pos += b.byteLength;
    },
    patch(at, b) {
      patches.push([at, b.slice()]);
    },
    bytes() {
      const out = new Uint8Array(this.pos);
      let p = 0;
      for (const x of parts) {
        out.set(x, p);
        p += x.byteLength;
      }
      for (const [at, b] of patches) out.set(b, at);
      return out;
    },
  };
}

/** Normalises the input to [C,H,W] in the output dtype. */
function prepare(image: HostArray, opts: WriteGeoTiffOptions): { a: HostArray; dtype: GeoTiffDType } {
  checkHostArray(image, 'image');
  let shape = image.shape;
  if (shape.length === 2) shape = [1, shape[0]!, shape[1]!];
  if (shape.length !== 3 || shape.some((d) => d < 1))
    throw new DataFormatError('shape', `image must be [C,H,W] or [H,W] with no empty axis, got [${image.shape}]`);
  if (shape[0]! > 65535) throw new DataFormatError('shape', `${shape[0]} bands is more than TIFF allows`);
  const dtype = opts.dtype ?? ((image.dtype in FORMAT ? image.dtype : 'float32') as GeoTiffDType);
  if (!(dtype in FORMAT)) throw new DataFormatError('bad-argument', `GeoTIFF dtype must be one of ${Object.keys(FORMAT).join(', ')}, got ${dtype}`);
  const a = quantize({ ...image, shape }, dtype as DType);
  return { a, dtype };
}

/** Little-endian bytes of a typed array region. */
function bytesOf(data: ArrayBufferView, start: number, count: number, size: number): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset + start * size, count * size);
}

function encode(sink: Sink, image: HostArray, opts: WriteGeoTiffOptions): void {
  const { a, dtype } = prepare(image, opts);
  const [C, H, W] = a.shape as [number, number, number];
  const size = BYTES_PER_ELEMENT[dtype as DType];
  const planar = (opts.interleave ?? 'band') === 'band';
  const rowBytes = W * size * (planar ? 1 : C);
  const rps = Math.max(1, Math.min(H, Math.floor(STRIP_TARGET / rowBytes)));
  const deflate = opts.compression === 'deflate';
  if (opts.compression !== undefined && opts.compression !== 'none' && !deflate)
    throw new DataFormatError('bad-argument', `compression must be 'none' or 'deflate'`);

  sink.write(new Uint8Array([0x49, 0x49, 42, 0, 0, 0, 0, 0])); // IFD offset patched at the end
  const offsets: number[] = [],
    counts: number[] = [];
  const emit = (raw: Uint8Array) => {
    const b = deflate ? new Uint8Array(zlib.deflateSync(raw)) : raw;
    // classic TIFF offsets are 32-bit
    if (sink.pos + b.byteLength > 0xffffffff) throw new DataFormatError('unsupported', 'GeoTIFF would exceed 4 GiB (BigTIFF is not supported)');
    offsets.push(sink.pos);
    counts.push(b.byteLength);
    sink.write(b);
  };
  if (planar) {
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < H; y += rps) emit(bytesOf(a.data, (c * H + y) * W, Math.min(rps, H - y) * W, size));
    }
  } else {
    // chunky: interleave the bands of each strip into pixel order
    const plane = H * W;
    const src = a.data as unknown as { [i: number]: number };
    for (let y = 0; y < H; y += rps) {
      const rows = Math.min(rps, H - y);
      const strip = new (a.data.constructor as new (n: number) => { [i: number]: number } & ArrayBufferView)(rows * W * C);
      for (let p = 0; p < rows * W; p++) for (let c = 0; c < C; c++) strip[p * C + c] = src[c * plane + y * W + p]!;
      emit(new Uint8Array(strip.buffer, strip.byteOffset, strip.byteLength));
    }
  }
  if (sink.pos % 2) sink.write(new Uint8Array(1)); // IFD starts on a word boundary

  const entries: { tag: number; type: number; values: number[] | string }[] = [
    { tag: TAG.ImageWidth, type: TIFF.LONG, values: [W] },
    { tag: TAG.ImageLength, type: TIFF.LONG, values: [H] },
    { tag: TAG.BitsPerSample, type: TIFF.SHORT, values: new Array(C).fill(size * 8) },
    { tag: TAG.Compression, type: TIFF.SHORT, values: [deflate ? 8 : 1] },
    { tag: TAG.Photometric, type: TIFF.SHORT, values: [1] }, // MinIsBlack: bands are not RGB
    { tag: TAG.StripOffsets, type: TIFF.LONG, values: offsets },
    { tag: TAG.SamplesPerPixel, type: TIFF.SHORT, values: [C] },
    { tag: TAG.RowsPerStrip, type: TIFF.LONG, values: [rps] },
    { tag: TAG.StripByteCounts, type: TIFF.LONG, values: counts },
    { tag: TAG.PlanarConfiguration, type: TIFF.SHORT, values: [planar ? 2 : 1] },
    { tag: TAG.Software, type: TIFF.ASCII, values: 'specfuse' },
    { tag: TAG.SampleFormat, type: TIFF.SHORT, values: new Array(C).fill(FORMAT[dtype]) },
  ];
  // Bands beyond the first are "extra samples" of unspecified meaning for a MinIsBlack image.
  if (C > 1) entries.push({ tag: TAG.ExtraSamples, type: TIFF.SHORT, values: new Array(C - 1).fill(0) });
  const geo = { ...(opts.georef?.tags ?? {}) };
  if (opts.noData !== undefined) {
    if (opts.noData === null) delete geo[TAG.GdalNoData];
    else geo[TAG.GdalNoData] = Number.isNaN(opts.noData) ? 'nan' : String(opts.noData);
  }
  for (const [tag, v] of Object.entries(geo)) {
    const kind = GEO_TAGS[Number(tag)];
    if (!kind) continue;
    const type = kind === 'DOUBLE' ? TIFF.DOUBLE : kind === 'SHORT' ? TIFF.SHORT : TIFF.ASCII;
    if ((kind === 'ASCII') !== (typeof v === 'string'))
      throw new DataFormatError('bad-argument', `georeference tag ${tag} must be ${kind === 'ASCII' ? 'a string' : 'numbers'}`);
    entries.push({ tag: Number(tag), type, values: v });
  }
  entries.sort((x, y) => x.tag - y.tag); // TIFF requires ascending tag order
  writeIfd(sink, entries);
}

function writeIfd(sink: Sink, entries: { tag: number; type: number; values: number[] | string }[]): void {
  const ifdPos = sink.pos;
  const ifd = new Uint8Array(2 + entries.length * 12 + 4);
  const dv = new DataView(ifd.buffer);
  dv.setUint16(0, entries.length, true);
  const extra: Uint8Array[] = [];
  let extraPos = ifdPos + ifd.byteLength;
  entries.forEach((e, i) => {
    const bytes = typeof e.values === 'string' ? new TextEncoder().encode(`${e.values}\0`) : encodeValues(e.type, e.values);
    const count = typeof e.values === 'string' ? bytes.byteLength : e.values.length;
    const p = 2 + i * 12;
    dv.setUint16(p, e.tag, true);
    dv.setUint16(p + 2, e.type, true);
    dv.setUint32(p + 4, count, true);
    if (bytes.byteLength <= 4) {
      ifd.set(bytes, p + 8); // small values live in the entry itself
    } else {
      dv.setUint32(p + 8, extraPos, true);
      const padded = bytes.byteLength % 2 ? concat2(bytes, new Uint8Array(1)) : bytes;
      extra.push(padded);
      extraPos += padded.byteLength;
    }
  });
  // next-IFD offset stays 0: one image
  if (extraPos > 0xffffffff) throw new DataFormatError('unsupported', 'GeoTIFF would exceed 4 GiB (BigTIFF is not supported)');
  sink.write(ifd);
  for (const x of extra) sink.write(x);
  const off = new Uint8Array(4);
  new DataView(off.buffer).setUint32(0, ifdPos, true);
  sink.patch(4, off);
}

function encodeValues(type: number, values: number[]): Uint8Array {
  const size = type === TIFF.DOUBLE ? 8 : type === TIFF.LONG ? 4 : 2;
  const out = new Uint8Array(values.length * size);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (type === TIFF.DOUBLE) dv.setFloat64(i * size, v, true);
    else if (type === TIFF.LONG) dv.setUint32(i * size, v, true);
    else dv.setUint16(i * size, v, true);
  });
  return out;
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

/** Encodes a GeoTIFF in memory. */
export function encodeGeoTiff(image: HostArray, opts: WriteGeoTiffOptions = {}): Uint8Array {
  const sink = memorySink();
  encode(sink, image, opts);
  return sink.bytes();
}

/**
 * Writes a GeoTIFF to a file, streaming strips into a temporary file that replaces `path` only
 * once complete and synced (a failed or killed write leaves the previous file, if any).
 */
export function writeGeoTiff(path: string, image: HostArray, opts: WriteGeoTiffOptions = {}): void {
  writeAtomically(path, (tmp) => {
    const fd = fs.openSync(tmp, 'w');
    try {
      const sink = fileSink(fd);
      encode(sink, image, opts);
      fs.fsyncSync(fd);
      const size = fs.fstatSync(fd).size;
      if (size !== sink.pos) throw new Error(`${path}: wrote ${size} of ${sink.pos} bytes`);
    } finally {
      fs.closeSync(fd);
    }
  });
}
