/**
 * Multi-band GeoTIFF reader: any layout geotiff.js decodes (strips or tiles, chunky or planar,
 * uncompressed/LZW/deflate/packbits/zstd/...) → HostArray [C, H, W] plus the georeference.
 *
 * The georeference is kept opaque: the raw GeoTIFF tags (pixel scale, tiepoints, transform,
 * GeoKey directory and its double/ASCII parameters, GDAL nodata), so writeGeoTiff can copy
 * them through unchanged. `geoKeys` is a parsed view for display only.
 *
 * Before any pixel is decoded the structure is checked against the file size (tiff-ifd.ts),
 * so a cut or corrupt file fails with DataFormatError instead of garbage or a huge allocation.
 */
import threads from 'node:worker_threads';
import type { GeoTIFF } from 'geotiff';
import { BYTES_PER_ELEMENT, type DType, type HostArray } from '../host.js';
import { allocate } from './arrays.js';
import { type ByteSource, bufferSource, fileSource } from './bytesource.js';
import { DataFormatError, isSystemError } from './format-errors.js';
import { type Ifd, TAG, readFirstIfd } from './tiff-ifd.js';

/** Tags that make up a georeference, with the TIFF type they are written back as. */
export const GEO_TAGS: Record<number, 'DOUBLE' | 'SHORT' | 'ASCII'> = {
  [TAG.ModelPixelScale]: 'DOUBLE',
  [TAG.ModelTiepoint]: 'DOUBLE',
  [TAG.ModelTransformation]: 'DOUBLE',
  [TAG.GeoKeyDirectory]: 'SHORT',
  [TAG.GeoDoubleParams]: 'DOUBLE',
  [TAG.GeoAsciiParams]: 'ASCII',
  [TAG.GdalNoData]: 'ASCII',
};

export interface GeoReference {
  /** Raw values of the GEO_TAGS present, by TIFF tag number. */
  tags: Record<number, number[] | string>;
  /** GeoKeys parsed by geotiff.js (e.g. ProjectedCSTypeGeoKey), for information; null when absent. */
  geoKeys: Record<string, unknown> | null;
  /** GDAL nodata value, or null. */
  noData: number | null;
}

export interface GeoTiffRead {
  /** [C, H, W]; bands in file order. */
  image: HostArray;
  georef: GeoReference;
}

export interface ReadGeoTiffOptions {
  /** Refuse images whose decoded size exceeds this many bytes (default 4 GiB). */
  maxBytes?: number;
}

/** Decoded dtype for (SampleFormat, BitsPerSample); uint32 widens to int64, float16 to float32. */
function dtypeFor(format: number, bits: number): DType | undefined {
  const key = `${format}:${bits}`;
  return (
    {
      '1:8': 'uint8',
      '1:16': 'uint16',
      '1:32': 'int64',
      '2:8': 'int8',
      '2:16': 'int16',
      '2:32': 'int32',
      '3:16': 'float32',
      '3:32': 'float32',
      '3:64': 'float64',
    } as Record<string, DType>
  )[key];
}

interface Layout {
  width: number;
  height: number;
  bands: number;
  dtype: DType;
  bits: number;
}

/** Checks dimensions, sample types and that every strip/tile lies inside the file. */
function checkLayout(ifd: Ifd, src: ByteSource, maxBytes: number): Layout {
  const file = src.label;
  const one = (tag: number, name: string, dflt?: number): number => {
    const v = ifd.numbers(tag)?.[0] ?? dflt;
    if (v === undefined) throw new DataFormatError('corrupt', `TIFF has no ${name} tag`, { file });
    return v;
  };
  const width = one(TAG.ImageWidth, 'ImageWidth'),
    height = one(TAG.ImageLength, 'ImageLength');
  const bands = one(TAG.SamplesPerPixel, 'SamplesPerPixel', 1);
  if (width < 1 || height < 1 || bands < 1) throw new DataFormatError('corrupt', `TIFF image is ${width}×${height} with ${bands} bands`, { file });
  const bitsList = ifd.numbers(TAG.BitsPerSample) ?? [1];
  const fmtList = ifd.numbers(TAG.SampleFormat) ?? [1];
  const bits = bitsList[0]!,
    format = fmtList[0]!;
  if (bitsList.some((b) => b !== bits) || fmtList.some((f) => f !== format)) {
    throw new DataFormatError('unsupported', `bands of different sample types (BitsPerSample ${bitsList}, SampleFormat ${fmtList})`, { file });
  }
  const dtype = dtypeFor(format, bits);
  if (!dtype)
    throw new DataFormatError(
      'unsupported',
      `sample type SampleFormat=${format} BitsPerSample=${bits} (supported: 8/16/32-bit integers, 16/32/64-bit floats)`,
      { file },
    );
  const compression = one(TAG.Compression, 'Compression', 1);
  const planar = one(TAG.PlanarConfiguration, 'PlanarConfiguration', 1);
  if (planar !== 1 && planar !== 2) throw new DataFormatError('corrupt', `PlanarConfiguration ${planar}`, { file });
  const perBlockBands = planar === 2 ? 1 : bands;
  const bytesPerSample = bits / 8;
  const decoded = width * height * bands * BYTES_PER_ELEMENT[dtype];
  if (decoded > maxBytes)
    throw new DataFormatError('unsupported', `image of ${width}×${height}×${bands} would need ${decoded} bytes (limit ${maxBytes})`, { file });

  const tiled = ifd.entries.has(TAG.TileWidth);
  const [offTag, cntTag] = tiled ? [TAG.TileOffsets, TAG.TileByteCounts] : [TAG.StripOffsets, TAG.StripByteCounts];
  const offsets = ifd.numbers(offTag),
    counts = ifd.numbers(cntTag);
  if (!offsets || !counts) throw new DataFormatError('corrupt', `TIFF has no ${tiled ? 'tile' : 'strip'} offsets/byte counts`, { file });
  const blockRaw: number[] = [];
  if (tiled) {
    const tw = one(TAG.TileWidth, 'TileWidth'),
      th = one(TAG.TileLength, 'TileLength');
    if (tw < 1 || th < 1) throw new DataFormatError('corrupt', `tile size ${tw}×${th}`, { file });
    const n = Math.ceil(width / tw) * Math.ceil(height / th) * (planar === 2 ? bands : 1);
    for (let i = 0; i < n; i++) blockRaw.push(tw * th * perBlockBands * bytesPerSample);
  } else {
    const rps = Math.min(one(TAG.RowsPerStrip, 'RowsPerStrip', height), height);
    if (rps < 1) throw new DataFormatError('corrupt', `RowsPerStrip ${rps}`, { file });
    const perPlane = Math.ceil(height / rps);
    for (let p = 0; p < (planar === 2 ? bands : 1); p++) {
      for (let s = 0; s < perPlane; s++) blockRaw.push(Math.min(rps, height - s * rps) * width * perBlockBands * bytesPerSample);
    }
  }
  if (offsets.length !== blockRaw.length || counts.length !== blockRaw.length) {
    throw new DataFormatError(
      'corrupt',
      `TIFF lists ${offsets.length} offsets and ${counts.length} byte counts for ${blockRaw.length} ${tiled ? 'tiles' : 'strips'}`,
      { file },
    );
  }
  let stored = 0;
  for (let i = 0; i < offsets.length; i++) {
    if (offsets[i]! + counts[i]! > src.size) {
      throw new DataFormatError('truncated', `file ends inside ${tiled ? 'tile' : 'strip'} ${i} (${counts[i]} bytes at ${offsets[i]}, file has ${src.size})`, {
        file,
        offset: offsets[i]!,
      });
    }
    if (compression === 1 && counts[i]! < blockRaw[i]!) {
      throw new DataFormatError('corrupt', `uncompressed ${tiled ? 'tile' : 'strip'} ${i} has ${counts[i]} bytes, needs ${blockRaw[i]}`, {
        file,
        offset: offsets[i]!,
      });
    }
    stored += counts[i]!;
  }
  // A tiny compressed file claiming a huge image is corrupt (or hostile); no codec here beats ~1000:1.
  if (compression !== 1 && decoded > stored * 1100 + (1 << 20)) {
    throw new DataFormatError('corrupt', `${stored} compressed bytes cannot hold a ${width}×${height}×${bands} image`, { file });
  }
  return { width, height, bands, dtype, bits };
}

function georefOf(ifd: Ifd, geoKeys: Record<string, unknown> | null): GeoReference {
  const tags: Record<number, number[] | string> = {};
  for (const [tag, kind] of Object.entries(GEO_TAGS)) {
    const t = Number(tag);
    const v = kind === 'ASCII' ? ifd.ascii(t) : ifd.numbers(t);
    if (v !== undefined) tags[t] = v;
  }
  const nd = ifd.ascii(TAG.GdalNoData);
  const noData = nd !== undefined && nd.trim() !== '' && !Number.isNaN(Number(nd.trim())) ? Number(nd.trim()) : nd?.trim().toLowerCase() === 'nan' ? NaN : null;
  return { tags, geoKeys, noData };
}

/** Reads the first image of a (Geo)TIFF from a path or bytes. */
let geotiffModule: Promise<typeof import('geotiff')> | undefined;

/**
 * geotiff.js, loaded on first use rather than when specfuse is imported: its dependency web-worker
 * reads `workerData.mod` as it loads, which throws in a worker_threads Worker started without
 * workerData and takes the thread over when the user's workerData has a `mod`. In a Worker it is
 * loaded while workerData is a copy without `mod` (restored right after).
 */
function geotiff(): Promise<typeof import('geotiff')> {
  if (geotiffModule) return geotiffModule;
  if (threads.isMainThread) return (geotiffModule = import('geotiff'));
  const box = threads as { workerData: unknown };
  const original = box.workerData;
  box.workerData = original !== null && typeof original === 'object' ? { ...original, mod: undefined } : {};
  geotiffModule = import('geotiff').finally(() => {
    box.workerData = original;
  });
  return geotiffModule;
}

export async function readGeoTiff(source: string | Uint8Array, opts: ReadGeoTiffOptions = {}): Promise<GeoTiffRead> {
  const src = typeof source === 'string' ? fileSource(source) : bufferSource(source);
  let layout: Layout, ifd: Ifd;
  try {
    ifd = readFirstIfd(src);
    layout = checkLayout(ifd, src, opts.maxBytes ?? 2 ** 32);
  } finally {
    src.close();
  }
  let tiff: GeoTIFF | undefined;
  const { fromArrayBuffer, fromFile } = await geotiff();
  try {
    if (typeof source === 'string') {
      tiff = await fromFile(source);
    } else {
      const ab = source.buffer.slice(source.byteOffset, source.byteOffset + source.byteLength) as ArrayBuffer;
      tiff = await fromArrayBuffer(ab);
    }
    const img = await tiff.getImage(0);
    const rasters = (await img.readRasters({ interleave: false })) as unknown as ArrayLike<number>[];
    const plane = layout.width * layout.height;
    if (rasters.length !== layout.bands || rasters.some((r) => r.length !== plane)) {
      throw new DataFormatError('corrupt', `decoder returned ${rasters.length} bands of ${rasters[0]?.length} pixels, expected ${layout.bands} of ${plane}`, {
        file: src.label,
      });
    }
    const data = allocate(layout.dtype, plane * layout.bands);
    rasters.forEach((r, b) => {
      if (data instanceof BigInt64Array) {
        for (let i = 0; i < plane; i++) data[b * plane + i] = BigInt(r[i]!);
      } else {
        (data as Float64Array).set(r, b * plane);
      }
    });
    const georef = georefOf(ifd, img.getGeoKeys() as Record<string, unknown> | null);
    return { image: { dtype: layout.dtype, shape: [layout.bands, layout.height, layout.width], data }, georef };
  } catch (e) {
    if (e instanceof DataFormatError || isSystemError(e)) throw e;
    throw new DataFormatError('corrupt', `TIFF image data could not be decoded: ${(e as Error).message}`, { file: src.label, cause: e });
  } finally {
    if (tiff && typeof source === 'string') await tiff.close();
  }
}

/** True when the bytes start like a classic or Big TIFF. */
export function looksLikeTiff(head: Uint8Array): boolean {
  return (
    head.length >= 4 &&
    ((head[0] === 0x49 && head[1] === 0x49 && (head[2] === 42 || head[2] === 43) && head[3] === 0) ||
      (head[0] === 0x4d && head[1] === 0x4d && head[2] === 0 && (head[3] === 42 || head[3] === 43)))
  );
}
