// Every workflow driven from the library API alone (no CLI), as a Node program would: tiny models,
// the real scenes of ../shared/data where they are cheap, a small synthetic cube for MS/HS fusion.
// Each checks what the workflow computed against a second way of computing it, plus the typed
// errors and the AbortSignal.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createModel,
  data,
  evaluateHyperspectralFusion,
  evaluateMhif,
  evaluatePansharpening,
  fuseSceneFile,
  fromHost,
  hyperspectralFusionModel,
  imageMetrics,
  loadHyperspectralFusionModel,
  memory,
  openRunFolder,
  recordedModel,
  prepareMhifData,
  readEvaluationData,
  readFusionScene,
  runDemo,
  runModel,
  saveWeights,
  scope,
  trainHyperspectralFusion,
  trainHyperspectralFusionInFolder,
  trainInRunFolder,
  trainOnScene,
  WorkflowOptionError,
  type Module,
} from '../../lib/index.js';
import { sharedData } from '../helpers/locations.js';
import { writeSyntheticCube } from '../helpers/synthetic-cube.js';

const PATCH = sharedData('pansharpening', 'wv3_pancollection_patch.mat');
const IKONOS = sharedData('pansharpening', 'ikonos_vitale.mat');
const noData = [PATCH, IKONOS].every(existsSync) ? false : `the real scenes (${PATCH}, ${IKONOS}) are not present`;
const tmp = mkdtempSync(join(tmpdir(), 'specfuse-workflows-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

const aborted = () => {
  const ac = new AbortController();
  ac.abort();
  return ac.signal;
};

/** An untrained 8-band PNN saved by specfuse (the file records its model). */
async function pnnFile(): Promise<{ model: Module; path: string }> {
  const model = createModel({ model: 'pnn', bands: 8 });
  model.eval();
  const path = join(tmp, 'pnn.safetensors');
  await saveWeights(model, path);
  return { model, path };
}

t.test('scene fusion: fuseSceneFile from a weights file equals runModel on the scene; typed errors; abort', { skip: noData }, async (t) => {
  const { model, path } = await pnnFile();
  t.teardown(() => model.dispose());
  const out = join(tmp, 'fused.tif');
  const live = memory().tensors;
  const r = await fuseSceneFile({ model: path, input: PATCH, out });
  t.ok(memory().tensors <= live, 'every tensor of the fusion freed (the count may fall: the GC frees leftovers of earlier tests)');
  t.same(r.shape, [8, 64, 64], 'the first image of the file, C×H×W');
  t.ok(existsSync(r.preview), 'a PNG preview beside it');
  const written = (await data.readGeoTiff(out)).image;
  // one 64×64 tile covers the image: the tiled fusion is one forward of the whole scene
  const scene = await readFusionScene(PATCH);
  const direct = await scope(async () => {
    const ms = fromHost(scene.ms).unsqueeze(0),
      pan = fromHost(scene.pan).unsqueeze(0),
      lms = fromHost(scene.lms!).unsqueeze(0);
    return (await runModel(model, { ms, pan, lms }, { scale: scene.scale })).squeeze(0).toHost();
  });
  const a = written.data as Float32Array,
    b = direct.data as Float32Array;
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
  t.equal(maxDiff, 0, "the written image is runModel's output, bit for bit");
  await t.rejects(fuseSceneFile({ model: path, input: PATCH, out: join(tmp, 'fused.png') }), WorkflowOptionError, 'an output format without a writer');
  await t.rejects(fuseSceneFile({ model: path, input: PATCH, out: join(tmp, 'never.tif'), signal: aborted() }), { name: 'AbortError' });
  t.notOk(existsSync(join(tmp, 'never.tif')), 'nothing written after an abort');
});

t.test('evaluation: evaluatePansharpening and imageMetrics agree on the files it writes', { skip: noData }, async (t) => {
  const { model } = await pnnFile();
  t.teardown(() => model.dispose());
  const d = await readEvaluationData(PATCH, { sample: 1 });
  const out = join(tmp, 'eval');
  const live = memory().tensors;
  const r = await evaluatePansharpening(model, d, { sample: 1, out });
  t.ok(memory().tensors <= live, 'every tensor of the evaluation freed (the count may fall: the GC frees leftovers of earlier tests)');
  t.equal(r.kind, 'reduced-resolution');
  t.same(Object.keys(r.metrics), ['EXP', 'pnn']);
  t.same(r.samples, [1]);
  t.equal(r.sensor, 'wv3');
  for (const f of ['pnn_preview.png', 'pnn_fused.mat', 'metrics.json']) t.ok(existsSync(join(out, f)), f);
  const again = await imageMetrics({ fused: join(out, 'pnn_fused.mat'), gt: PATCH, sample: 1 });
  for (const k of ['SAM', 'ERGAS', 'Q2n', 'PSNR']) {
    const x = r.metrics.pnn![k]!,
      y = again.metrics[k]!;
    t.ok(Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x)), `${k}: ${x} (evaluation) = ${y} (image metrics of the written file)`);
  }
  await t.rejects(evaluatePansharpening(model, d, { sample: 100 }), { name: 'WorkflowOptionError', option: 'sample' });
  await t.rejects(evaluatePansharpening(model, d, { sample: 1, signal: aborted() }), { name: 'AbortError' });
});

t.test('scene training: trainOnScene on the IKONOS scene, held-out report against the baselines', { skip: noData }, async (t) => {
  const model = createModel({ model: 'pnn', bands: 4 });
  t.teardown(() => model.dispose());
  const r = await trainOnScene(model, { scene: IKONOS, resolution: 'reduced', patch: 32, stride: 32, holdout: 0.25, steps: 2, batchSize: 2 });
  t.equal(r.result.steps, 2);
  t.equal(r.result.stopped, 'done');
  t.equal(r.scene.sensor, 'ikonos');
  const report = r.report!;
  t.ok(report && 'methods' in report, 'a table against the baselines');
  if (report && 'methods' in report) {
    t.same(Object.keys(report.methods), ['pnn', 'EXP', 'Brovey', 'BT-H', 'GSA', 'MTF-GLP-HPM']);
    t.ok(report.tiles > 0 && Number.isFinite(report.methods.pnn!.SAM!), `${report.tiles} held-out tiles, finite figures`);
  }
  const stopped = await trainOnScene(model, { scene: IKONOS, resolution: 'reduced', patch: 32, holdout: 0.25, steps: 2, batchSize: 2, signal: aborted() });
  t.equal(stopped.result.stopped, 'aborted', 'an aborted signal stops training');
  t.equal(stopped.report, undefined, 'and skips the report');
  await t.rejects(trainOnScene(model, { scene: PATCH, resolution: 'reduced', patch: 32, holdout: 0.25, steps: 1 }), {
    name: 'WorkflowOptionError',
    option: 'scene',
  });
});

t.test('training in a run folder: trainInRunFolder on the IKONOS scene writes weights, optimizer and heldout.json; abort', { skip: noData }, async (t) => {
  const scene = { path: IKONOS, resolution: 'reduced' as const, patch: 32, stride: 32, holdout: 0.25 };
  const folder = openRunFolder(join(tmp, 'run'), {});
  const started: number[] = [];
  try {
    const r = await trainInRunFolder({ model: { model: 'pnn', bands: 4 }, folder, scene, steps: 2, batchSize: 2, onStart: (s) => started.push(s.stage) });
    t.same(started, [r.stage], 'onStart before training, with the stage trained');
    t.equal(r.result.steps, 2);
    t.equal(r.weights, join(tmp, 'run', 'final.safetensors'));
    t.equal(recordedModel(r.weights)?.family, 'pnn', 'the weights record their model');
    t.ok(existsSync(join(tmp, 'run', 'optimizer.torch.safetensors')), 'the optimizer state in torch.optim layout');
    t.ok(existsSync(join(tmp, 'run', 'train.jsonl')), 'the log');
    t.ok(r.report && 'methods' in r.report, 'a held-out table against the baselines');
    t.same(JSON.parse(readFileSync(join(tmp, 'run', 'heldout.json'), 'utf8')), JSON.parse(JSON.stringify(r.report)), 'heldout.json holds the report');
  } finally {
    folder.release();
  }
  const other = openRunFolder(join(tmp, 'run-aborted'), {});
  try {
    const r = await trainInRunFolder({ model: { model: 'pnn', bands: 4 }, folder: other, scene, steps: 2, batchSize: 2, signal: aborted() });
    t.equal(r.result.stopped, 'aborted');
    t.equal(r.weights, join(tmp, 'run-aborted', 'aborted.safetensors'), 'a run cut short saves aborted weights');
    t.equal(r.report, undefined, 'and skips the report');
    t.notOk(existsSync(join(tmp, 'run-aborted', 'heldout.json')));
  } finally {
    other.release();
  }
});

/** The MS/HS tests' data: a synthetic cube written to tmp/NAME, prepared at ratio 4 (16-pixel patches, 32-pixel test crops). */
async function preparedCube(name: string) {
  const mat = join(tmp, name);
  writeSyntheticCube(mat);
  return prepareMhifData(mat, { ratio: 4, patch: 16, testCrop: 32 });
}

t.test('MS/HS fusion in a run folder: metrics.json holds the scores, and the saved weights score the same', async (t) => {
  const d = await preparedCube('cube-folder.mat');
  const folder = openRunFolder(join(tmp, 'infn-run'), {});
  try {
    const r = await trainHyperspectralFusionInFolder(d, folder, { ratio: 4, preset: 'tiny', steps: 2, batchSize: 2 });
    t.equal(r.result.steps, 2);
    const written = JSON.parse(readFileSync(join(tmp, 'infn-run', 'metrics.json'), 'utf8'));
    t.same(written, JSON.parse(JSON.stringify({ steps: 2, seconds: r.result.seconds, windows: d.testWindows, ...r.scores })), 'metrics.json');
    t.same(await evaluateHyperspectralFusion(r.weights, d, { ratio: 4 }), r.scores, 'the saved weights score the same on the held-out windows');
    const whole = await evaluateHyperspectralFusion(r.weights, d, { ratio: 4, whole: true });
    t.equal(whole.crops, 1, 'whole: one window, the image');
  } finally {
    folder.release();
  }
});

t.test('MS/HS fusion: train a tiny INFN, score it, and the saved weights score the same', async (t) => {
  const d = await preparedCube('cube.mat');
  const { model } = await hyperspectralFusionModel(d, 4, { preset: 'tiny' });
  t.teardown(() => model.dispose());
  const { result, metadata } = await trainHyperspectralFusion(model, d, { steps: 2, batchSize: 2 });
  t.equal(result.steps, 2);
  const scores = await evaluateMhif(model, d.image, d.testWindows, { ratio: 4 });
  t.equal(scores.crops, d.testWindows.length);
  t.ok(scores.model.PSNR > 0 && scores.bicubic.PSNR > 0, 'PSNR of the model and of bicubic');
  const path = join(tmp, 'infn.safetensors');
  await saveWeights(model, path, metadata);
  const loaded = await loadHyperspectralFusionModel(path, d, 4);
  t.teardown(() => loaded.dispose());
  const again = await evaluateMhif(loaded, d.image, d.testWindows, { ratio: 4 });
  t.same(again, scores, 'the weights file rebuilds the model (its recorded config) and scores the same');
  await t.rejects(loadHyperspectralFusionModel(path, d, 8), { name: 'WorkflowOptionError', option: 'ratio' });
  await t.rejects(evaluateMhif(model, d.image, d.testWindows, { ratio: 4, signal: aborted() }), { name: 'AbortError' });
});

t.test('demo: runDemo on small synthetic scenes writes its report', async (t) => {
  const out = join(tmp, 'demo');
  const lines: string[] = [];
  const live = memory().tensors;
  const r = await runDemo({ outDir: out, sceneSize: 256, scenes: 1, stage1Steps: 2, stage2Steps: 2, batchSize: 4, log: (l) => lines.push(l) });
  t.ok(memory().tensors <= live, 'every tensor of the demo freed (the count may fall: the GC frees leftovers of earlier tests)');
  t.same(Object.keys(r.metrics), ['EXP', 'BT-H', 'GSA', 'PanAdapter stage 1', 'PanAdapter stage 2']);
  t.equal(r.stages[1].steps, 2);
  t.equal(r.stages[2].steps, 2);
  for (const f of ['report.md', 'metrics.json', 'loss-curves.svg', 'previews.png', 'scene.png']) t.ok(existsSync(join(out, f)), f);
  t.match(lines.join('\n'), /stage 2: adapters, a_proj, b_proj, tail \(39346 trainable after setStage\(2\)\)/, 'the stage-2 line counts what stage 2 trains');
  await t.rejects(runDemo({ outDir: join(tmp, 'demo-aborted'), sceneSize: 256, scenes: 1, stage1Steps: 2, stage2Steps: 2, signal: aborted() }), {
    name: 'AbortError',
  });
});
