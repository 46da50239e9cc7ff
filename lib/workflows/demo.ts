/**
 * The demo (`specfuse demo`): PanAdapter trained end to end on the CPU in a few minutes.
 * Each numbered step below is one function; runDemo runs them in order.
 *
 * 1. Data: procedural WorldView-3-like scenes (lib/demo/scene.ts) observed through the sensor (MS =
 *    MTF blur + decimation by 4; PAN at full resolution), or a user's full-resolution MS + PAN pair
 *    (`data`), split spatially into a training part and a held-out part.
 * 2. Wald's protocol turns the full-resolution pairs into a reduced-resolution training set
 *    (64×64 patches, stride 32, flips) whose ground truth is the observed MS.
 * 3. Tiny PanAdapter: stage 1 (SSPEN, projections, INR tail), then stage 2 (adapters) from it.
 * 4. Evaluation on held-out 64×64 tiles against EXP, BT-H and GSA with the toolbox metrics,
 *    and a report: metrics table (Markdown and JSON), loss curves (SVG) and before/after previews (PNG).
 */
import { mkdirSync } from 'node:fs';
import { writeFileAtomic } from '../atomic.js';
import { join } from 'node:path';
import type { HostArray } from '../host.js';
import { cat, fromHost, scope, zeros, type Tensor, manualSeed } from '../tensor.js';
import { createModel } from '../models/index.js';
import type { Module } from '../module.js';
import { train, ArrayDataset, type Progress, type TrainResult } from '../train/index.js';
import { saveWeights } from '../weights.js';
import { decimate, degrade, disposeSet, makeWaldDataset, mtfFilter, type WaldSet } from '../protocol/index.js';
import { btH, exp, gsa } from '../baselines/index.js';
import { meanAndSpread, reducedResolutionMetricsBatch, type ReducedResolutionMetrics } from '../metrics/index.js';
import { loadPansharpeningInput, panel, encodePng, renderRgb, renderGray, resizeNearest, sensorScale, type RgbaImage } from '../data/index.js';
import { lineChartSvg } from '../report/svg.js';
import { makeScene } from '../demo/synthetic-scene.js';
import { checkAborted, WorkflowOptionError } from './workflow-errors.js';
import { runModel } from './run-model.js';
import { fuseScene, gridTiles } from './tiled-fusion.js';

export interface DemoOptions {
  outDir: string;
  /** A full-resolution MS + PAN file (.mat with I_MS/I_PAN, .h5, GeoTIFF) instead of synthetic scenes. */
  data?: string;
  /** Sensor of `data` when the file does not say (WV3, WV2, QB, GF2, IKONOS, ...). */
  sensor?: string;
  seed?: number;
  stage1Steps?: number;
  stage2Steps?: number;
  batchSize?: number;
  /** Synthetic scenes: PAN side and number of training scenes. */
  sceneSize?: number;
  scenes?: number;
  device?: string;
  log?: (line: string) => void;
  onProgress?: (p: Progress) => void;
  /** Stops training after the current step and the demo before its next step (the signal's reason is thrown). */
  signal?: AbortSignal;
}

export interface DemoResult {
  table: string;
  metrics: Record<string, Record<string, { mean: number; std: number }>>;
  files: string[];
  seconds: number;
  stages: { 1: TrainResult; 2: TrainResult };
}

interface Pair {
  ms: Tensor;
  pan: Tensor;
}

const METHODS = ['EXP', 'BT-H', 'GSA', 'PanAdapter stage 1', 'PanAdapter stage 2'] as const;

async function syntheticPairs(sizes: number[], seed: number): Promise<Pair[]> {
  const out: Pair[] = [];
  for (const [i, size] of sizes.entries()) {
    const scene = makeScene(size, seed + i, 8);
    const ideal = fromHost(scene.ms);
    const idealF = ideal.to('float32');
    // what the MS sensor records: its MTF blur, then one sample in four along each axis
    const blurred = await mtfFilter(idealF, 'WV3', 4, { dtype: 'float32' });
    const ms = await decimate(blurred, 4, { dtype: 'float32' });
    const pan = fromHost(scene.pan).to('float32');
    for (const t of [ideal, idealF, blurred]) t.dispose();
    out.push({ ms, pan });
  }
  return out;
}

/** Crops rows [r0, r1) of an MS (MS grid) and the matching PAN rows. */
function cropRows(p: Pair, r0: number, r1: number, ratio = 4): Pair {
  return { ms: p.ms.slice(1, r0, r1).contiguous(), pan: p.pan.slice(1, r0 * ratio, r1 * ratio).contiguous() };
}

async function userPairs(path: string, sensorArg: string | undefined): Promise<{ train: Pair; test: Pair; sensor: string }> {
  const input = await loadPansharpeningInput(path, { dtype: 'float32' });
  if (!input.ms) throw new RangeError(`data: ${path} has no full-resolution MS (I_MS / ms) next to its PAN`);
  if (input.layout !== 'CHW') throw new RangeError(`data: ${path} holds a batch of patches; the demo wants one full-resolution scene (MS + PAN)`);
  const sensor = sensorArg ?? input.sensor;
  if (!sensor) throw new WorkflowOptionError('sensor', 'sensor: the file does not name its sensor: give the sensor (WV3, WV2, QB, GF2, IKONOS, ...)');
  const ms = fromHost(input.ms);
  const pan = fromHost(input.pan);
  const h = ms.shape[1]!;
  // 3/4 of the rows for training, the rest held out; both multiples of 16 so Wald's protocol fits
  const cut = Math.floor((h * 3) / 4 / 16) * 16;
  const end = Math.floor(h / 16) * 16;
  if (end - cut < 64) throw new RangeError(`data: the scene is too small for a held-out part (MS ${h} rows; need at least 320)`);
  const whole = { ms, pan };
  const train = cropRows(whole, 0, cut);
  const test = cropRows(whole, cut, end);
  ms.dispose();
  pan.dispose();
  return { train, test, sensor: String(sensor).toUpperCase() };
}

/** 1. The training scenes and the held-out one, and their sensor. */
async function demoData(options: DemoOptions, seed: number, log: (line: string) => void): Promise<{ sensor: string; trainPairs: Pair[]; testPair: Pair }> {
  if (options.data) {
    log(`reading ${options.data}`);
    const u = await userPairs(options.data, options.sensor);
    return { sensor: u.sensor, trainPairs: [u.train], testPair: u.test };
  }
  const size = options.sceneSize ?? 512;
  const count = options.scenes ?? 5;
  // the held-out scene is twice as wide and high: 16 test tiles after Wald's protocol
  log(`making ${count} synthetic WorldView-3-like training scenes (${size}×${size} PAN, 8 bands) and a ${2 * size}×${2 * size} held-out one`);
  const pairs = await syntheticPairs([...Array.from({ length: count }, () => size), 2 * size], seed);
  return { sensor: 'WV3', trainPairs: pairs.slice(0, count), testPair: pairs[count]! };
}

/** 2. Wald's protocol: reduced-resolution training and validation patches, on the model's scale. */
async function waldPatches(pairs: Pair[], sensor: string, scale: number, seed: number): Promise<{ trainData: ArrayDataset; validData?: ArrayDataset }> {
  const sets: WaldSet[] = [];
  const validSets: WaldSet[] = [];
  for (const p of pairs) {
    const d = await makeWaldDataset({ ms: p.ms, pan: p.pan, sensor, patch: 64, stride: 32, flips: true, split: 0.1, seed, dtype: 'float32' });
    sets.push(d.train);
    if (d.valid) validSets.push(d.valid);
  }
  const joinSets = async (list: WaldSet[]): Promise<Record<string, HostArray>> => {
    const outArrays: Record<string, HostArray> = {};
    for (const k of ['gt', 'lms', 'ms', 'pan'] as const)
      outArrays[k] = await scope(() =>
        cat(
          list.map((s) => s[k]),
          0,
        )
          .div(scale)
          .toHost(),
      );
    return outArrays;
  };
  try {
    const trainData = new ArrayDataset(await joinSets(sets));
    const validData = validSets.length ? new ArrayDataset(await joinSets(validSets)) : undefined;
    return { trainData, validData };
  } finally {
    for (const s of [...sets, ...validSets]) disposeSet(s);
  }
}

/** The tiny PanAdapter, starting from EXP exactly (see below). */
function demoModel(bands: number): Module {
  const model: Module = createModel({ model: 'panadapter', preset: 'tiny', bands });
  // Start from EXP exactly: zero the tail's output layer, so the residual on LMS begins at 0 and
  // training only moves away from the interpolated MS where it helps (an initialisation choice of the
  // demo; the architecture is unchanged).
  scope(() => {
    const zeroed: Record<string, Tensor> = {};
    for (const p of model.namedParameters().filter((q) => q.name.startsWith('tail2.net.4.'))) zeroed[p.name] = zeros(p.shape);
    model.loadTensors(zeroed);
  });
  return model;
}

/** The model on the held-out scene's non-overlapping 64×64 tiles, in DN. */
function heldOutTiles(model: Module, test: WaldSet, scale: number): Promise<Tensor> {
  return scope(() => runModel(model, { lms: gridTiles(test.lms), pan: gridTiles(test.pan), ms: gridTiles(test.ms, 64, 4) }, { scale }));
}

/** 3. Stage 1, then stage 2 from it; each saved, each scored on the held-out tiles. */
async function trainStages(
  model: Module,
  o: {
    trainData: ArrayDataset;
    validData?: ArrayDataset;
    test: WaldSet;
    scale: number;
    out: string;
    seed: number;
    batchSize: number;
    device: string;
    options: DemoOptions;
    log: (line: string) => void;
  },
) {
  const { options, out } = o;
  const common = {
    data: o.trainData,
    valid: o.validData,
    batchSize: o.batchSize,
    seed: o.seed,
    augment: true,
    device: o.device,
    onProgress: options.onProgress,
    signal: options.signal,
  };
  const stages = [
    {
      stage: 1,
      steps: options.stage1Steps ?? 240,
      lr: 2e-3,
      minLr: 2e-4,
      line: () => `stage 1: SSPEN + projections + INR tail (${model.parameterCounts().total.toLocaleString('en-US')} parameters in the tiny model)`,
    },
    {
      stage: 2,
      steps: options.stage2Steps ?? 240,
      lr: 1e-3,
      minLr: 1e-4,
      line: () => `stage 2: adapters, a_proj, b_proj, tail (${model.parameterCounts(2).trainable} trainable after setStage(2))`,
    },
  ];
  const results: TrainResult[] = [],
    heldOut: Tensor[] = [];
  for (const s of stages) {
    o.log(s.line());
    const r = await train(model, {
      ...common,
      stage: s.stage,
      steps: s.steps,
      lr: s.lr,
      schedule: { kind: 'cosine', warmup: 10, minLr: s.minLr },
      evalEvery: 40,
      logFile: join(out, `train-stage${s.stage}.jsonl`),
    });
    if (r.stopped === 'aborted') checkAborted(options.signal);
    await saveWeights(model, join(out, `panadapter-tiny-stage${s.stage}.safetensors`), { stage: String(s.stage) });
    results.push(r);
    heldOut.push(await heldOutTiles(model, o.test, o.scale));
  }
  return { s1: results[0]!, s2: results[1]!, stage1Out: heldOut[0]!, stage2Out: heldOut[1]! };
}

type DemoMetric = 'SAM' | 'ERGAS' | 'Q2n' | 'SCC' | 'Q';
const DEMO_METRICS: DemoMetric[] = ['SAM', 'ERGAS', 'Q2n', 'SCC', 'Q'];

/** 4. Every method on the held-out tiles: the toolbox metrics per tile, mean ± std, and the Markdown table. */
async function scoreMethods(outputs: Record<string, Tensor>, gtTiles: Tensor, bands: number) {
  const results: Record<string, ReducedResolutionMetrics<DemoMetric>[]> = {};
  for (const name of METHODS) {
    results[name] = await scope(() =>
      reducedResolutionMetricsBatch<DemoMetric>(outputs[name]!.to('float64'), gtTiles.to('float64'), { ratio: 4, bits: 11, dimCut: 0, metrics: DEMO_METRICS }),
    );
  }
  const metrics: DemoResult['metrics'] = {};
  for (const name of METHODS) {
    const s = meanAndSpread(results[name]!);
    metrics[name] = Object.fromEntries(Object.entries(s.values).map(([k, mean]) => [k, { mean, std: s.spread![k]! }]));
  }
  const arrows: Record<string, string> = { SAM: '↓', ERGAS: '↓', Q2n: '↑', SCC: '↑', Q: '↑' };
  const table = [
    `| method | ${DEMO_METRICS.map((c) => `${c === 'Q2n' ? (bands === 8 ? 'Q8' : 'Q4') : c} ${arrows[c]}`).join(' | ')} |`,
    `|---|${DEMO_METRICS.map(() => '---').join('|')}|`,
    ...METHODS.map((m) => `| ${m} | ${DEMO_METRICS.map((c) => `${metrics[m]![c]!.mean.toFixed(4)} ± ${metrics[m]![c]!.std.toFixed(4)}`).join(' | ')} |`),
  ].join('\n');
  return { metrics, table, conventions: results.EXP![0]!.conventions };
}

/** 5a. The figures: loss curves (SVG), per-tile previews and the whole held-out scene (PNG). */
async function writeFigures(
  write: (name: string, data: Uint8Array | string) => void,
  o: {
    s1: TrainResult;
    s2: TrainResult;
    outputs: Record<string, Tensor>;
    gtTiles: Tensor;
    test: WaldSet;
    expScene: Tensor;
    model: Module;
    scale: number;
    sensor: string;
  },
): Promise<void> {
  const { s1, s2, test, sensor, scale } = o;
  const curve = (r: TrainResult, offset: number) => r.losses.map((l) => [l.step + offset, l.loss] as [number, number]);
  const validCurve = (r: TrainResult, offset: number) => r.valid.map((l) => [l.step + offset, l.loss] as [number, number]);
  write(
    'loss-curves.svg',
    lineChartSvg(
      [
        { label: 'stage 1 train', points: curve(s1, 0) },
        { label: 'stage 1 validation', points: validCurve(s1, 0), markers: true },
        { label: 'stage 2 train', points: curve(s2, s1.steps) },
        { label: 'stage 2 validation', points: validCurve(s2, s1.steps), markers: true },
      ],
      { title: 'PanAdapter tiny: MSE loss', xLabel: 'training step', yLabel: 'MSE loss (log scale)', logY: true },
    ),
  );
  const zoom = (img: RgbaImage) => resizeNearest(img, img.width * 3, img.height * 3);
  await scope(async () => {
    // before/after: one row per held-out tile; PAN, then EXP | BT-H | GSA | PanAdapter | ground truth
    // rendered as one mosaic, so every method shares the same colour stretch
    const panTiles = gridTiles(test.pan);
    const shown = Math.min(4, o.gtTiles.shape[0]!);
    const order = ['EXP', 'BT-H', 'GSA', 'PanAdapter stage 2'] as const;
    const msRows: Tensor[] = [],
      panRows: Tensor[] = [];
    for (let i = 0; i < shown; i++) {
      msRows.push(cat([...order.map((m) => o.outputs[m]!.select(0, i)), o.gtTiles.select(0, i)], 2));
      panRows.push(panTiles.select(0, i));
    }
    write(
      'previews.png',
      encodePng(panel([zoom(renderGray(await cat(panRows, 1).toHost())), zoom(renderRgb(await cat(msRows, 1).toHost(), { sensor }))], { gap: 6 })),
    );
    const fusedWhole = await fuseScene(o.model, { lms: test.lms.div(scale), pan: test.pan.div(scale), ms: test.ms.div(scale) });
    const sceneMosaic = cat([o.expScene, fusedWhole.mul(scale), test.gt], 2);
    write('scene.png', encodePng(zoom(renderRgb(await sceneMosaic.toHost(), { sensor }))));
  });
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const t0 = performance.now();
  const log = options.log ?? (() => {});
  const out = options.outDir;
  mkdirSync(out, { recursive: true });
  const seed = options.seed ?? 1;
  const device = options.device ?? 'cpu';
  const batchSize = options.batchSize ?? 8;
  manualSeed(seed);

  const { sensor, trainPairs, testPair } = await demoData(options, seed, log);
  const scale = sensorScale(sensor);
  const bands = trainPairs[0]!.ms.shape[0]!;
  checkAborted(options.signal);
  log(`Wald's protocol (${sensor} MTF, ratio 4): reduced-resolution patches 64×64, stride 32, flips`);
  const { trainData, validData } = await waldPatches(trainPairs, sensor, scale, seed);
  log(`training patches: ${trainData.length}, validation patches: ${validData?.length ?? 0}`);
  const test = await degrade({ ms: testPair.ms, pan: testPair.pan, sensor, dtype: 'float32' });
  for (const p of [...trainPairs, testPair]) {
    p.ms.dispose();
    p.pan.dispose();
  }

  const model = demoModel(bands);
  try {
    // every tensor of the training and scoring below is freed when it ends (only numbers come out)
    return await scope(async () => {
      if (device !== 'cpu') await model.to(device);
      const { s1, s2, stage1Out, stage2Out } = await trainStages(model, { trainData, validData, test, scale, out, seed, batchSize, device, options, log });
      checkAborted(options.signal);

      log('evaluating on held-out tiles');
      const base = { ms: test.ms, pan: test.pan, lms: test.lms, sensor, ratio: 4 };
      const scenes: Record<string, Tensor> = { EXP: await exp(base), 'BT-H': await btH(base), GSA: await gsa(base) };
      const outputs: Record<string, Tensor> = { 'PanAdapter stage 1': stage1Out, 'PanAdapter stage 2': stage2Out };
      for (const name of ['EXP', 'BT-H', 'GSA']) outputs[name] = gridTiles(scenes[name]!);
      const gtTiles = gridTiles(test.gt);
      const { metrics, table, conventions } = await scoreMethods(outputs, gtTiles, bands);
      const n = gtTiles.shape[0]!;

      // ---- 5. report files (atomic, like the weights: an interrupted demo never leaves a half-written one)
      const files: string[] = [];
      const write = (name: string, data: Uint8Array | string) => {
        const p = join(out, name);
        writeFileAtomic(p, data);
        files.push(p);
      };
      await writeFigures(write, { s1, s2, outputs, gtTiles, test, expScene: scenes.EXP!, model, scale, sensor });
      const seconds = (performance.now() - t0) / 1000;
      const report = [
        '# specfuse demo: tiny PanAdapter, stage 1 then stage 2',
        '',
        `Data: ${options.data ?? `synthetic WorldView-3-like scenes (${options.sceneSize ?? 512}×${options.sceneSize ?? 512} PAN, 8 bands, seed ${seed})`}; ` +
          `sensor ${sensor}; Wald's protocol at ratio 4; ${trainData.length} training and ${validData?.length ?? 0} validation patches; ` +
          `${n} held-out 64×64 tiles (never seen in training).`,
        `Training on ${device}: stage 1 ${s1.steps} steps (${s1.seconds.toFixed(0)} s), stage 2 ${s2.steps} steps (${s2.seconds.toFixed(0)} s), batch ${batchSize}. Total ${seconds.toFixed(0)} s.`,
        '',
        table,
        '',
        '![Training and validation loss of both stages](loss-curves.svg)',
        '',
        `Mean ± standard deviation over the held-out tiles. Conventions: ${JSON.stringify(conventions)}.`,
        '',
        'Files: loss-curves.svg, previews.png (rows: held-out tiles; columns: PAN, EXP, BT-H, GSA, PanAdapter, ground truth), scene.png (EXP, PanAdapter, ground truth over the whole held-out area),',
        'train-stage{1,2}.jsonl, panadapter-tiny-stage{1,2}.safetensors, metrics.json.',
      ].join('\n');
      write('report.md', report + '\n');
      write(
        'metrics.json',
        JSON.stringify(
          { metrics, conventions, tiles: n, seconds, stages: { 1: { steps: s1.steps, seconds: s1.seconds }, 2: { steps: s2.steps, seconds: s2.seconds } } },
          null,
          2,
        ),
      );
      return { table, metrics, files, seconds, stages: { 1: s1, 2: s2 } };
    });
  } finally {
    disposeSet(test);
    model.dispose();
  }
}
