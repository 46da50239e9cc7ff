/** `specfuse train`: one stage of a model on PanCollection .h5 data, with checkpoints and a progress bar. */
import { resolve } from 'node:path';
import { validateSchedule, parseLoggerKinds, parseGroupsOption, resolveMonitor, type Schedule, type TrainResult } from '../train/index.js';
import { reducedMetricNames, type ReducedMetricName } from '../metrics/index.js';
import { formatSceneReport } from '../workflows/scene-training.js';
import { trainInRunFolder, type RunFolderTrainingOptions } from '../workflows/run-folder-training.js';
import type { ModelConfig } from '../models/index.js';
import { checkPreset, loadWeightsExplained } from './weights-hints.js';
import {
  checkInputFiles,
  countOption,
  flags,
  stepsOrEpochs,
  intOption,
  modelConfigOption,
  numberOption,
  oneOfOption,
  parse,
  usage,
  UsageError,
  type Values,
} from './args.js';
import { startTrainingRun } from './training-run.js';
import { distributedEnv } from '../distributed/index.js';
import { launchLocal, withoutOption } from '../train/launch.js';
import { formatSeconds, ProgressBar, stepInfo } from './progress.js';
import { withCliErrors } from './library-errors.js';
import { infnTrain, wantsInfn } from './infn-commands.js';

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

const TRAIN_FLAGS = flags({
  strings: [
    ['model', 'preset', 'bands', 'config', 'stage', 'ipt', 'edsr', 'device', 'seed', 'nproc'],
    ['data', 'valid', 'scale', 'scene', 'resolution', 'patch', 'stride', 'holdout', 'held-out-patch', 'sensor'],
    ['epochs', 'steps', 'batch-size', 'lr', 'loss', 'optimizer', 'weight-decay', 'clip-grad-norm', 'nan-policy', 'groups'],
    ['schedule', 'warmup', 'step-size', 'gamma', 'min-lr'],
    ['eval-every', 'metrics', 'monitor', 'mode', 'save-top-k', 'early-stopping', 'min-delta'],
    ['out', 'checkpoint-every', 'keep-checkpoints', 'log'],
  ],
  booleans: ['resume', 'fresh', 'allow-changes', 'bf16', 'no-decay', 'flips'],
  multiple: ['init'],
});

type TrainFlags = Values<typeof TRAIN_FLAGS>;
type FlagOptions = Omit<RunFolderTrainingOptions, 'model' | 'folder'>;

/** The workflow's training options from the flags (what a flag leaves open, the stage's recipe decides). */
function trainOptions(v: TrainFlags): FlagOptions {
  const metrics = v.metrics ? v.metrics.split(',').map((m) => m.trim()) : [];
  for (const m of metrics)
    if (!reducedMetricNames.includes(m as ReducedMetricName))
      throw new UsageError(`--metrics: unknown metric '${m}' (expected ${reducedMetricNames.join(', ')})`);
  const patience = intOption(v['early-stopping'], 'early-stopping');
  if (v.monitor) usage(() => resolveMonitor({ metric: v.monitor }, metrics));
  return {
    ...stepsOrEpochs(v),
    stage: intOption(v.stage, 'stage'),
    batchSize: countOption(v['batch-size'], 'batch-size'),
    lr: numberOption(v.lr, 'lr'),
    schedule: scheduleOption(v),
    loss: oneOfOption(v.loss, 'loss', ['mse', 'l1', 'qnr'] as const),
    optimizer: oneOfOption(v.optimizer, 'optimizer', ['adam', 'adamw', 'sgd'] as const),
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
    checkpointEvery: countOption(v['checkpoint-every'], 'checkpoint-every') ?? 200,
    allowOptionChanges: !!v['allow-changes'],
    device: v.device,
    logs: usage(() => parseLoggerKinds(v.log ?? 'jsonl')),
    scale: v.scale ? Number(v.scale) : undefined,
    data: v.data,
    valid: v.valid,
    scene: v.scene
      ? {
          path: v.scene,
          resolution: oneOfOption(v.resolution, 'resolution', ['reduced', 'full'] as const) ?? 'reduced',
          patch: intOption(v.patch, 'patch') ?? 64,
          stride: intOption(v.stride, 'stride'),
          holdout: v.holdout !== undefined ? Number(v.holdout) : 0.25,
          heldOutPatch: intOption(v['held-out-patch'], 'held-out-patch'),
          sensor: v.sensor,
          scale: v.scale ? Number(v.scale) : undefined,
        }
      : undefined,
    pretrained: { ipt: v.ipt, edsr: v.edsr },
    init: v.init ?? [],
  };
}

const loadedLine = (what: string, r: { loaded: string[]; ignored: string[] }, paths: readonly string[]) =>
  what !== 'init'
    ? `• ${what}: loaded ${r.loaded.length} tensors, ignored ${r.ignored.length}`
    : `• init: loaded ${r.loaded.length} tensors from ${paths.join(', ')}` +
      (r.ignored.length ? `; ignored ${r.ignored.length}: ${r.ignored.slice(0, 3).join(', ')}${r.ignored.length > 3 ? ', ...' : ''}` : '');

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
  // option values first: a usage error is the most direct answer, before files are looked at
  const options = trainOptions(v);
  checkInputFiles({ data: v.data, valid: v.valid, scene: v.scene, ipt: v.ipt, edsr: v.edsr });
  const inits = options.init!;
  for (const init of inits) checkInputFiles({ init });
  const config = modelConfigOption({ ...v, model: v.model });
  for (const init of inits) checkPreset(init, v.model, v.preset, '--init', config.bands as number | undefined);
  const out = resolve(v.out ?? 'specfuse-run');
  // the run folder is checked and locked before anything expensive happens
  const run = startTrainingRun(out, { resume: v.resume, fresh: v.fresh, join: follower });
  let bar: ProgressBar | undefined;
  let saved: { result: TrainResult; weights: string } | undefined;
  try {
    const r = await withCliErrors(() =>
      trainInRunFolder({
        ...options,
        model: config as unknown as ModelConfig,
        folder: run.folder,
        signal: run.signal,
        loadInit: (model, paths) => loadWeightsExplained(model, paths, '--init', v.preset),
        distributed: ranks && ranks.worldSize > 1 ? true : undefined,
        onLoaded: (what, report) => console.log(loadedLine(what, report, inits)),
        onStart: ({ model, stage, samples, heldOut }) => {
          bar = new ProgressBar(`stage ${stage}`);
          const c = model.parameterCounts(stage); // what the stage trains, counted without setting it: train() sets it (once)
          if (!follower)
            console.log(
              `• ${v.model}${v.preset ? ` (${v.preset})` : ''}, stage ${stage}: ${c.trainable.toLocaleString('en-US')} of ${c.total.toLocaleString('en-US')} parameters trainable; ${samples} samples${v.scene ? ` (${options.scene!.resolution}-resolution tiles of ${v.scene}, ${heldOut} held out)` : ''}`,
            );
        },
        onProgress: (p) => follower || bar!.update(p.step, p.totalSteps, stepInfo(p)),
        onSaved: (result, weights) => {
          saved = { result, weights };
          console.log(
            `• ${result.stopped} after ${result.steps} steps in ${formatSeconds(result.seconds)}; best validation loss ${result.bestValid ?? '-'}; weights ${weights}`,
          );
        },
      }),
    );
    if (!saved) return run.stopped(r.result, r.weights);
    if (r.report) for (const line of formatSceneReport(r.report)) console.log(line);
  } catch (e) {
    // a signal after the weights were saved stops the held-out scoring: the run itself is complete
    if (saved && run.signal.aborted) return run.stopped(saved.result, saved.weights);
    throw e;
  } finally {
    run.close();
  }
}
