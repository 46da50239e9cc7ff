/**
 * PNG previews of multispectral and PAN images, for looking at data and results.
 *
 * Inputs are [C,H,W] (or [N,C,H,W] with `sample`, or [H,W] for a single band). Colour previews
 * take three bands as R,G,B (by sensor: WV3/WV2 5,3,2; QB/IKONOS/GF2 3,2,1; 1-based), stretch
 * each between its 2nd and 98th percentile (configurable, or one stretch for all three bands
 * to keep colour balance), and map NaN / nodata to transparent pixels.
 */
import pngjs from 'pngjs';
import { writeFileAtomic } from '../atomic.js';
import type { HostArray } from '../host.js';
import { checkHostArray } from './arrays.js';
import { DataFormatError } from './format-errors.js';
import { sensorRgbBands } from './sensors.js';

/** 8-bit RGBA raster, row-major. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface StretchOptions {
  /** Lower percentile mapped to 0 (default 2). */
  low?: number;
  /** Upper percentile mapped to 255 (default 98). */
  high?: number;
  /** Stretch each band on its own (default) or all displayed bands with one range. */
  perBand?: boolean;
  /** Value treated as missing (transparent, excluded from percentiles). NaN always is. */
  noData?: number;
}

export interface RenderOptions extends StretchOptions {
  /** 1-based band numbers for R, G, B; default from `sensor`, else from the band count. */
  bands?: [number, number, number] | undefined;
  /** Sensor name (WV3, QB, GF2, ...) to choose the RGB bands; undefined = choose by band count. */
  sensor?: string | undefined;
  /** Which sample of an [N,C,H,W] batch (default 0). */
  sample?: number;
}

const MAX_PERCENTILE_SAMPLES = 1 << 20;

/** One band plane (view, no copy) of a [C,H,W] / [N,C,H,W] / [H,W] array. */
function planes(a: HostArray, sample = 0): { bands: number; height: number; width: number; band(i: number): ArrayLike<number> } {
  checkHostArray(a, 'image');
  if (a.dtype === 'int64' || a.dtype === 'float16' || a.dtype === 'bfloat16')
    throw new DataFormatError('bad-argument', `preview of ${a.dtype} data is not supported; convert to float32`);
  let s = a.shape,
    offset = 0;
  if (s.length === 4) {
    if (!Number.isInteger(sample) || sample < 0 || sample >= s[0]!)
      throw new DataFormatError('bad-argument', `sample ${sample} is outside the batch of ${s[0]}`);
    offset = sample * s[1]! * s[2]! * s[3]!;
    s = s.slice(1);
  } else if (s.length === 2) {
    s = [1, ...s];
  }
  if (s.length !== 3 || s[1]! < 1 || s[2]! < 1) throw new DataFormatError('shape', `image must be [C,H,W], [N,C,H,W] or [H,W], got [${a.shape}]`);
  const [bands, height, width] = s as [number, number, number];
  const plane = height * width;
  const data = a.data as Exclude<HostArray['data'], BigInt64Array>;
  return { bands, height, width, band: (i) => data.subarray(offset + i * plane, offset + (i + 1) * plane) };
}

/** numpy-style linear-interpolated percentiles of the valid values (a strided subsample for big bands). */
export function percentiles(values: ArrayLike<number>[], qs: number[], noData?: number): number[] {
  let total = 0;
  for (const v of values) total += v.length;
  const stride = Math.max(1, Math.ceil(total / MAX_PERCENTILE_SAMPLES));
  const picked: number[] = [];
  for (const v of values) {
    for (let i = 0; i < v.length; i += stride) {
      const x = v[i]!;
      if (Number.isFinite(x) && x !== noData) picked.push(x);
    }
  }
  if (picked.length === 0) return qs.map(() => NaN);
  const sorted = Float64Array.from(picked).sort();
  return qs.map((q) => {
    const pos = (Math.min(100, Math.max(0, q)) / 100) * (sorted.length - 1);
    const lo = Math.floor(pos),
      hi = Math.ceil(pos);
    return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
  });
}

function stretchRanges(bands: ArrayLike<number>[], opts: StretchOptions): [number, number][] {
  const low = opts.low ?? 2,
    high = opts.high ?? 98;
  if (!(low >= 0 && high <= 100 && low < high))
    throw new DataFormatError('bad-argument', `stretch percentiles must satisfy 0 <= low < high <= 100, got ${low}, ${high}`);
  if (opts.perBand === false) {
    const [lo, hi] = percentiles(bands, [low, high], opts.noData) as [number, number];
    return bands.map(() => [lo, hi]);
  }
  return bands.map((b) => percentiles([b], [low, high], opts.noData) as [number, number]);
}

/** Writes 8-bit stretched bands into an RGBA raster (gray when one band is given). */
function toRgba(bands: ArrayLike<number>[], width: number, height: number, opts: StretchOptions): RgbaImage {
  const ranges = stretchRanges(bands, opts);
  const n = width * height;
  const out = new Uint8Array(n * 4);
  for (let c = 0; c < 3; c++) {
    const b = bands[bands.length === 1 ? 0 : c]!;
    const [lo, hi] = ranges[bands.length === 1 ? 0 : c]!;
    const k = hi > lo ? 255 / (hi - lo) : 0;
    for (let i = 0; i < n; i++) {
      const v = (b[i]! - lo) * k;
      out[i * 4 + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
  for (let i = 0; i < n; i++) {
    let valid = true;
    for (const b of bands) {
      const x = b[i]!;
      if (Number.isNaN(x) || x === opts.noData) valid = false;
    }
    out[i * 4 + 3] = valid ? 255 : 0;
  }
  return { width, height, data: out };
}

/** Default R,G,B bands (1-based) for a band count, or undefined when there is no natural choice. */
export function defaultRgbBands(bandCount: number, sensor?: string): [number, number, number] | undefined {
  if (sensor) return sensorRgbBands(sensor);
  if (bandCount === 8) return [5, 3, 2];
  if (bandCount === 4) return [3, 2, 1];
  if (bandCount === 3) return [1, 2, 3];
  return undefined;
}

/** Colour preview of a multispectral image. */
export function renderRgb(image: HostArray, opts: RenderOptions = {}): RgbaImage {
  const p = planes(image, opts.sample);
  const rgb = opts.bands ?? defaultRgbBands(p.bands, opts.sensor);
  if (!rgb) throw new DataFormatError('shape', `cannot choose RGB bands for a ${p.bands}-band image; pass bands: [r, g, b]`);
  for (const b of rgb) {
    if (!Number.isInteger(b) || b < 1 || b > p.bands)
      throw new DataFormatError('shape', `RGB band ${b} requested but the image has ${p.bands} bands (band numbers are 1-based)`);
  }
  return toRgba(
    rgb.map((b) => p.band(b - 1)),
    p.width,
    p.height,
    opts,
  );
}

/** Grayscale preview of one band (PAN: [H,W], [1,H,W] or [N,1,H,W]); `band` is 1-based, default 1. */
export function renderGray(image: HostArray, opts: StretchOptions & { band?: number; sample?: number } = {}): RgbaImage {
  const p = planes(image, opts.sample);
  const band = opts.band ?? 1;
  if (!Number.isInteger(band) || band < 1 || band > p.bands) throw new DataFormatError('shape', `band ${band} requested but the image has ${p.bands} bands`);
  return toRgba([p.band(band - 1)], p.width, p.height, opts);
}

/** Gray for single-band images, colour otherwise. */
export function renderPreview(image: HostArray, opts: RenderOptions = {}): RgbaImage {
  return planes(image, opts.sample).bands === 1 ? renderGray(image, opts) : renderRgb(image, opts);
}

/** Nearest-neighbour resize (for previews only: keeps pixels crisp when a small MS sits beside a PAN). */
export function resizeNearest(img: RgbaImage, width: number, height: number): RgbaImage {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0))
    throw new DataFormatError('bad-argument', `invalid size ${width}×${height}`);
  const out = new Uint8Array(width * height * 4);
  const bytes = img.data.byteOffset % 4 ? img.data.slice() : img.data; // Uint32Array views need 4-byte alignment
  const src = new Uint32Array(bytes.buffer, bytes.byteOffset, img.width * img.height);
  const dst = new Uint32Array(out.buffer);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(img.height - 1, Math.floor((y * img.height) / height));
    for (let x = 0; x < width; x++) dst[y * width + x] = src[sy * img.width + Math.min(img.width - 1, Math.floor((x * img.width) / width))]!;
  }
  return { width, height, data: out };
}

export interface PanelOptions {
  /** Pixels between images and around the border (default 8). */
  gap?: number;
  /** Background RGBA (default opaque white). */
  background?: [number, number, number, number];
  /** Scale every image (nearest neighbour, aspect kept) to this height; default: no scaling. */
  height?: number;
}

/** Images side by side, top-aligned, e.g. MS / PAN / fused for a before-after figure. */
export function panel(images: RgbaImage[], opts: PanelOptions = {}): RgbaImage {
  if (images.length === 0) throw new DataFormatError('bad-argument', 'panel needs at least one image');
  const gap = opts.gap ?? 8;
  const bg = opts.background ?? [255, 255, 255, 255];
  const scaled =
    opts.height === undefined ? images : images.map((im) => resizeNearest(im, Math.max(1, Math.round((im.width * opts.height!) / im.height)), opts.height!));
  const width = scaled.reduce((s, im) => s + im.width, 0) + gap * (scaled.length + 1);
  const height = Math.max(...scaled.map((im) => im.height)) + 2 * gap;
  const out = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) out.set(bg, i * 4);
  let x0 = gap;
  for (const im of scaled) {
    for (let y = 0; y < im.height; y++) {
      out.set(im.data.subarray(y * im.width * 4, (y + 1) * im.width * 4), ((gap + y) * width + x0) * 4);
    }
    x0 += im.width + gap;
  }
  return { width, height, data: out };
}

/** PNG bytes of an RGBA raster (8-bit, with alpha). */
export function encodePng(img: RgbaImage): Uint8Array {
  const png = new pngjs.PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return new Uint8Array(pngjs.PNG.sync.write(png));
}

/** Renders (gray for 1 band, else colour) and writes a PNG file, atomically. */
export function writePreviewPng(path: string, image: HostArray | RgbaImage, opts: RenderOptions = {}): void {
  const img = 'shape' in image ? renderPreview(image, opts) : image;
  writeFileAtomic(path, encodePng(img));
}
