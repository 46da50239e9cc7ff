/**
 * Evaluating a pansharpening model against references with the toolbox metrics, on DN: the model
 * runs on whole images (fully convolutional CNNs), one at a time, beside EXP (the MS upsampled by
 * interp23tap); both are scored against the ground truth when the data has one (reduced
 * resolution), else from the MS and PAN (full resolution). Optionally writes a preview mosaic, the
 * fused images (.mat) and metrics.json into a folder.
 */
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { HostArray } from '../host.js';
import type { Module } from '../module.js';
import { cat, fromHost, scope, type Tensor } from '../tensor.js';
import { writeFileAtomic } from '../atomic.js';
import { exp } from '../baselines/index.js';
import { interp23tap } from '../protocol/index.js';
import { fullResolutionMetricsBatch, meanAndSpread, reducedResolutionMetricsBatch, stripConventions, type MeanAndSpread } from '../metrics/index.js';
import {
  encodePng,
  loadPansharpeningInput,
  openPanCollection,
  panel,
  parseSensor,
  renderGray,
  renderRgb,
  resizeNearest,
  sensorScale,
  sniffFormat,
  writeMatFile,
  type PansharpeningInput,
  type RgbaImage,
} from '../data/index.js';
import { countNonFinite, finitePolicy, type WarningSink } from './finite-values.js';
import { checkAborted, WorkflowInputError, WorkflowOptionError } from './workflow-errors.js';
import { createModel } from '../models/index.js';
import { describeDlpanCheckpoint, loadDlpanStateDict, type CnnModelName, type DlpanLoadReport } from '../models/cnn.js';
import { loadCheckpointFile } from '../checkpoint-formats/index.js';
import { runModel } from './run-model.js';

/** The released CNNs were trained at ratio 4 (PanNet's deconvolution has stride 4). */
export const EVALUATION_RATIO = 4;

/** GeoTIFF paths of evaluation data: the PAN, the MS or LMS, and optionally the ground truth. */
export interface EvaluationFiles {
  pan: string;
  ms?: string;
  lms?: string;
  gt?: string;
}

/** Loaded evaluation data: the images, how many the file holds, and the index of the first one loaded. */
export interface EvaluationData {
  input: PansharpeningInput;
  count: number;
  offset: number;
  /** The file (the PAN's for GeoTIFFs), for messages and the report. */
  name: string;
}

/**
 * Reads evaluation data: a .mat, a PanCollection .h5 (with `sample`, only that image: training
 * files are several GB) or GeoTIFFs.
 */
export async function readEvaluationData(source: string | EvaluationFiles, options: { sample?: number } = {}): Promise<EvaluationData> {
  const { sample } = options;
  const all = async (name: string, p: Promise<PansharpeningInput>) => {
    const input = await p;
    return { input, count: input.layout === 'NCHW' ? input.pan.shape[0]! : 1, offset: 0, name };
  };
  if (typeof source !== 'string') return all(source.pan, loadPansharpeningInput(source, { dtype: 'float32' }));
  if (sniffFormat(source) === 'tif') throw new WorkflowOptionError('data', `data: ${source} is a GeoTIFF: pass GeoTIFF input as { pan, ms, gt } files`);
  if (sample !== undefined && sniffFormat(source) === 'h5') {
    const f = await openPanCollection(source);
    const count = f.length;
    f.close();
    checkSample(sample, count, source);
    return { input: await loadPansharpeningInput(source, { dtype: 'float32', range: [sample, sample + 1] }), count, offset: sample, name: source };
  }
  return all(source, loadPansharpeningInput(source, { dtype: 'float32' }));
}

function checkSample(sample: number, count: number, name: string): void {
  if (sample < 0 || sample >= count)
    throw new WorkflowOptionError('sample', `sample: ${name} holds ${count} image${count === 1 ? '' : 's'}; ${sample} is out of range`);
}

/** [N, C, H, W] view of a loaded array (a single scene gets N = 1). */
const batched = (a: HostArray | undefined, layout: PansharpeningInput['layout']): HostArray | undefined =>
  a && (layout === 'CHW' ? { ...a, shape: [1, ...a.shape] } : a);

/** The MS band count of evaluation data. */
export const bandCount = (data: EvaluationData): number => (data.input.ms ?? data.input.lms)!.shape[data.input.layout === 'NCHW' ? 1 : 0]!;

/**
 * A released DLPan-Toolbox CNN for `data`: the checkpoint is read first and checked against the
 * data (which network, how many bands: a WorkflowInputError naming `weights` when it does not
 * fit), then the model is built and loaded strictly through the DLPan dialect, in eval mode.
 */
export async function loadReleasedCnn(
  weights: string,
  family: CnnModelName,
  data: EvaluationData,
): Promise<{ model: Module; report: DlpanLoadReport; bands: number }> {
  const bands = bandCount(data);
  const state = await loadCheckpointFile(weights);
  const found = describeDlpanCheckpoint(state);
  if (found && found.model !== family)
    throw new WorkflowInputError('weights', `weights: ${weights} holds a ${found.model} (${found.bands} bands), not a ${family}`);
  if (found && found.bands !== bands) {
    throw new WorkflowInputError(
      'weights',
      `weights: ${weights} is a ${found.bands}-band ${found.model} (e.g. ${found.bands === 8 ? 'WV3' : 'QB'}), but ${data.name} has ${bands}-band MS data`,
    );
  }
  if (bands !== 4 && bands !== 8) throw new Error(`${data.name}: ${bands}-band MS data; the released models take 4 or 8 bands`);
  const model = createModel({ model: family, bands });
  try {
    const report = loadDlpanStateDict(model, state);
    model.eval();
    return { model, report, bands };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** A DLPan load report as an evaluation records it (counts for what loaded, names for the rest). */
export function loadSummary(r: DlpanLoadReport): Record<string, unknown> {
  const { missing, unexpected, shapeMismatch, ignored, aliases } = r;
  return { loaded: r.loaded.length, missing, unexpected, shapeMismatch, ignored, aliases };
}

/**
 * The heading of an evaluation's table: the model on which data (images, sensor, bands, size,
 * scaling), how the weights loaded, and the conventions of the metrics.
 */
export function describeEvaluation(result: PansharpeningEvaluation, weights: string, report: DlpanLoadReport): string[] {
  const { count, samples, sensor, bands, bits, dimCut } = result;
  const [H, W] = result.size;
  const what = samples.length === count ? (count === 1 ? '' : `${count} images, mean±std; `) : `image ${samples[0]} of ${count}; `;
  const conventions =
    result.kind === 'reduced-resolution'
      ? `reduced resolution against the ground truth; toolbox metrics on DN, ratio ${EVALUATION_RATIO}, ${bits} bits, ${dimCut ? `border cut ${dimCut}` : 'no border cut'}, Q blocks 32`
      : `full resolution (no ground truth); toolbox metrics on DN, sensor ${sensor!.toUpperCase()} MTF, ratio ${EVALUATION_RATIO}, ${bits} bits, blocks 32`;
  return [
    `${result.model} on ${basename(result.data)} (${what}${sensor ? sensor.toUpperCase() + ', ' : ''}${bands} bands, ${H}×${W}; model inputs DN/${result.scale}, outputs ×${result.scale})`,
    `weights ${weights}: ${report.loaded.length} tensors loaded, 0 missing, 0 unexpected, 0 shape mismatches` +
      (report.aliases.length ? `; ${report.aliases.length} backbone.* aliases equal to their res* twins, ignored` : ''),
    `${conventions}; EXP = ${result.exp}\n`,
  ];
}

export interface EvaluatePansharpeningOptions {
  /** The model's name in the tables and file names (default: its family). */
  name?: string;
  /** Only image `sample` (0-based) of the data; default all, reported as mean±std. */
  sample?: number;
  /** The sensor when the data does not name it (needed at full resolution). */
  sensor?: string;
  /** The model sees DN / scale (default: the sensor's scale, 2047 for 11-bit data). */
  scale?: number;
  /** Radiometric resolution of the metrics (default 11; 10 for GF2). */
  bits?: number;
  /** Border cut of the reduced-resolution metrics (default 0; DLPan uses 21). */
  cut?: number;
  /** Replace non-finite input and output values by this (default: a NonFiniteError). */
  fillNonFinite?: number;
  /** Folder for <name>_preview.png, <name>_fused.mat and metrics.json (default: nothing written). */
  out?: string;
  /** Extra fields recorded in the result and metrics.json (the weights file and its load report, say). */
  record?: Record<string, unknown>;
  /** Named in the message about a non-finite output (the weights file). */
  weightsName?: string;
  onWarning?: WarningSink;
  signal?: AbortSignal;
}

/** What an evaluation found (the CLI prints it; metrics.json holds it). */
export interface PansharpeningEvaluation {
  model: string;
  data: string;
  sensor: string | null;
  bands: number;
  size: [number, number];
  scale: number;
  device: string;
  samples: number[];
  /** How many images the data holds. */
  count: number;
  kind: 'reduced-resolution' | 'full-resolution';
  ratio: number;
  bits: number;
  dimCut: number;
  exp: string;
  /** method -> metric -> mean (or the value, for one image) */
  metrics: Record<string, Record<string, number>>;
  /** method -> metric -> sample std (two or more images) */
  std?: Record<string, Record<string, number>>;
  perImage: Record<string, Record<string, unknown>[]>;
  conventions: unknown;
  files: string[];
  inferenceSeconds: number;
  seconds: number;
  [extra: string]: unknown;
}

/** `model` (built, weights loaded, on its device) and EXP on `data`, scored with the toolbox metrics. */
export async function evaluatePansharpening(model: Module, data: EvaluationData, options: EvaluatePansharpeningOptions = {}): Promise<PansharpeningEvaluation> {
  const t0 = performance.now();
  const { input, count, offset, name: dataName } = data;
  const modelName = options.name ?? model.spec.family;
  const fill = options.fillNonFinite;
  const cut = options.cut ?? 0;
  if (!Number.isInteger(cut) || cut < 0) throw new WorkflowOptionError('cut', `cut: expected 0 or more, got ${cut}`);
  if (options.scale !== undefined && !(Number.isFinite(options.scale) && options.scale > 0)) {
    throw new WorkflowOptionError('scale', `scale: expected a positive number, got '${options.scale}'`);
  }
  for (const k of ['ms', 'lms', 'pan', 'gt'] as const)
    finitePolicy(`the ${k.toUpperCase()} of ${dataName}`, input[k], fill, 'fix the data (e.g. fill or mask the bad pixels)', options.onWarning);
  let sensor: string | undefined;
  if (options.sensor !== undefined) {
    sensor = parseSensor(options.sensor);
    if (!sensor) throw new WorkflowOptionError('sensor', `sensor: unknown sensor '${options.sensor}' (known: WV3, WV2, WV4, QB, GF2, IKONOS, GeoEye1)`);
  } else {
    sensor = input.sensor;
  }
  const scale = options.scale ?? (sensor ? sensorScale(sensor) : 2047);
  const bits = options.bits ?? (sensor === 'gf2' ? 10 : 11);
  const RATIO = EVALUATION_RATIO;
  const gtAll = batched(input.gt, input.layout),
    msAll = batched(input.ms, input.layout);
  const lmsAll = batched(input.lms, input.layout),
    panAll = batched(input.pan, input.layout)!;
  const [, , H, W] = panAll.shape as [number, number, number, number];
  const bands = (msAll ?? lmsAll)!.shape[1]!;
  if (options.sample !== undefined) checkSample(options.sample, count, dataName);
  const indices = options.sample === undefined ? [...Array(count).keys()] : [options.sample];
  if (!msAll && model.spec.inputs.includes('ms')) throw new Error(`${modelName} needs the low-resolution MS ('ms' / I_MS_LR), which ${dataName} lacks`);
  if (H % RATIO || W % RATIO) throw new Error(`${dataName}: the PAN is ${H}×${W}; these models need sides that are multiples of ${RATIO}`);
  const device = model.device;

  return scope(async () => {
    const inferStart = performance.now();
    const images = await fuseImages(
      model,
      { msAll, lmsAll, panAll, gtAll },
      indices.map((index) => index - offset),
      scale,
      options.signal,
    );
    const inferenceSeconds = (performance.now() - inferStart) / 1000;
    let { fused } = images;
    {
      const host = await fused.toHost();
      const bad = countNonFinite(host);
      const weights = options.weightsName ? `the weights ${options.weightsName}` : 'the weights';
      finitePolicy(
        `${modelName}'s output`,
        host,
        fill,
        `the input is finite, so ${weights} are the likely cause (corrupt, or trained on other data)`,
        options.onWarning,
      );
      if (bad) fused = fromHost(host); // filled: the metrics and files see the filled values
    }
    const methods: [string, Tensor][] = [
      ['EXP', images.exp],
      [modelName, fused],
    ];
    if (!images.gt && !sensor)
      throw new WorkflowOptionError(
        'sensor',
        `sensor is required: ${dataName} has no ground truth, and the full-resolution metrics need the sensor's MTF (the file does not name it)`,
      );
    const { kind, perImage, conventions } = await scoreImages(methods, images, { sensor, bits, cut, msKey: input.ms ? 'ms' : 'lms', signal: options.signal });
    const summary: Record<string, MeanAndSpread> = Object.fromEntries(methods.map(([name]) => [name, meanAndSpread(perImage[name]!)]));
    const result: PansharpeningEvaluation = {
      model: modelName,
      ...options.record,
      data: dataName,
      sensor: sensor ?? null,
      bands,
      size: [H, W],
      scale,
      device,
      samples: indices,
      count,
      kind,
      ratio: RATIO,
      bits,
      dimCut: cut,
      exp: input.ms ? 'interp23tap(ms)' : "the file's lms",
      metrics: Object.fromEntries(methods.map(([name]) => [name, summary[name]!.values])),
      ...(indices.length > 1 ? { std: Object.fromEntries(methods.map(([name]) => [name, summary[name]!.spread!])) } : {}),
      perImage,
      conventions,
      files: [],
      inferenceSeconds,
      seconds: 0,
    };
    if (options.out) {
      await writeEvaluationFiles(options.out, result, { exp: images.exp, fused, gt: images.gt, pan: images.pan }, sensor);
      result.seconds = (performance.now() - t0) / 1000;
      const metricsFile = join(options.out, 'metrics.json');
      writeFileAtomic(metricsFile, JSON.stringify(result, null, 2) + '\n');
      result.files.push(metricsFile);
    }
    result.seconds = (performance.now() - t0) / 1000;
    return result;
  });
}

/** The images of an evaluation, [N, C, H, W] each: the model's output and EXP in DN, and the references. */
interface EvaluatedImages {
  fused: Tensor;
  exp: Tensor;
  gt?: Tensor;
  ms: Tensor;
  pan: Tensor;
}

/**
 * The model on images `positions` of the loaded arrays, one at a time (whole images: the CNNs are
 * fully convolutional), beside EXP (interp23tap of the MS; the file's LMS without one). Call
 * inside a scope().
 */
async function fuseImages(
  model: Module,
  all: Record<'msAll' | 'lmsAll' | 'panAll' | 'gtAll', HostArray | undefined>,
  positions: number[],
  scale: number,
  signal?: AbortSignal,
): Promise<EvaluatedImages> {
  const t = { ms: all.msAll && fromHost(all.msAll), lms: all.lmsAll && fromHost(all.lmsAll), pan: fromHost(all.panAll!), gt: all.gtAll && fromHost(all.gtAll) };
  const one = (x: Tensor | undefined, i: number) => x && x.slice(0, i, i + 1).contiguous();
  const lists: Record<keyof EvaluatedImages, Tensor[]> = { fused: [], exp: [], gt: [], ms: [], pan: [] };
  for (const i of positions) {
    checkAborted(signal);
    const ms = one(t.ms, i),
      pan = one(t.pan, i)!,
      gt = one(t.gt, i);
    const lms = one(t.lms, i) ?? (await interp23tap(ms!, EVALUATION_RATIO, { dtype: 'float32' }));
    lists.fused.push(await runModel(model, { lms, pan, ms }, { scale }));
    lists.exp.push(ms ? await exp({ ms, ratio: EVALUATION_RATIO, dtype: 'float32' }) : lms);
    if (gt) lists.gt.push(gt);
    lists.ms.push(ms ?? lms);
    lists.pan.push(pan);
  }
  const stackAll = (list: Tensor[]) => (list.length === 1 ? list[0]! : cat(list, 0));
  return {
    fused: stackAll(lists.fused),
    exp: stackAll(lists.exp),
    ms: stackAll(lists.ms),
    pan: stackAll(lists.pan),
    ...(lists.gt.length ? { gt: stackAll(lists.gt) } : {}),
  };
}

/**
 * The toolbox metrics of each method's images, per image, on DN in float64: against the ground
 * truth when there is one (reduced resolution), else from the MS and PAN (full resolution).
 */
async function scoreImages(
  methods: [string, Tensor][],
  images: EvaluatedImages,
  o: { sensor?: string; bits: number; cut: number; msKey: 'ms' | 'lms'; signal?: AbortSignal },
) {
  const f64 = (x: Tensor) => x.to('float64');
  const perImage: Record<string, Record<string, unknown>[]> = {};
  let conventions: unknown;
  const gt64 = images.gt && f64(images.gt);
  const full = gt64 ? undefined : { [o.msKey]: f64(images.ms), pan: f64(images.pan), sensor: o.sensor!, ratio: EVALUATION_RATIO, bits: o.bits };
  for (const [name, x] of methods) {
    checkAborted(o.signal);
    const r = gt64
      ? await reducedResolutionMetricsBatch(f64(x), gt64, { ratio: EVALUATION_RATIO, bits: o.bits, dimCut: o.cut })
      : await fullResolutionMetricsBatch(f64(x), full!);
    perImage[name] = r.map(stripConventions);
    conventions = r[0]!.conventions;
  }
  return { kind: gt64 ? ('reduced-resolution' as const) : ('full-resolution' as const), perImage, conventions };
}

/**
 * <model>_preview.png (PAN beside one mosaic EXP | model | GT of the first image, so that every
 * method shares one colour stretch) and <model>_fused.mat (sr: H×W×C, or N×H×W×C, DN); the paths
 * are added to result.files.
 */
async function writeEvaluationFiles(
  out: string,
  result: PansharpeningEvaluation,
  images: { exp: Tensor; fused: Tensor; gt?: Tensor; pan: Tensor },
  sensor: string | undefined,
): Promise<void> {
  mkdirSync(out, { recursive: true });
  const write = (name: string, data: Uint8Array | string) => {
    const p = join(out, name);
    writeFileAtomic(p, data);
    result.files.push(p);
  };
  await scope(async () => {
    const first = (t: Tensor) => t.select(0, 0);
    const mosaic = cat([first(images.exp), first(images.fused), ...(images.gt ? [first(images.gt)] : [])], 2);
    const zoom = (img: RgbaImage) =>
      img.height >= 256 ? img : resizeNearest(img, img.width * Math.ceil(256 / img.height), img.height * Math.ceil(256 / img.height));
    write(
      `${result.model}_preview.png`,
      encodePng(panel([zoom(renderGray(await first(images.pan).toHost())), zoom(renderRgb(await mosaic.toHost(), { sensor }))], { gap: 6 })),
    );
    const hwc = result.samples.length === 1 ? first(images.fused).permute([1, 2, 0]).contiguous() : images.fused.permute([0, 2, 3, 1]).contiguous();
    const p = join(out, `${result.model}_fused.mat`);
    writeMatFile(p, { sr: await hwc.toHost() });
    result.files.push(p);
  });
}
