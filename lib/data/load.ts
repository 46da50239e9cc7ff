/**
 * One entry point for "give me the pansharpening arrays in this file", whatever the format.
 *
 * Convention of the result (channel-first, like the models):
 * - batches (PanCollection .h5, 4-D .mat such as PanCollection patches): layout 'NCHW',
 *   ms [N,C,h,w], lms/gt [N,C,H,W], pan [N,1,H,W];
 * - a single scene (.mat with H×W×C arrays, GeoTIFF pairs): layout 'CHW',
 *   ms [C,h,w], lms/gt [C,H,W], pan [1,H,W].
 * `ms` is the low-resolution MS, `lms` the MS resampled to the PAN grid, `gt` the reference.
 * Values keep their stored type and scale (DN) unless `dtype` asks for a conversion.
 *
 * .mat (v5 or v7.3) names accepted: gt/ms/lms/pan (PanCollection, N×H×W×C), I_GT, I_MS_LR, I_PAN, and I_MS,
 * which the community uses for both the low-resolution MS (Vitale/Z-PNN examples) and the
 * upsampled one (Vivone's toolbox): it is taken as `lms` when it has the PAN's size, else `ms`.
 */
import type { HostArray } from '../host.js';
import { convertDType, permute } from './arrays.js';
import { readHead } from './bytesource.js';
import { DataFormatError } from './format-errors.js';
import { type GeoReference, looksLikeTiff, readGeoTiff } from './geotiff.js';
import { hasHdf5Signature } from './hdf5.js';
import { openMatFile } from './mat73.js';
import { openPanCollection } from './pancollection.js';
import { IMAGE_ROLE_NAMES } from './role-names.js';
import { type Sensor, parseSensor, sensorFromPath } from './sensors.js';

export type PanRole = 'gt' | 'ms' | 'lms' | 'pan';

export interface PansharpeningInput {
  layout: 'NCHW' | 'CHW';
  ms?: HostArray;
  lms?: HostArray;
  pan: HostArray;
  gt?: HostArray;
  /** PAN/MS size ratio, when both are present. */
  ratio?: number;
  /** From a .mat `sensor` variable or the file name, when either says. */
  sensor?: Sensor;
  /** Georeference of the PAN (GeoTIFF input). */
  georef?: GeoReference;
  format: 'mat' | 'h5' | 'tif';
}

export interface LoadOptions {
  /** Convert every array to this dtype (default: keep the stored type). */
  dtype?: 'float32' | 'float64';
  /**
   * .h5 only: samples [i0, i1) instead of the whole file. Training files are several GB:
   * load a range, or iterate `openPanCollection(path).batches(n)` instead.
   */
  range?: [number, number];
}

export type TiffPaths = { pan: string; ms?: string; lms?: string; gt?: string };

/** File format from the first bytes (not the extension, which is often wrong for .mat/.h5). */
export function sniffFormat(path: string): 'mat' | 'h5' | 'tif' {
  const head = readHead(path, 1024 + 8);
  const text = new TextDecoder('latin1').decode(head.subarray(0, 20));
  if (text.startsWith('MATLAB')) return 'mat'; // v7.3 too: HDF5 behind a MAT header, read by openMatFile
  if (hasHdf5Signature(head, 0) || hasHdf5Signature(head, 512) || hasHdf5Signature(head, 1024)) return 'h5';
  if (looksLikeTiff(head)) return 'tif';
  if (head.length === 0) throw new DataFormatError('truncated', 'file is empty', { file: path });
  throw new DataFormatError('bad-magic', 'not a MAT-file, HDF5 file or TIFF', { file: path });
}

/** Loads a .mat, PanCollection .h5 or a set of GeoTIFFs ({pan, ms, lms?, gt?}). */
export async function loadPansharpeningInput(source: string | TiffPaths, opts: LoadOptions = {}): Promise<PansharpeningInput> {
  let out: PansharpeningInput;
  if (typeof source !== 'string') {
    out = await loadTiffs(source);
  } else {
    const format = sniffFormat(source);
    if (format === 'tif') {
      throw new DataFormatError('bad-argument', 'a single GeoTIFF holds one image; pass { pan, ms } paths for a pansharpening input', { file: source });
    }
    out = format === 'mat' ? await loadMat(source) : await loadH5(source, opts.range);
    if (out.sensor === undefined) {
      const s = sensorFromPath(source);
      if (s) out.sensor = s;
    }
  }
  if (opts.range && out.format !== 'h5') throw new DataFormatError('bad-argument', 'range applies to .h5 files only');
  checkShapes(out, typeof source === 'string' ? source : source.pan);
  if (opts.dtype) {
    for (const k of ['gt', 'ms', 'lms', 'pan'] as const) {
      const a = out[k];
      if (a) out[k] = convertDType(a, opts.dtype);
    }
  }
  return out;
}

const MAT_NAMES: Readonly<Record<PanRole, readonly string[]>> = IMAGE_ROLE_NAMES;

async function loadMat(path: string): Promise<PansharpeningInput> {
  const f = await openMatFile(path);
  try {
    const pick = (role: PanRole): HostArray | undefined => {
      const name = MAT_NAMES[role].find((n) => f.has(n));
      return name === undefined ? undefined : f.read(name);
    };
    const raw: Partial<Record<PanRole, HostArray>> = {};
    for (const role of ['gt', 'pan', 'lms', 'ms'] as const) {
      const a = pick(role);
      if (a) raw[role] = a;
    }
    if (!raw.pan)
      throw new DataFormatError('missing-key', `no PAN variable (looked for ${MAT_NAMES.pan.join(', ')}; variables: ${f.names().join(', ')})`, { file: path });
    if (f.has('I_MS')) {
      const a = f.read('I_MS');
      const role = a.shape[0] === raw.pan.shape.at(-2) && a.shape[1] === raw.pan.shape.at(-1) ? 'lms' : 'ms';
      raw[role] ??= a;
    }
    if (!raw.ms && !raw.lms)
      throw new DataFormatError('missing-key', `no MS variable (looked for ms, lms, I_MS, I_MS_LR; variables: ${f.names().join(', ')})`, { file: path });
    // A batch when any multi-band array is 4-D (N×H×W×C); otherwise one H×W×C scene.
    const batch = [raw.gt, raw.ms, raw.lms].some((a) => a && a.shape.length === 4);
    const out: PansharpeningInput = { layout: batch ? 'NCHW' : 'CHW', pan: panToChannelFirst(raw.pan, batch, path), format: 'mat' };
    for (const role of ['gt', 'ms', 'lms'] as const) {
      const a = raw[role];
      if (a) out[role] = msToChannelFirst(a, batch, role, path);
    }
    if (f.has('sensor') && f.info('sensor').class === 'char') {
      const s = parseSensor(f.readString('sensor'));
      if (s) out.sensor = s;
    }
    return out;
  } finally {
    f.close();
  }
}

function msToChannelFirst(a: HostArray, batch: boolean, role: PanRole, file: string): HostArray {
  const nd = a.shape.length;
  if (batch && nd === 4) return permute(a, [0, 3, 1, 2]); // NHWC → NCHW
  if (!batch && nd === 3) return permute(a, [2, 0, 1]); // HWC → CHW
  if (!batch && nd === 2) return { ...a, shape: [1, ...a.shape] }; // single band
  throw new DataFormatError('shape', `'${role}' has shape [${a.shape}], expected ${batch ? 'N×H×W×C like the other arrays' : 'H×W×C'}`, { file, key: role });
}

function panToChannelFirst(a: HostArray, batch: boolean, file: string): HostArray {
  const s = a.shape;
  if (!batch && s.length === 2) return { ...a, shape: [1, s[0]!, s[1]!] };
  if (!batch && s.length === 3 && s[2] === 1) return { ...a, shape: [1, s[0]!, s[1]!] };
  if (batch && s.length === 3) return { ...a, shape: [s[0]!, 1, s[1]!, s[2]!] };
  if (batch && s.length === 4 && s[3] === 1) return { ...a, shape: [s[0]!, 1, s[1]!, s[2]!] };
  throw new DataFormatError('shape', `'pan' has shape [${s}], expected ${batch ? 'N×H×W' : 'H×W'}`, { file, key: 'pan' });
}

async function loadH5(path: string, range?: [number, number]): Promise<PansharpeningInput> {
  const f = await openPanCollection(path);
  try {
    const [i0, i1] = range ?? [0, f.length];
    const b = f.readBatch(i0, i1);
    const out: PansharpeningInput = { layout: 'NCHW', pan: b.pan, ms: b.ms, format: 'h5' };
    if (b.lms) out.lms = b.lms;
    if (b.gt) out.gt = b.gt;
    if (f.sensor) out.sensor = f.sensor;
    return out;
  } finally {
    f.close();
  }
}

async function loadTiffs(paths: TiffPaths): Promise<PansharpeningInput> {
  if (!paths || typeof paths.pan !== 'string') throw new DataFormatError('bad-argument', 'GeoTIFF input needs at least { pan, ms } paths');
  if (paths.ms === undefined && paths.lms === undefined)
    throw new DataFormatError('missing-key', 'GeoTIFF input needs an ms (or lms) path besides pan', { key: 'ms' });
  const pan = await readGeoTiff(paths.pan);
  const out: PansharpeningInput = { layout: 'CHW', pan: pan.image, georef: pan.georef, format: 'tif' };
  for (const role of ['ms', 'lms', 'gt'] as const) {
    const p = paths[role];
    if (p !== undefined) out[role] = (await readGeoTiff(p)).image;
  }
  const s = sensorFromPath(paths.pan);
  if (s) out.sensor = s;
  return out;
}

/** The arrays must describe one scene (or N) at two resolutions; sets `ratio`. */
function checkShapes(x: PansharpeningInput, file: string): void {
  const lead = x.layout === 'NCHW' ? 1 : 0;
  const fail = (msg: string, key: PanRole) => new DataFormatError('shape', msg, { file, key });
  const nd = lead + 3;
  for (const k of ['gt', 'ms', 'lms', 'pan'] as const) {
    const a = x[k];
    if (a && a.shape.length !== nd) throw fail(`'${k}' has shape [${a.shape}], expected ${x.layout}`, k);
  }
  const pan = x.pan.shape;
  if (pan[lead] !== 1) throw fail(`'pan' must have one band, has shape [${pan}]`, 'pan');
  const [H, W] = [pan[lead + 1]!, pan[lead + 2]!];
  const ref = x.ms ?? x.lms!;
  const C = ref.shape[lead]!;
  for (const k of ['gt', 'ms', 'lms'] as const) {
    const a = x[k];
    if (!a) continue;
    if (lead && a.shape[0] !== pan[0]) throw fail(`'${k}' has ${a.shape[0]} samples but 'pan' has ${pan[0]}`, k);
    if (a.shape[lead] !== C) throw fail(`'${k}' has ${a.shape[lead]} bands but '${x.ms ? 'ms' : 'lms'}' has ${C}`, k);
    if (k !== 'ms' && (a.shape[lead + 1] !== H || a.shape[lead + 2] !== W))
      throw fail(`'${k}' is ${a.shape[lead + 1]}×${a.shape[lead + 2]} but 'pan' is ${H}×${W}`, k);
  }
  if (x.ms) {
    const h = x.ms.shape[lead + 1]!,
      w = x.ms.shape[lead + 2]!;
    const ratio = H / h;
    if (!(Number.isInteger(ratio) && ratio >= 1 && W / w === ratio)) throw fail(`'pan' ${H}×${W} is not an integer multiple of 'ms' ${h}×${w}`, 'ms');
    x.ratio = ratio;
  }
}
