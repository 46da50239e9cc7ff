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
import { rankPlacement } from '../distributed/options.js';
import { launchLocal, withoutOption } from '../train/launch.js';
import { formatSeconds, ProgressBar, stepInfo } from './progress.js';
import { withCliErrors } from './library-errors.js';
import { infnTrain } from './infn-commands.js';
import { trainHelp, wantsInfn } from './help.js';

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
  // several ranks: Gloo on the CPU, or NCCL with each rank on its GPU cuda:LOCAL_RANK
  const placement = ranks && ranks.worldSize > 1 ? usage(() => rankPlacement(options.device, ranks.localRank)) : null;
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
        device: placement?.device ?? options.device,
        distributed: placement ? (placement.backend === 'nccl' ? { backend: 'nccl' } : true) : undefined,
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
