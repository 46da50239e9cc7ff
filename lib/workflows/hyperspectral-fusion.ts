/**
 * MS/HS fusion (INFN): building the model for a simulated scene, training it on the scene's
 * patches, loading trained weights, and scoring it on held-out windows.
 *
 * Scoring a fusion model on held-out windows of a simulated image against the bicubic upsampling it
 * starts from. The model runs on each window enlarged by `context` HR pixels on every side (clipped
 * to the image) and its output is cut back to the window: the inputs around a test window are
 * observations (LR-HSI, MSI), not targets, and without them the crop's border would be judged on
 * zero padding that bicubic (computed on the whole image) never sees.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic.js';
import type { HostArray } from '../host.js';
import type { Module } from '../module.js';
import { fromHost, manualSeed, scope } from '../tensor.js';
import { createModel } from '../models/index.js';
import { resolveInfnOptions, type InfnConfig, type InfnOptions, type InfnPreset } from '../models/infn.js';
import { recordedConfig, recordedModel } from '../model-file.js';
import { loadWeights, saveWeights } from '../weights.js';
import { train, type TrainOptions, type TrainResult } from '../train/index.js';
import { hyperspectralMetricsBatch, meanMetrics, type HyperspectralMetrics } from '../metrics/hyperspectral-indices.js';
import type { MhifSet } from '../protocol/hyperspectral-simulation.js';
import { cropWindows, type Window } from '../protocol/windows.js';
import { checkAborted, WorkflowOptionError } from './workflow-errors.js';
import { runModel } from './run-model.js';
import type { MhifData } from './hyperspectral-fusion-data.js';
import { saveRunWeights, type RunFolder } from './run-folder.js';

export { prepareMhifData, type MhifData, type MhifDataOptions } from './hyperspectral-fusion-data.js';

export interface MhifScores {
  /** Mean over the windows. */
  model: HyperspectralMetrics;
  bicubic: HyperspectralMetrics;
  /** Per window. */
  perCrop: { model: HyperspectralMetrics[]; bicubic: HyperspectralMetrics[] };
  crops: number;
}

export interface EvaluateMhifOptions {
  ratio: number;
  /** HR pixels of input context around each window (a multiple of the ratio). Default 16. */
  context?: number;
  signal?: AbortSignal;
}

/** Runs `model` around each window of the simulated image `image` (N = 1) and scores it and `hsi_up` against `gt`. */
export async function evaluateMhif(model: Module, image: MhifSet<HostArray>, windows: readonly Window[], opts: EvaluateMhifOptions): Promise<MhifScores> {
  if (windows.length === 0) throw new RangeError('windows: no test windows');
  const r = opts.ratio;
  const ctx = opts.context ?? 16;
  if (!Number.isInteger(ctx) || ctx < 0 || ctx % r !== 0) throw new RangeError(`context: must be a non-negative multiple of the ratio ${r}, got ${ctx}`);
  const [, , H, W] = image.gt.shape as [number, number, number, number];
  const model_: HyperspectralMetrics[] = [],
    bicubic: HyperspectralMetrics[] = [];
  for (const win of windows) {
    checkAborted(opts.signal);
    const y0 = Math.max(0, win.y - ctx),
      x0 = Math.max(0, win.x - ctx);
    const y1 = Math.min(H, win.y + win.height + ctx),
      x1 = Math.min(W, win.x + win.width + ctx);
    const big: Window = { y: y0, x: x0, height: y1 - y0, width: x1 - x0 };
    await scope(async () => {
      const out = await runModel(model, {
        lrhsi: fromHost(cropWindows(image.lrhsi, [big], r)),
        msi: fromHost(cropWindows(image.msi, [big], 1)),
        hsi_up: fromHost(cropWindows(image.hsi_up, [big], 1)),
      });
      const fused = out
        .slice(2, win.y - y0, win.y - y0 + win.height)
        .slice(3, win.x - x0, win.x - x0 + win.width)
        .contiguous();
      const gt = fromHost(cropWindows(image.gt, [win], 1)),
        up = fromHost(cropWindows(image.hsi_up, [win], 1));
      model_.push((await hyperspectralMetricsBatch(fused, gt, { ratio: r }))[0]!);
      bicubic.push((await hyperspectralMetricsBatch(up, gt, { ratio: r }))[0]!);
    });
  }
  return { model: meanMetrics(model_), bicubic: meanMetrics(bicubic), perCrop: { model: model_, bicubic }, crops: windows.length };
}

/** One line per method: PSNR/SAM/ERGAS/SSIM. */
export function formatMhifScores(s: MhifScores, name = 'infn'): string {
  const row = (label: string, m: HyperspectralMetrics) =>
    `  ${label.padEnd(8)} PSNR ${m.PSNR.toFixed(3).padStart(7)} dB  SAM ${m.SAM.toFixed(4).padStart(7)}°  ERGAS ${m.ERGAS.toFixed(4).padStart(8)}  SSIM ${m.SSIM.toFixed(4)}`;
  return [`held-out windows: ${s.crops}`, row(name, s.model), row('bicubic', s.bicubic)].join('\n');
}

export interface HyperspectralModelOptions {
  /** INFN preset (default cave) and options over it. */
  preset?: InfnPreset;
  config?: Record<string, unknown>;
  /** Seeds the initial weights (default 0). */
  seed?: number;
  device?: string;
}

/** A fresh INFN for `data`'s bands and ratio (seeded), on `device`; `options` is its resolved config. */
export async function hyperspectralFusionModel(
  data: MhifData,
  ratio: number,
  o: HyperspectralModelOptions = {},
): Promise<{ model: Module; options: InfnOptions }> {
  const config = { model: 'infn', preset: o.preset ?? 'cave', ...o.config, bands: data.bands, ratio } as InfnConfig;
  const options = resolveInfnOptions(config);
  manualSeed(o.seed ?? 0); // the initial weights too, not only the batch order, follow the seed
  const model = createModel(config);
  if (o.device && o.device !== 'cpu') await model.to(o.device);
  return { model, options };
}

/**
 * Trains an INFN on `data`'s training patches (see train(); `signal` stops after the current
 * step) and returns the metadata its weights are saved with (the resolved config, so that the
 * file alone rebuilds the model).
 */
export async function trainHyperspectralFusion(
  model: Module,
  data: MhifData,
  options: Omit<TrainOptions, 'data'>,
): Promise<{ result: TrainResult; metadata: Record<string, string> }> {
  if (!data.trainSet) throw new WorkflowOptionError('data', 'data: prepared without training patches (trainPatches: false)');
  const result = await train(model, { ...options, data: data.trainSet });
  // the model's config as C++ holds it gives the layer widths as "256,128"; the INFN config takes the array
  const config = { ...model.config } as Record<string, unknown>;
  if (typeof config.mlpHidden === 'string') config.mlpHidden = config.mlpHidden.split(',').map(Number);
  return { result, metadata: { config: JSON.stringify({ ...resolveInfnOptions({ ...config, model: 'infn' } as InfnConfig), model: 'infn' }) } };
}

export interface HyperspectralFolderTrainingOptions extends Omit<TrainOptions, 'data' | 'checkpointDir' | 'logFile' | 'resume'>, HyperspectralModelOptions {
  /** The HR/LR ratio the data was simulated at. */
  ratio: number;
  /** Before the first step: the model built and its resolved options. */
  onStart?: (run: { model: Module; options: InfnOptions }) => void;
  /** After the weights of a run that was not stopped by `signal` are saved, before the scoring. */
  onSaved?: (result: TrainResult, weights: string) => void;
}

/**
 * A fresh INFN (hyperspectralFusionModel) trained on `data` in a run folder (run-folder.ts): its
 * weights saved with their config (final.safetensors, or aborted.safetensors when the loop was cut
 * short) and, unless `signal` stopped the run, the model and bicubic scored on the held-out
 * windows, written to metrics.json.
 */
export async function trainHyperspectralFusionInFolder(
  data: MhifData,
  folder: RunFolder,
  options: HyperspectralFolderTrainingOptions,
): Promise<{ result: TrainResult; weights: string; scores?: MhifScores }> {
  const { ratio, preset, config, onStart, onSaved, ...trainOptions } = options;
  const built = await hyperspectralFusionModel(data, ratio, { preset, config, seed: options.seed, device: options.device });
  const model = built.model;
  try {
    onStart?.(built);
    const { result, metadata } = await trainHyperspectralFusion(model, data, {
      ...trainOptions,
      checkpointDir: folder.checkpoints,
      logFile: folder.log,
      resume: folder.resume,
    });
    const weights = await saveRunWeights(folder.out, result, (path) => saveWeights(model, path, metadata));
    if (options.signal?.aborted) return { result, weights };
    onSaved?.(result, weights);
    const scores = await evaluateMhif(model, data.image, data.testWindows, { ratio: built.options.ratio });
    const record = { steps: result.steps, seconds: result.seconds, windows: data.testWindows, ...scores };
    writeFileAtomic(join(folder.out, 'metrics.json'), JSON.stringify(record, null, 2));
    return { result, weights, scores };
  } finally {
    model.dispose();
  }
}

/**
 * Trained INFN weights (loadHyperspectralFusionModel) scored on `data`: on its held-out windows,
 * or with `whole` on the whole image.
 */
export async function evaluateHyperspectralFusion(
  weights: string,
  data: MhifData,
  options: Omit<HyperspectralModelOptions, 'seed'> & EvaluateMhifOptions & { whole?: boolean },
): Promise<MhifScores> {
  const { ratio, whole, context, signal, ...modelOptions } = options;
  const model = await loadHyperspectralFusionModel(weights, data, ratio, modelOptions);
  try {
    const windows = whole ? [{ y: 0, x: 0, height: data.height, width: data.width }] : data.testWindows;
    return await evaluateMhif(model, data.image, windows, { ratio, context, signal });
  } finally {
    model.dispose();
  }
}

/**
 * The INFN config a weights file written by specfuse records (undefined for other files); a
 * WorkflowOptionError when it was trained at another ratio than `ratio` (checked before the data
 * is simulated at that ratio).
 */
export function recordedFusionConfig(weights: string, ratio: number): InfnConfig | undefined {
  const recorded = recordedModel(weights);
  const stored = recorded?.family === 'infn' ? (recordedConfig(recorded) as InfnConfig) : undefined;
  if (stored && (stored.ratio ?? 4) !== ratio)
    throw new WorkflowOptionError('ratio', `ratio: the weights were trained at ×${stored.ratio}, got ratio ${ratio}`);
  return stored;
}

/**
 * An INFN with trained weights for `data`: the config the weights file records (a file written by
 * specfuse), else `preset`/`config`; a ratio or band count that differs from the data's is a
 * WorkflowOptionError.
 */
export async function loadHyperspectralFusionModel(
  weights: string,
  data: MhifData,
  ratio: number,
  o: Omit<HyperspectralModelOptions, 'seed'> = {},
): Promise<Module> {
  const stored = recordedFusionConfig(weights, ratio);
  const config = stored ?? ({ model: 'infn', preset: o.preset ?? 'cave', ...o.config, bands: data.bands, ratio } as InfnConfig);
  if (config.bands !== undefined && config.bands !== data.bands)
    throw new WorkflowOptionError('data', `data: the weights are for ${config.bands} bands, the cube has ${data.bands}`);
  const model = createModel(config);
  try {
    await loadWeights(model, weights);
    if (o.device && o.device !== 'cpu') await model.to(o.device);
    model.eval();
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}
