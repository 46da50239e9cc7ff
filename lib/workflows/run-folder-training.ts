/**
 * One training stage of a model in a run folder, as `specfuse train` runs it: the model built
 * (seeded) and started from pre-trained or earlier weights, trained on PanCollection .h5 files or on
 * the tiles of one original scene with the stage's recipe for what the caller leaves open, its
 * checkpoints, logs and weights in the folder (run-folder.ts: final or aborted), the optimizer state
 * exported in torch.optim's layout, and a scene's held-out report written to heldout.json.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic.js';
import { manualSeed } from '../tensor.js';
import type { Module } from '../module.js';
import { createModel, type ModelConfig } from '../models/index.js';
import { loadPanAdapterPretrained } from '../models/panadapter-checkpoints.js';
import { createLoggers, train, type LoggerKind, type TrainOptions, type TrainResult, type ValidationOptions } from '../train/index.js';
import { loadWeights, saveWeights, type LoadReport } from '../weights.js';
import { exportTorchOptimizer, openPanCollectionTraining, type PanCollectionTrainingData } from './pancollection-training.js';
import { saveRunWeights, type RunFolder } from './run-folder.js';
import { sceneData, sceneReport, type SceneData, type SceneOptions, type SceneReport } from './scene-training.js';

/** What the run folder, the data and the model's recipe decide; everything else is train()'s. */
type RunOwned = 'data' | 'valid' | 'stage' | 'checkpointDir' | 'logFile' | 'resume' | 'loggers' | 'bestWeights' | 'validation';

export interface RunFolderTrainingOptions extends Omit<TrainOptions, RunOwned> {
  /** The model to build (createModel's config); the initial weights follow `seed`. */
  model: ModelConfig;
  /** The folder, opened with openRunFolder (or joinRunFolder on a data-parallel rank other than 0). */
  folder: RunFolder;
  /** PanCollection .h5 training data (and validation data), divided by `scale` (default: by the sensor of its name). */
  data?: string;
  valid?: string;
  scale?: number;
  /** Instead of `data`: one original MS + PAN pair, cut into training and held-out tiles. */
  scene?: { path: string } & SceneOptions;
  /** Default: the model's last stage (as train() and the C++ forward). */
  stage?: number;
  /** PanAdapter's pre-trained IPT and EDSR checkpoints, loaded first. */
  pretrained?: { ipt?: string; edsr?: string };
  /** Weights to start from (one file, or a checkpoint saved as several), loaded strictly. */
  init?: readonly string[];
  /** How `init` is loaded (default loadWeights; the CLI's explains a misfit in its flags). */
  loadInit?: (model: Module, paths: readonly string[]) => Promise<LoadReport>;
  /** Validation metrics and conventions (the scale is the data's). */
  validation?: Omit<ValidationOptions, 'scale'>;
  /** The logs written into the folder (default jsonl: train.jsonl). */
  logs?: readonly LoggerKind[];
  /** After each set of starting weights is loaded ('ipt', 'edsr', 'init'). */
  onLoaded?: (what: string, report: LoadReport) => void;
  /** Before the first step: the model, the stage and the data. */
  onStart?: (run: { model: Module; stage: number; samples: number; heldOut: number; scene?: SceneData }) => void;
  /** After the weights of a run that was not stopped by `signal` are saved, before the held-out report. */
  onSaved?: (result: TrainResult, weights: string) => void;
}

export interface RunFolderTrainingResult {
  result: TrainResult;
  stage: number;
  /** final.safetensors, or aborted.safetensors when the loop was cut short (a joined rank writes none). */
  weights: string;
  /** A scene run's held-out report (also in heldout.json); absent when `signal` stopped the run. */
  report?: SceneReport;
}

/** The stage's recipe for what the options leave open: loss, optimizer, batch size and learning rate. */
function recipeDefaults(model: Module, stage: number, o: RunFolderTrainingOptions): Pick<TrainOptions, 'loss' | 'optimizer' | 'batchSize' | 'lr'> {
  const recipe = model.spec.trainingDefaults?.[stage] ?? {};
  const fullResolution = o.scene?.resolution === 'full';
  return {
    batchSize: o.batchSize ?? recipe.batchSize ?? 4,
    lr: o.lr ?? recipe.lr ?? 1e-4,
    // a full-resolution scene has no ground truth: the supervised stages train on QNR
    loss: o.loss ?? (fullResolution && stage > 1 && recipe.loss ? 'qnr' : recipe.loss),
    optimizer: o.optimizer ?? recipe.optimizer,
  };
}

async function loadStartingWeights(model: Module, o: RunFolderTrainingOptions): Promise<void> {
  if (o.pretrained?.ipt || o.pretrained?.edsr) {
    const r = await loadPanAdapterPretrained(model, o.pretrained);
    for (const [what, report] of Object.entries(r)) o.onLoaded?.(what, report!);
  }
  if (o.init?.length) o.onLoaded?.('init', await (o.loadInit ?? loadWeights)(model, o.init));
}

/**
 * Trains one stage in `options.folder` (see the file comment); `signal` stops after the current
 * step, with a checkpoint and aborted.safetensors, and skips the held-out report.
 */
export async function trainInRunFolder(options: RunFolderTrainingOptions): Promise<RunFolderTrainingResult> {
  // what is not train()'s goes to the data, the model and the folder; the rest is train()'s as given
  const { model: config, folder, data: dataPath, valid: validPath, scale, scene: sceneOptions, logs = ['jsonl'], ...rest } = options;
  const { pretrained, init, loadInit, onLoaded, onStart, onSaved, validation, ...trainOptions } = rest;
  if (!dataPath === !sceneOptions) throw new TypeError('give one of data (a PanCollection .h5) and scene (an original MS + PAN pair)');
  manualSeed(options.seed ?? 0); // the initial weights follow the seed too
  let model: Module | undefined;
  let files: PanCollectionTrainingData | undefined;
  try {
    model = createModel(config);
    const scene = sceneOptions ? await sceneData(sceneOptions.path, sceneOptions) : undefined;
    files = scene ? undefined : await openPanCollectionTraining(dataPath!, { valid: validPath, scale });
    await loadStartingWeights(model, options);
    if (options.device && options.device !== 'cpu') await model.to(options.device);
    const stage = options.stage ?? model.defaultStage;
    const trainData = scene ? scene.train : files!.data;
    // train.jsonl is the loop's own log (logFile), which a resume trims to the resumed step
    const loggers = createLoggers(
      folder.out,
      logs.filter((k) => k !== 'jsonl'),
    );
    onStart?.({ model, stage, samples: trainData.length, heldOut: scene?.heldOut?.lms.shape[0] ?? 0, scene });
    const result = await train(model, {
      ...trainOptions,
      ...recipeDefaults(model, stage, options),
      stage,
      data: trainData,
      valid: files?.valid,
      validation: { metrics: [], ...validation, scale: scene ? scene.scale : files!.scale },
      bestWeights: files?.valid ? join(folder.out, 'best.safetensors') : undefined,
      loggers,
      checkpointDir: folder.checkpoints,
      logFile: logs.includes('jsonl') ? folder.log : undefined,
      resume: folder.resume,
    });
    if (folder.joined) return { result, stage, weights: join(folder.out, 'final.safetensors') }; // rank 0 writes them
    const preset = (config as { preset?: unknown }).preset;
    const metadata = { stage: String(stage), ...(typeof preset === 'string' ? { preset } : {}), bands: String(model.config.bands ?? '') };
    const weights = await saveRunWeights(folder.out, result, (path) => saveWeights(model!, path, metadata));
    // the optimizer state in torch.optim's layout, from the checkpoint just written (stopped runs too)
    exportTorchOptimizer(folder.out);
    if (options.signal?.aborted) return { result, stage, weights };
    onSaved?.(result, weights);
    const report = scene && (await sceneReport(model, stage, scene, sceneOptions!.resolution, options.signal));
    if (report) writeFileAtomic(join(folder.out, 'heldout.json'), JSON.stringify(report, null, 2) + '\n');
    return { result, stage, weights, ...(report ? { report } : {}) };
  } finally {
    files?.close();
    model?.dispose();
  }
}
