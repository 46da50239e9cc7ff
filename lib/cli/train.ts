/** `specfuse train`: one stage of a model on PanCollection .h5 data, with checkpoints and a progress bar. */
import { resolve, join } from 'node:path';
import { createModel, type ModelConfig } from '../models/index.js';
import {
  train,
  validateSchedule,
  createLoggers,
  parseLoggerKinds,
  parseGroupsOption,
  resolveMonitor,
  type Schedule,
  type TrainOptions,
} from '../train/index.js';
import type { Module } from '../module.js';
import { exportTorchOptimizer, openPanCollectionTraining, type PanCollectionTrainingData } from '../workflows/pancollection-training.js';
import { reducedMetricNames, type ReducedMetricName } from '../metrics/index.js';
import { saveWeights } from '../weights.js';
import { loadPanAdapterPretrained } from '../models/panadapter-checkpoints.js';
import { checkPreset, loadWeightsExplained } from './weights-hints.js';
import { writeFileAtomic } from '../atomic.js';
import { checkInputFiles, countOption, intOption, jsonObjectOption, numberOption, oneOfOption, parse, usage, UsageError, type Values } from './args.js';
import { joinTrainingRun, startTrainingRun } from './training-run.js';
import { distributedEnv } from '../distributed/index.js';
import { launchLocal, withoutOption } from '../train/launch.js';
import { formatSeconds, ProgressBar } from './progress.js';
import { manualSeed } from '../tensor.js';
import { sceneData, sceneReport, type SceneReport } from '../workflows/scene-training.js';
import { withCliErrors } from './library-errors.js';
import { infnTrain, wantsInfn } from './infn-commands.js';

/** Prints a --scene run's held-out report (written to heldout.json beside the weights). */
function printSceneReport(report: SceneReport): void {
  if ('samples' in report) {
    console.log(
      `• held-out tiles, DDIM samples (20 steps): ${Object.entries(report.samples)
        .map(([k, x]) => `${k} ${x.toFixed(2)}`)
        .join(', ')}`,
    );
    return;
  }
  const { resolution } = report;
  for (const [name, m] of Object.entries(report.methods)) {
    console.log(
      `• held-out ${resolution} (${report.tiles} tiles) ${name.padEnd(11)} ${Object.entries(m)
        .map(([k, x]) => `${k} ${x.toFixed(4)}`)
        .join('  ')}`,
    );
  }
  for (const [name, m] of Object.entries(report.cut21 ?? {})) {
    console.log(
      `• held-out ${resolution}, 21-pixel border cut ${name.padEnd(11)} ${Object.entries(m)
        .map(([k, x]) => `${k} ${x.toFixed(4)}`)
        .join('  ')}`,
    );
  }
}

export const trainHelp = `specfuse train --model NAME (--data TRAIN.h5 | --scene SCENE) --stage S [options]

Trains one stage of a model on a PanCollection .h5 file (gt, lms, ms, pan; read by sample, never
loaded whole), or on tiles of one original scene, with validation, atomic checkpoints, exact resume
and a JSONL log.
  --model        panadapter | crossdiff | pnn | pannet | dicnn | fusionnet
  --preset       panadapter: wv3, wv2, qb, gf2, ikonos or tiny; crossdiff: qb, wv4, ikonos, gf2,
                 wv2, wv3, tiny or tiny8
  --bands        band count (default: the preset's, or 8)
  --stage        1 or 2 (default: the model's last stage, as in the library; PanAdapter and CrossDiff:
                 stage 2 starts from stage 1's weights, see --init; CrossDiff stage 1 is self-supervised)
  --data         training .h5;  --valid  validation .h5
  --scene        instead of --data: one original MS + PAN pair (.mat with I_MS/I_PAN, ...), cut into
                 tiles; the right --holdout fraction of the scene (default 0.25) is never trained on
                 and is scored at the end against EXP (reduced: SAM, ERGAS, Q2n, PSNR; full: D_lambda,
                 D_s, QNR, HQNR; CrossDiff stage 1: PSNR of DDIM samples of each denoiser)
  --resolution   with --scene: reduced (Wald's protocol, gt = the original MS; default) or full
  --patch        with --scene: tile side on the PAN grid (default 64);  --stride  default patch/2
  --held-out-patch  with --scene: side of the held-out tiles (default --patch; the 21-pixel border
                 cut of the second held-out table needs more than 42)
  --sensor       with --scene, when the file does not say
  --loss         mse | l1 | qnr (no-reference, full resolution) (default: the model's recipe, else mse)
  --optimizer    adam | adamw | sgd (default: the model's recipe, else adam);  --weight-decay
  --scale        divide the data by this (default: by sensor from the file name, 2047 or 1023 for GF2)
  --epochs N | --steps N
  --batch-size   default 4;  --lr  default: the model's recipe, else 1e-4
  --flips        random horizontal/vertical flips of each batch (augmentation)
  --schedule     constant | cosine | step (default constant);  --warmup N  linear warm-up steps
  --step-size N  with --schedule step: multiply the lr by --gamma (default 0.1) every N steps
  --min-lr       with --schedule cosine: the floor (default 0)
  --clip-grad-norm X   clip the global gradient norm at X;  --nan-policy error|skip
  --groups       parameter groups: 'GLOB[,GLOB]:lr=X[:wd=Y];...' (e.g. 'head.**:lr=1e-3') or a
                 JSON list of {params, lr, weightDecay}; the schedule applies to each group's lr
  --no-decay     no weight decay on biases, norms, gates and tensors of rank < 2
  --config       JSON of model options over the preset, for every model (e.g. '{"bands":4}')
  --eval-every N validate every N steps (default: each epoch);  --metrics SAM,ERGAS,...  the
                 toolbox metrics at validation, on DN (Q, SAM, ERGAS, SCC, Q2n, PSNR, SSIM)
  --monitor      valid.loss (default) or valid.<metric>: early stopping and the best weights follow
                 it;  --mode min|max (default by metric);  --save-top-k K (default 1)
  --early-stopping N  stop after N validations without improvement;  --min-delta X
  --checkpoint-every N  default 200;  --keep-checkpoints K  default 2
  --log          tensorboard,csv,jsonl (default jsonl): tensorboard/ event files, metrics.csv, train.jsonl
  --init         weights to start from (.safetensors or a torch.save file, e.g. a DLPan-Toolbox
                 .pth for pnn/pannet/dicnn/fusionnet), loaded strictly through the model's loader;
                 repeat it for checkpoints saved as several files (CrossDiff's official P2M, M2P, head)
  --ipt, --edsr  PanAdapter's pre-trained IPT_pretrain.pt and edsr_baseline_x2 checkpoints
  --out          run folder (default ./specfuse-run): checkpoints/, logs, final.safetensors
                 (aborted.safetensors when stopped by a signal), best.safetensors (with validation),
                 optimizer.torch.safetensors (torch.optim layout); one run at a time per folder
  --resume       continue from the run folder's latest checkpoint (an error when there is none);
                 the options must be the run's (--steps/--epochs may grow), unless --allow-changes
  --fresh        start over in a folder that holds a run (deletes its checkpoints, logs and results)
  SIGINT/SIGTERM: the current step finishes, a checkpoint is written, exit 130/143 (resume with
  --resume); a second signal exits at once.
  --device       cpu (default) or cuda;  --bf16  autocast in bfloat16;  --seed  default 0
  --nproc N      data-parallel training in N local processes (c10d Gloo; the cores split between
                 them; --batch-size is per process); under torchrun or Slurm (RANK, WORLD_SIZE,
                 MASTER_ADDR, MASTER_PORT set) each process is one rank. Rank 0 writes the run folder.
INFN (MS/HS fusion from a hyperspectral cube): see 'specfuse train --model infn --help'.`;

/** --schedule with --warmup, --step-size/--gamma and --min-lr; flags for another schedule are usage errors. */
function scheduleOption(v: Record<string, string | string[] | boolean | undefined>): Schedule | undefined {
  const kind = oneOfOption(v.schedule as string | undefined, 'schedule', ['constant', 'cosine', 'step'] as const) ?? 'constant';
  const warmup = intOption(v.warmup as string | undefined, 'warmup');
  if (kind !== 'step' && (v['step-size'] !== undefined || v.gamma !== undefined)) throw new UsageError('--step-size and --gamma go with --schedule step');
  if (kind !== 'cosine' && v['min-lr'] !== undefined) throw new UsageError('--min-lr goes with --schedule cosine');
  if (kind === 'step' && v['step-size'] === undefined) throw new UsageError('--schedule step needs --step-size N');
  const s: Schedule =
    kind === 'step'
      ? { kind, stepSize: intOption(v['step-size'] as string, 'step-size')!, gamma: numberOption(v.gamma as string | undefined, 'gamma'), warmup }
      : kind === 'cosine'
        ? { kind, minLr: numberOption(v['min-lr'] as string | undefined, 'min-lr'), warmup }
        : { kind, warmup };
  if (!v.schedule && warmup === undefined) return undefined;
  return usage(() => validateSchedule(s));
}

const TRAIN_FLAGS = {
  model: { type: 'string' as const },
  preset: { type: 'string' as const },
  bands: { type: 'string' as const },
  stage: { type: 'string' as const },
  data: { type: 'string' as const },
  valid: { type: 'string' as const },
  scale: { type: 'string' as const },
  epochs: { type: 'string' as const },
  steps: { type: 'string' as const },
  'batch-size': { type: 'string' as const },
  lr: { type: 'string' as const },
  schedule: { type: 'string' as const },
  init: { type: 'string' as const, multiple: true as const },
  ipt: { type: 'string' as const },
  edsr: { type: 'string' as const },
  out: { type: 'string' as const },
  resume: { type: 'boolean' as const },
  device: { type: 'string' as const },
  bf16: { type: 'boolean' as const },
  seed: { type: 'string' as const },
  scene: { type: 'string' as const },
  resolution: { type: 'string' as const },
  patch: { type: 'string' as const },
  stride: { type: 'string' as const },
  holdout: { type: 'string' as const },
  sensor: { type: 'string' as const },
  loss: { type: 'string' as const },
  optimizer: { type: 'string' as const },
  'weight-decay': { type: 'string' as const },
  warmup: { type: 'string' as const },
  'step-size': { type: 'string' as const },
  gamma: { type: 'string' as const },
  'min-lr': { type: 'string' as const },
  'clip-grad-norm': { type: 'string' as const },
  'nan-policy': { type: 'string' as const },
  groups: { type: 'string' as const },
  'no-decay': { type: 'boolean' as const },
  config: { type: 'string' as const },
  'eval-every': { type: 'string' as const },
  metrics: { type: 'string' as const },
  monitor: { type: 'string' as const },
  mode: { type: 'string' as const },
  'save-top-k': { type: 'string' as const },
  'early-stopping': { type: 'string' as const },
  'min-delta': { type: 'string' as const },
  'checkpoint-every': { type: 'string' as const },
  'keep-checkpoints': { type: 'string' as const },
  log: { type: 'string' as const },
  fresh: { type: 'boolean' as const },
  'allow-changes': { type: 'boolean' as const },
  flips: { type: 'boolean' as const },
  'held-out-patch': { type: 'string' as const },
  nproc: { type: 'string' as const },
};

type TrainFlags = Values<typeof TRAIN_FLAGS>;

/** --ipt/--edsr (PanAdapter's pre-trained parts), then --init (a whole model's weights, possibly several files). */
async function loadStartingWeights(model: Module, v: TrainFlags, inits: readonly string[]): Promise<void> {
  if (v.ipt || v.edsr) {
    const r = await loadPanAdapterPretrained(model, { ipt: v.ipt, edsr: v.edsr });
    for (const [k, rep] of Object.entries(r)) console.log(`• ${k}: loaded ${rep!.loaded.length} tensors, ignored ${rep!.ignored.length}`);
  }
  if (inits.length) {
    const r = await loadWeightsExplained(model, inits, '--init', v.preset);
    console.log(
      `• init: loaded ${r.loaded.length} tensors from ${inits.join(', ')}` +
        (r.ignored.length ? `; ignored ${r.ignored.length}: ${r.ignored.slice(0, 3).join(', ')}${r.ignored.length > 3 ? ', ...' : ''}` : ''),
    );
  }
}

/** train()'s options from the flags and the stage's recipe (the loss, optimizer, batch size and lr a flag does not give). */
function trainOptions(
  v: TrainFlags,
  o: {
    stage: number;
    recipe: NonNullable<Module['spec']['trainingDefaults']>[number];
    resolution: 'reduced' | 'full';
    lossArg?: 'mse' | 'l1' | 'qnr';
    optimizerArg?: 'adam' | 'adamw' | 'sgd';
    batchSizeArg?: number;
  },
): Omit<TrainOptions, 'data'> & { validation: NonNullable<TrainOptions['validation']> } {
  const { stage, recipe } = o;
  const metrics = v.metrics ? v.metrics.split(',').map((m) => m.trim()) : [];
  for (const m of metrics)
    if (!reducedMetricNames.includes(m as ReducedMetricName))
      throw new UsageError(`--metrics: unknown metric '${m}' (expected ${reducedMetricNames.join(', ')})`);
  const patience = intOption(v['early-stopping'], 'early-stopping');
  if (v.monitor) usage(() => resolveMonitor({ metric: v.monitor }, metrics));
  return {
    stage,
    epochs: intOption(v.epochs, 'epochs'),
    steps: intOption(v.steps, 'steps'),
    batchSize: o.batchSizeArg ?? recipe.batchSize ?? 4,
    lr: numberOption(v.lr, 'lr') ?? recipe.lr ?? 1e-4,
    schedule: scheduleOption(v),
    loss: o.lossArg ?? (o.resolution === 'full' && stage > 1 && recipe.loss ? 'qnr' : recipe.loss),
    optimizer: o.optimizerArg ?? recipe.optimizer,
    weightDecay: numberOption(v['weight-decay'], 'weight-decay'),
    seed: intOption(v.seed, 'seed') ?? 0,
    autocast: v.bf16 ? 'bf16' : 'none',
    clipGradNorm: numberOption(v['clip-grad-norm'], 'clip-grad-norm'),
    nanPolicy: oneOfOption(v['nan-policy'], 'nan-policy', ['error', 'skip'] as const),
    groups: v.groups ? usage(() => parseGroupsOption(v.groups!)) : undefined,
    noDecay: v['no-decay'] ?? false,
    evalEvery: intOption(v['eval-every'], 'eval-every'),
    validation: { metrics: metrics as ReducedMetricName[] },
    monitor: v.monitor || v.mode ? { metric: v.monitor, mode: oneOfOption(v.mode, 'mode', ['min', 'max'] as const) } : undefined,
    earlyStopping: patience !== undefined ? { patience, minDelta: numberOption(v['min-delta'], 'min-delta') } : undefined,
    saveTopK: intOption(v['save-top-k'], 'save-top-k'),
    keepCheckpoints: intOption(v['keep-checkpoints'], 'keep-checkpoints'),
    augment: v.flips ?? false,
  };
}

export async function trainCommand(argv: string[]): Promise<void | number> {
  if (wantsInfn(argv)) return infnTrain(argv);
  const { values: v } = parse(argv, TRAIN_FLAGS);
  if (v.help) {
    console.log(trainHelp);
    return;
  }
  // data parallel: --nproc starts the ranks (each runs this command without --nproc); under
  // torchrun / Slurm (RANK, WORLD_SIZE set) this process is one rank and rank 0 owns the run folder
  const ranks = distributedEnv();
  if (v.nproc !== undefined && !ranks) return launchLocal(['train', ...withoutOption(argv, '--nproc')], countOption(v.nproc, 'nproc')!);
  const follower = !!ranks && ranks.rank > 0;
  if (!v.model) throw new UsageError('--model is required');
  if (!v.data === !v.scene) throw new UsageError('give one of --data (a PanCollection .h5) and --scene (an original MS + PAN pair)');
  if (v.scene && v.valid) throw new UsageError('--valid goes with --data: a --scene run is scored on its held-out tiles');
  if ((v.epochs === undefined) === (v.steps === undefined)) throw new UsageError('give exactly one of --epochs and --steps');
  // option values first: a usage error is the most direct answer, before files are looked at
  const resolution = oneOfOption(v.resolution, 'resolution', ['reduced', 'full'] as const) ?? 'reduced';
  const lossArg = oneOfOption(v.loss, 'loss', ['mse', 'l1', 'qnr'] as const);
  const optimizerArg = oneOfOption(v.optimizer, 'optimizer', ['adam', 'adamw', 'sgd'] as const);
  const logKinds = usage(() => parseLoggerKinds(v.log ?? 'jsonl'));
  checkInputFiles({ data: v.data, valid: v.valid, scene: v.scene, ipt: v.ipt, edsr: v.edsr });
  const inits = v.init ?? [];
  for (const init of inits) checkInputFiles({ init });
  const batchSizeArg = countOption(v['batch-size'], 'batch-size');
  const checkpointEvery = countOption(v['checkpoint-every'], 'checkpoint-every') ?? 200;
  countOption(v.steps, 'steps');
  countOption(v.epochs, 'epochs');
  const config: Record<string, unknown> = { model: v.model, ...jsonObjectOption(v.config, 'config', 'model options') };
  if (v.preset) config.preset = v.preset;
  const bands = intOption(v.bands, 'bands');
  if (bands !== undefined) config.bands = bands;
  manualSeed(intOption(v.seed, 'seed') ?? 0); // the initial weights follow --seed too
  for (const init of inits) checkPreset(init, v.model, v.preset, '--init', bands);
  const out = resolve(v.out ?? 'specfuse-run');
  // the run folder is checked and locked before anything expensive happens
  const run = follower ? joinTrainingRun(out, { resume: v.resume }) : startTrainingRun(out, { resume: v.resume, fresh: v.fresh });
  let model: ReturnType<typeof createModel> | undefined;
  let files: PanCollectionTrainingData | undefined;
  try {
    model = createModel(config as unknown as ModelConfig);
    const scene = v.scene
      ? await withCliErrors(() =>
          sceneData(v.scene!, {
            resolution,
            patch: intOption(v.patch, 'patch') ?? 64,
            stride: intOption(v.stride, 'stride'),
            holdout: v.holdout !== undefined ? Number(v.holdout) : 0.25,
            heldOutPatch: intOption(v['held-out-patch'], 'held-out-patch'),
            sensor: v.sensor,
            scale: v.scale ? Number(v.scale) : undefined,
          }),
        )
      : undefined;
    files = scene ? undefined : await withCliErrors(() => openPanCollectionTraining(v.data!, { valid: v.valid, scale: v.scale ? Number(v.scale) : undefined }));
    await loadStartingWeights(model, v, inits);
    if (v.device && v.device !== 'cpu') await model.to(v.device);
    // one default for every entry point: the model's last stage (train() and the C++ forward agree)
    const stage = intOption(v.stage, 'stage') ?? model.defaultStage;
    const recipe = model.spec.trainingDefaults?.[stage] ?? {};
    const trainData = scene ? scene.train : files!.data;
    const options = trainOptions(v, { stage, recipe, resolution, lossArg, optimizerArg, batchSizeArg });
    // train.jsonl is the loop's own log (logFile), which a resume trims to the resumed step
    const loggers = createLoggers(
      out,
      logKinds.filter((k) => k !== 'jsonl'),
    );
    const bar = new ProgressBar(`stage ${stage}`);
    // what the stage trains, counted without setting it: train() sets it (once)
    const c = model.parameterCounts(stage);
    if (!follower)
      console.log(
        `• ${v.model}${v.preset ? ` (${v.preset})` : ''}, stage ${stage}: ${c.trainable.toLocaleString('en-US')} of ${c.total.toLocaleString('en-US')} parameters trainable; ${trainData.length} samples${scene ? ` (${resolution}-resolution tiles of ${v.scene}, ${scene.heldOut?.lms.shape[0] ?? 0} held out)` : ''}`,
      );
    const r = await train(model, {
      ...options,
      data: trainData,
      valid: files?.valid,
      validation: { ...options.validation, scale: scene ? scene.scale : files!.scale },
      bestWeights: files?.valid ? join(out, 'best.safetensors') : undefined,
      loggers,
      // the run folder's checkpoints, lock-guarded resume and signal; its train.jsonl only when asked for
      ...run.trainOptions,
      logFile: logKinds.includes('jsonl') ? run.trainOptions.logFile : undefined,
      checkpointEvery,
      allowOptionChanges: !!v['allow-changes'],
      device: v.device,
      distributed: ranks && ranks.worldSize > 1 ? true : undefined,
      onProgress: (p) =>
        follower ||
        bar.update(
          p.step,
          p.totalSteps,
          `loss ${p.loss.toExponential(3)} lr ${p.lr.toExponential(2)} ${p.samplesPerSecond.toFixed(1)} samples/s eta ${formatSeconds(p.etaSeconds)}`,
        ),
    });
    if (follower) return run.stopped(r, '');
    const metadata: Record<string, string> = { stage: String(stage), ...(v.preset ? { preset: v.preset } : {}), bands: String(model.config.bands ?? '') };
    const weights = await run.saveWeights(r, (path) => saveWeights(model!, path, metadata));
    // the optimizer state in torch.optim's layout, from the checkpoint just written (stopped runs too)
    exportTorchOptimizer(out);
    const code = run.stopped(r, weights);
    if (code !== undefined) return code;
    console.log(`• ${r.stopped} after ${r.steps} steps in ${formatSeconds(r.seconds)}; best validation loss ${r.bestValid ?? '-'}; weights ${weights}`);
    const report = scene && (await sceneReport(model, stage, scene, resolution));
    if (report) {
      writeFileAtomic(join(out, 'heldout.json'), JSON.stringify(report, null, 2) + '\n');
      printSceneReport(report);
    }
  } finally {
    files?.close();
    model?.dispose();
    run.close();
  }
}
