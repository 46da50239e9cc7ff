/**
 * Training straight from one original scene (an MS + PAN pair in a .mat or GeoTIFFs): tiles with a
 * spatial hold-out (lib/protocol/tiles.ts), at full resolution (no ground truth: self-supervised
 * stages, no-reference losses) or at reduced resolution (Wald's protocol: gt = the original MS), and
 * the held-out report that follows training (held-out-report.ts: the model against the classical
 * methods with the toolbox metrics), and for models that can sample (CrossDiff stage 1) how well
 * each denoiser predicts the other modality.
 */
import { fromHost, scope, type Tensor } from '../tensor.js';
import type { Module } from '../module.js';
import { ArrayDataset, train, type TrainOptions, type TrainResult } from '../train/index.js';
import { fullResolutionTiles, reducedResolutionTiles, type SceneTiles, type TileSet } from '../protocol/index.js';
import { loadPansharpeningInput, sensorScale } from '../data/index.js';
import { checkAborted, WorkflowOptionError } from './workflow-errors.js';
import { heldOutReport, type HeldOutReport, type Resolution } from './held-out-report.js';

export { heldOutReport, BORDER_CUT, type HeldOutReport, type ReportModel, type Resolution } from './held-out-report.js';

/** How a scene is cut into training and held-out tiles. */
export interface SceneOptions {
  resolution: Resolution;
  patch: number;
  stride?: number;
  holdout: number;
  heldOutPatch?: number;
  sensor?: string;
  scale?: number;
}

export interface SceneData {
  train: ArrayDataset;
  heldOut?: TileSet;
  sensor: string;
  scale: number;
  tiles: SceneTiles;
}

/** Reads one original scene and cuts it into training tiles (a dataset) and held-out tiles. */
export async function sceneData(path: string, o: SceneOptions): Promise<SceneData> {
  const input = await loadPansharpeningInput(path, { dtype: 'float32' });
  if (!input.ms || input.layout !== 'CHW')
    throw new WorkflowOptionError('scene', `scene: ${path} must hold one original MS + PAN pair (got ${input.layout}${input.ms ? '' : ' without ms'})`);
  const sensor = o.sensor ?? input.sensor;
  if (!sensor) throw new WorkflowOptionError('sensor', 'sensor is required: the file does not say which sensor it is');
  const scale = o.scale ?? sensorScale(sensor);
  const ms = fromHost(input.ms),
    pan = fromHost(input.pan);
  try {
    const opts = { patch: o.patch, stride: o.stride, holdout: o.holdout, heldOutPatch: o.heldOutPatch, ratio: input.ratio ?? 4, scale };
    const tiles = o.resolution === 'full' ? await fullResolutionTiles({ ms, pan }, opts) : await reducedResolutionTiles({ ms, pan, sensor }, opts);
    const t = tiles.train;
    return { train: new ArrayDataset({ ...t } as Record<string, typeof t.lms>), heldOut: tiles.heldOut, sensor, scale, tiles };
  } finally {
    ms.dispose();
    pan.dispose();
  }
}

/** PSNR (peak 1) of x against y, both in [0, 1]. */
async function psnr(x: Tensor, y: Tensor): Promise<number> {
  const [a, b] = (await Promise.all([x.data(), y.data()])) as [Float32Array, Float32Array];
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    se += d * d;
  }
  return 10 * Math.log10(1 / (se / a.length));
}

/**
 * Stage-1 validation of a cross-predictive diffusion model: DDIM samples of each denoiser on up to
 * `count` held-out tiles (P2M draws the MS given PAN, M2P draws PAN given the MS), PSNR against the real ones.
 */
export async function sampleReport(model: Module, set: TileSet, count = 4, steps = 20): Promise<Record<string, number>> {
  const n = Math.min(count, set.lms.shape[0]!);
  const take = (h: TileSet['lms']) => {
    const per = h.data.length / h.shape[0]!;
    return fromHost({ ...h, shape: [n, ...h.shape.slice(1)], data: (h.data as Float32Array).slice(0, n * per) });
  };
  return scope(async () => {
    const lms = take(set.lms),
      pan = take(set.pan);
    const out: Record<string, number> = {};
    for (const [net, real] of [
      ['p2m', lms],
      ['m2p', pan],
    ] as const) {
      const s = await model.call('sample', { lms, pan }, { net, sampler: 'ddim', steps, seed: 0 });
      out[`${net} PSNR (dB)`] = await psnr(s, real);
    }
    return out;
  });
}

/** The held-out part of a scene run: DDIM samples for a model that samples in stage 1, else the table against the baselines. */
export type SceneReport = { stage: number; samples: Record<string, number> } | ({ stage: number } & HeldOutReport);

/** A scene report as lines of text: the PSNR of the samples, or one line per method and table (as `specfuse train --scene` prints it). */
export function formatSceneReport(report: SceneReport): string[] {
  const values = (m: Record<string, number>, digits: number, sep: string) =>
    Object.entries(m)
      .map(([k, x]) => `${k} ${x.toFixed(digits)}`)
      .join(sep);
  if ('samples' in report) return [`• held-out tiles, DDIM samples (20 steps): ${values(report.samples, 2, ', ')}`];
  const { resolution } = report;
  return [
    ...Object.entries(report.methods).map(([name, m]) => `• held-out ${resolution} (${report.tiles} tiles) ${name.padEnd(11)} ${values(m, 4, '  ')}`),
    ...Object.entries(report.cut21 ?? {}).map(([name, m]) => `• held-out ${resolution}, 21-pixel border cut ${name.padEnd(11)} ${values(m, 4, '  ')}`),
  ];
}

/** The report that follows training on a scene (see SceneReport); undefined without held-out tiles. */
export async function sceneReport(
  model: Module,
  stage: number,
  scene: SceneData,
  resolution: Resolution,
  signal?: AbortSignal,
): Promise<SceneReport | undefined> {
  const set = scene.heldOut;
  if (!set) return undefined;
  checkAborted(signal);
  const selfSupervised = model.methods().includes('sample') && stage === 1;
  return selfSupervised
    ? { stage, samples: await sampleReport(model, set) }
    : { stage, ...(await heldOutReport(model, stage, set, resolution, scene.sensor, scene.scale, [], signal)) };
}

export interface TrainOnSceneOptions extends Omit<TrainOptions, 'data' | 'stage'>, SceneOptions {
  /** The scene file (.mat with I_MS/I_PAN, .h5, GeoTIFFs are read by loadPansharpeningInput). */
  scene: string;
  /** The stage to train (default, as train(): the model's current stage, else its default stage, the last). */
  stage?: number;
}

/**
 * Trains `model` on the training tiles of one scene and scores it on the held-out tiles (the
 * validation metrics, if asked for, are on DN with the scene's scale). `signal` stops training
 * after the current step (TrainResult.stopped 'aborted'; the report is then skipped).
 */
export async function trainOnScene(model: Module, options: TrainOnSceneOptions): Promise<{ result: TrainResult; report?: SceneReport; scene: SceneData }> {
  const { scene: path, resolution, patch, stride, holdout, heldOutPatch, sensor, scale, ...trainOptions } = options;
  const scene = await sceneData(path, { resolution, patch, stride, holdout, heldOutPatch, sensor, scale });
  const stage = options.stage ?? model.stage ?? model.defaultStage;
  const result = await train(model, {
    ...trainOptions,
    stage,
    data: scene.train,
    validation: trainOptions.validation ? { ...trainOptions.validation, scale: scene.scale } : undefined,
  });
  if (result.stopped === 'aborted') return { result, scene };
  return { result, report: await sceneReport(model, stage, scene, resolution, options.signal), scene };
}
