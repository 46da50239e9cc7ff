/**
 * Hyperspectral cubes for MS/HS fusion (MHIF), read into float32 C×H×W arrays in [0, 1]:
 *
 * - CAVE band stacks: a folder of single-band grayscale PNGs (CAVE ships `<scene>_ms_01.png` …
 *   `_31.png`, 16-bit), ordered by the last number in each file name. Values are divided by the
 *   largest value of the bit depth (65535 for 16-bit, 255 for 8-bit): CAVE's PNGs are reflectance
 *   quantised to the full 16-bit range, so this is the reflectance in [0, 1] that the group's
 *   papers evaluate with peak 1 (inf.md §4).
 * - .mat cubes (MATLAB v5, H×W×C as MATLAB stores them; e.g. CAVE cubes converted to .mat, or
 *   Harvard's `ref`): integer classes are divided by their type's maximum (uint16 → 65535) like the
 *   PNGs; floating-point data, and Harvard files (which hold `ref` radiance and the `lbl` mask,
 *   with no fixed scale), are divided by the cube's maximum, the normalisation the Harvard MHIF
 *   literature applies per image. `normalize` overrides either choice.
 *
 * Data never ships with specfuse (CAVE: research use; Harvard: its own terms): users point at it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PNG } from 'pngjs';
import type { HostArray } from '../host.js';
import { DataFormatError, isSystemError } from './format-errors.js';
import { openMat } from './mat.js';

export interface HyperspectralCube {
  /** float32 [C, H, W], normalised (see `scale`). */
  cube: HostArray;
  /** The value that was mapped to 1 (the stored values were divided by it). */
  scale: number;
  /** 'png-stack' or 'mat'. */
  format: 'png-stack' | 'mat';
  /** The band files (png-stack) or the variable read (mat). */
  sources: string[];
}

export interface ReadCubeOptions {
  /**
   * Division applied to the stored values: 'type' (integer data: the type's maximum, 65535 for
   * 16-bit), 'max' (the cube's maximum), or a number. Default: 'type' for PNG stacks and integer
   * .mat data, 'max' for floating-point .mat data and Harvard files.
   */
  normalize?: 'type' | 'max' | number;
  /** .mat only: the variable holding the H×W×C cube (default: 'ref' when present, else the first 3-D numeric variable). */
  key?: string;
  /** Keep only these bands (0-based, in order), e.g. to drop bands a camera response does not cover. */
  bands?: readonly number[];
}

const bandNumber = (name: string): number => {
  const m = /(\d+)(?!.*\d)/.exec(name);
  return m ? Number(m[1]) : NaN;
};

/** The PNG files of a band-stack folder, ordered by band number (the last number in the name). */
export function listBandFiles(dir: string): string[] {
  const files = readdirSync(dir).filter((f) => /\.png$/i.test(f));
  if (files.length === 0) throw new DataFormatError('missing-key', 'no .png band files in the folder', { file: dir });
  const unnumbered = files.filter((f) => Number.isNaN(bandNumber(f)));
  if (unnumbered.length) throw new DataFormatError('bad-argument', `band files must carry a band number in their name (got ${unnumbered[0]})`, { file: dir });
  const sorted = files.sort((a, b) => bandNumber(a) - bandNumber(b));
  for (let i = 1; i < sorted.length; i++) {
    if (bandNumber(sorted[i]!) === bandNumber(sorted[i - 1]!)) {
      throw new DataFormatError('corrupt', `two files for band ${bandNumber(sorted[i]!)}: ${sorted[i - 1]} and ${sorted[i]}`, { file: dir });
    }
  }
  return sorted.map((f) => join(dir, f));
}

function readBandPng(path: string): { width: number; height: number; depth: number; values: Uint16Array | Uint8Array } {
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    png = PNG.sync.read(readFileSync(path), { skipRescale: true });
  } catch (e) {
    if (isSystemError(e)) throw e;
    throw new DataFormatError('corrupt', `not a readable PNG: ${(e as Error).message}`, { file: path, cause: e });
  }
  if (png.colorType !== 0)
    throw new DataFormatError('unsupported', `band PNGs must be single-channel grayscale (colour type ${png.colorType})`, { file: path });
  const n = png.width * png.height;
  // pngjs expands gray to RGBA (R = G = B = gray); keep one channel.
  const src = png.data as unknown as ArrayLike<number>;
  const values = png.depth === 16 ? new Uint16Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) values[i] = src[4 * i]!;
  return { width: png.width, height: png.height, depth: png.depth, values };
}

function selectBands(c: number, bands: readonly number[] | undefined): number[] {
  if (bands === undefined) return Array.from({ length: c }, (_, i) => i);
  if (!Array.isArray(bands) || bands.length === 0) throw new TypeError('options.bands: expected a non-empty array of band indices');
  for (const b of bands) if (!Number.isInteger(b) || b < 0 || b >= c) throw new RangeError(`options.bands: band ${b} is out of range [0, ${c})`);
  return [...bands];
}

function checkNormalize(n: unknown): void {
  if (n === undefined || n === 'type' || n === 'max') return;
  if (typeof n !== 'number' || !(n > 0) || !Number.isFinite(n))
    throw new RangeError(`options.normalize: expected 'type', 'max' or a positive number, got ${String(n)}`);
}

function cubeMax(data: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < data.length; i++) if (data[i]! > m) m = data[i]!;
  return m;
}

/** Reads a CAVE-style folder of band PNGs into a float32 [C, H, W] cube in [0, 1]. */
export function readBandStack(dir: string, opts: ReadCubeOptions = {}): HyperspectralCube {
  checkNormalize(opts.normalize);
  const files = listBandFiles(dir);
  const keep = selectBands(files.length, opts.bands);
  const bands = keep.map((i) => ({ file: files[i]!, ...readBandPng(files[i]!) }));
  const { width, height, depth } = bands[0]!;
  for (const b of bands) {
    if (b.width !== width || b.height !== height) {
      throw new DataFormatError(
        'shape',
        `band sizes differ: ${basename(bands[0]!.file)} is ${width}×${height}, ${basename(b.file)} is ${b.width}×${b.height}`,
        { file: dir },
      );
    }
    if (b.depth !== depth) throw new DataFormatError('shape', `bit depths differ (${depth} and ${b.depth})`, { file: b.file });
  }
  const n = width * height;
  const raw = new Float32Array(n * bands.length);
  bands.forEach((b, i) => raw.set(b.values, i * n));
  const scale = opts.normalize === 'max' ? cubeMax(raw) : typeof opts.normalize === 'number' ? opts.normalize : 2 ** depth - 1;
  if (!(scale > 0)) throw new DataFormatError('corrupt', 'the cube is all zeros: cannot normalise by its maximum', { file: dir });
  for (let i = 0; i < raw.length; i++) raw[i]! /= scale;
  return { cube: { dtype: 'float32', shape: [bands.length, height, width], data: raw }, scale, format: 'png-stack', sources: bands.map((b) => b.file) };
}

const TYPE_MAX: Partial<Record<string, number>> = { uint8: 255, uint16: 65535, int16: 32767, int8: 127 };

/** Reads an H×W×C cube from a MATLAB v5 .mat file (CAVE .mat, Harvard `ref`) into float32 [C, H, W]. */
export function readMatCube(path: string, opts: ReadCubeOptions = {}): HyperspectralCube {
  checkNormalize(opts.normalize);
  const f = openMat(path);
  try {
    const vars = f.variables;
    let key = opts.key;
    if (key === undefined) key = vars.find((v) => v.name === 'ref' && v.numeric)?.name ?? vars.find((v) => v.numeric && v.shape.length === 3)?.name;
    if (key === undefined)
      throw new DataFormatError('missing-key', `no 3-D numeric variable (variables: ${vars.map((v) => v.name).join(', ') || 'none'})`, { file: path });
    const info = vars.find((v) => v.name === key);
    if (!info) throw new DataFormatError('missing-key', `no variable '${key}' (variables: ${vars.map((v) => v.name).join(', ')})`, { file: path, key });
    if (!info.numeric || info.shape.length !== 3) {
      throw new DataFormatError('shape', `expected a numeric H×W×C array, got ${info.class} [${info.shape.join(', ')}]`, { file: path, key });
    }
    const a = f.read(key, { storedType: true });
    const [h, w, c] = info.shape as [number, number, number];
    const keep = selectBands(c, opts.bands);
    const isHarvard = vars.some((v) => v.name === 'lbl') && key === 'ref';
    const integer = TYPE_MAX[info.class] !== undefined;
    const mode = opts.normalize ?? (integer && !isHarvard ? 'type' : 'max');
    const src = a.data as unknown as ArrayLike<number>;
    const out = new Float32Array(keep.length * h * w);
    // [H, W, C] row-major -> [C', H, W]
    keep.forEach((band, k) => {
      const o = k * h * w;
      for (let p = 0; p < h * w; p++) out[o + p] = src[p * c + band]!;
    });
    const scale = mode === 'max' ? cubeMax(out) : mode === 'type' ? (TYPE_MAX[info.class] ?? 1) : mode;
    if (!(scale > 0)) throw new DataFormatError('corrupt', 'the cube is all zeros: cannot normalise by its maximum', { file: path, key });
    for (let i = 0; i < out.length; i++) out[i]! /= scale;
    return { cube: { dtype: 'float32', shape: [keep.length, h, w], data: out }, scale, format: 'mat', sources: [key] };
  } finally {
    f.close();
  }
}

/** A folder of band PNGs or a .mat cube, by what the path is. */
export function readHyperspectralCube(path: string, opts: ReadCubeOptions = {}): HyperspectralCube {
  if (statSync(path).isDirectory()) return readBandStack(path, opts);
  if (/\.mat$/i.test(path)) return readMatCube(path, opts);
  throw new DataFormatError('bad-argument', 'expected a folder of band PNGs or a .mat cube', { file: path });
}
