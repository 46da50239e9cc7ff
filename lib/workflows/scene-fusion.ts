/**
 * Fusing a whole scene with a trained model, from files to a file: read the MS + PAN (a .mat, a
 * PanCollection .h5's first sample, or GeoTIFFs), choose the scale (the sensor's DN range), check
 * for non-finite pixels, compute the LMS when the input has none (interp23tap), run the model on
 * overlapping tiles (tiled-fusion.ts), and write the result in the format the file name asks for
 * (GeoTIFF with the input's georeference, PanCollection-style .h5, or MATLAB .mat) with a PNG preview.
 */
import { basename, extname } from 'node:path';
import type { HostArray } from '../host.js';
import type { Module } from '../module.js';
import { fromHost, scope } from '../tensor.js';
import { interp23tap } from '../protocol/index.js';
import { checkWritableFile } from '../atomic.js';
import { loadModel } from '../model-file.js';
import {
  loadPansharpeningInput,
  sensorScale,
  sniffFormat,
  writeGeoTiff,
  writeH5Array,
  writeMatFile,
  writePreviewPng,
  type GeoReference,
} from '../data/index.js';
import { finitePolicy, warnIfReflectance, type WarningSink } from './finite-values.js';
import { checkAborted, WorkflowOptionError } from './workflow-errors.js';
import { fuseScene } from './tiled-fusion.js';

/** GeoTIFF paths of a scene: the PAN and the MS (or an LMS already on the PAN grid). */
export interface SceneFiles {
  pan: string;
  ms?: string;
  lms?: string;
}

export interface ReadSceneOptions {
  /** The sensor when the file does not name it (sets the scale and the preview's bands). */
  sensor?: string;
  /** The model sees input / scale (default: the sensor's DN scale, 2047 for 11-bit data). */
  scale?: number;
  /** Replace non-finite input values by this (default: a NonFiniteError). */
  fillNonFinite?: number;
  onWarning?: WarningSink;
}

/** One scene in DN, as host arrays [C, H, W] (the first image of a file holding several). */
export interface FusionScene {
  ms: HostArray;
  pan: HostArray;
  lms?: HostArray;
  sensor?: string;
  scale: number;
  /** Whether the scale was given rather than taken from the sensor. */
  scaleGiven: boolean;
  georef?: GeoReference;
  /** The file it came from (the PAN's for GeoTIFFs), for messages. */
  name: string;
}

/** The first image of an N×C×H×W array (a file of several: PanCollection test sets). */
function firstImage(a: HostArray | undefined, batched: boolean): HostArray | undefined {
  if (!a || !batched) return a;
  return { ...a, shape: a.shape.slice(1), data: a.data.subarray(0, a.data.length / a.shape[0]!) as HostArray['data'] };
}

/** Reads the scene a fusion runs on (see ReadSceneOptions); a GeoTIFF path alone is refused (it holds one image). */
export async function readFusionScene(source: string | SceneFiles, options: ReadSceneOptions = {}): Promise<FusionScene> {
  if (options.scale !== undefined && !(Number.isFinite(options.scale) && options.scale > 0)) {
    throw new WorkflowOptionError('scale', `scale: expected a positive number, got '${options.scale}'`);
  }
  if (typeof source === 'string' && sniffFormat(source) === 'tif') {
    throw new WorkflowOptionError('input', `input: ${source} is a GeoTIFF, which holds one image: pass GeoTIFF input as { pan, ms } files`);
  }
  const name = typeof source === 'string' ? source : source.pan;
  const input = await loadPansharpeningInput(source, { dtype: 'float32' });
  const sensor = options.sensor ?? input.sensor;
  if (!sensor && options.scale === undefined)
    throw new WorkflowOptionError('sensor', 'sensor: the input does not name its sensor (give the sensor, or the scale)');
  const scale = options.scale ?? sensorScale(String(sensor));
  const batched = input.layout === 'NCHW';
  const ms = firstImage(input.ms, batched),
    pan = firstImage(input.pan, batched)!,
    lms = firstImage(input.lms, batched);
  if (!ms) throw new WorkflowOptionError('input', `input: no MS (I_MS_LR / ms) in ${name}`);
  const fix = 'fix the input (e.g. fill or mask the bad pixels)';
  finitePolicy(`the MS of ${name}`, ms, options.fillNonFinite, fix, options.onWarning);
  finitePolicy(`the PAN of ${name}`, pan, options.fillNonFinite, fix, options.onWarning);
  finitePolicy(`the LMS of ${name}`, lms, options.fillNonFinite, fix, options.onWarning);
  warnIfReflectance([ms, pan], scale, options.scale !== undefined, options.onWarning);
  return { ms, pan, lms, sensor: sensor ? String(sensor) : undefined, scale, scaleGiven: options.scale !== undefined, georef: input.georef, name };
}

export interface FuseOptions {
  /** Tile step on the PAN grid (default: half the model's patch). */
  stride?: number;
  /** Tiles per forward (default 16). */
  batchSize?: number;
  /** Replace non-finite output values by this (default: a NonFiniteError). */
  fillNonFinite?: number;
  onWarning?: WarningSink;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** The weights file, named in the message about a non-finite output. */
  weightsName?: string;
}

/**
 * `model` (on its device, in eval mode) over the whole scene: returns the fused image [C, H, W] in
 * DN (float32, host). The LMS is the scene's, else interp23tap of its MS at ratio 4.
 */
export async function fuseFusionScene(model: Module, scene: FusionScene, options: FuseOptions = {}): Promise<HostArray> {
  checkAborted(options.signal);
  const host = await scope(async () => {
    const ms = fromHost(scene.ms);
    const lms = scene.lms ? fromHost(scene.lms) : await interp23tap(ms, 4, { dtype: 'float32' });
    const pan = fromHost(scene.pan);
    const s = scene.scale;
    const fused = await fuseScene(
      model,
      { ms: ms.div(s), lms: lms.div(s), pan: pan.div(s) },
      {
        stride: options.stride,
        batchSize: options.batchSize,
        onProgress: options.onProgress,
        signal: options.signal,
      },
    );
    return fused.mul(s).toHost();
  });
  finitePolicy(
    'the fused image',
    host,
    options.fillNonFinite,
    `the input is finite, so the weights${options.weightsName ? ` ${options.weightsName}` : ''} are the likely cause (corrupt, or trained on other data)`,
    options.onWarning,
  );
  return host;
}

/** The writers of fused images, by file extension. */
export const FUSED_FORMATS: Readonly<Record<string, 'tif' | 'h5' | 'mat'>> = { '.tif': 'tif', '.tiff': 'tif', '.h5': 'h5', '.mat': 'mat' };

/** The format a fused image is written in for `path`, or a WorkflowOptionError naming the ones there are. */
export function fusedFormat(path: string): 'tif' | 'h5' | 'mat' {
  const format = FUSED_FORMATS[extname(path).toLowerCase()];
  if (!format) throw new WorkflowOptionError('out', `out: no writer for '${extname(path) || basename(path)}': give a .tif, .tiff, .h5 or .mat file name`);
  return format;
}

/** The PNG preview written beside a fused image. */
export const previewPath = (out: string): string => out.slice(0, -extname(out).length) + '.png';

/**
 * Writes a fused image [C, H, W] (DN) whole or not at all: GeoTIFF (with `georef`), .h5 (dataset
 * 'sr', 1×C×H×W as PanCollection) or .mat (variable 'sr', MATLAB's H×W×C), and its PNG preview.
 */
export async function writeFusedImage(
  out: string,
  image: HostArray,
  options: { georef?: GeoReference; sensor?: string } = {},
): Promise<{ out: string; preview: string }> {
  const format = fusedFormat(out);
  if (format === 'h5') {
    await writeH5Array(out, 'sr', { ...image, shape: [1, ...image.shape] });
  } else if (format === 'mat') {
    const hwc = await scope(() => fromHost(image).permute([1, 2, 0]).contiguous().toHost());
    writeMatFile(out, { sr: hwc });
  } else {
    writeGeoTiff(out, image, { georef: options.georef });
  }
  const preview = previewPath(out);
  writePreviewPng(preview, image, { sensor: options.sensor });
  return { out, preview };
}

export interface FuseSceneFileOptions extends ReadSceneOptions, FuseOptions {
  /** The scene: a .mat / .h5 file, or GeoTIFF paths. */
  input: string | SceneFiles;
  /** Where the fused image goes (.tif, .tiff, .h5 or .mat); checked before any work. */
  out: string;
  /** A model, or a weights file written by specfuse (it records its model: see loadModel). */
  model: Module | string;
  /** Where the model runs (default: where it is; 'cpu' for a file). */
  device?: string;
}

/**
 * The whole fusion of a scene from files to a file (readFusionScene, fuseFusionScene,
 * writeFusedImage). A model given as a file is built from its record and freed at the end.
 */
export async function fuseSceneFile(options: FuseSceneFileOptions): Promise<{ out: string; preview: string; shape: number[] }> {
  fusedFormat(options.out);
  checkWritableFile(options.out, 'out');
  const scene = await readFusionScene(options.input, options);
  const owned = typeof options.model === 'string';
  const model = typeof options.model === 'string' ? (await loadModel(options.model)).model : options.model;
  try {
    if (options.device && options.device !== model.device) await model.to(options.device);
    model.eval();
    const fused = await fuseFusionScene(model, scene, { weightsName: typeof options.model === 'string' ? options.model : undefined, ...options });
    checkAborted(options.signal);
    return { ...(await writeFusedImage(options.out, fused, { georef: scene.georef, sensor: scene.sensor })), shape: fused.shape };
  } finally {
    if (owned) model.dispose();
  }
}
