/**
 * `specfuse train|eval --model infn`: MS/HS fusion with INFN on a reference hyperspectral cube (a
 * CAVE-style folder of band PNGs or a .mat cube). The HR-MSI and LR-HSI are simulated from it
 * (lib/protocol/hyperspectral-simulation.ts), training patches avoid a held-out region whose crops are scored
 * against bicubic upsampling with PSNR/SAM/ERGAS/SSIM. train.ts and eval.ts only dispatch here.
 */
import { resolve } from 'node:path';
import type { InfnPreset } from '../models/infn.js';
import {
  evaluateHyperspectralFusion,
  formatMhifScores,
  prepareMhifData,
  recordedFusionConfig,
  trainHyperspectralFusionInFolder,
  type MhifData,
} from '../workflows/hyperspectral-fusion.js';
import { countOption, flags, stepsOrEpochs, intOption, jsonObjectOption, numberOption, parse, UsageError } from './args.js';
import { withCliErrors } from './library-errors.js';
import { startTrainingRun } from './training-run.js';
import { formatSeconds, ProgressBar, stepInfo } from './progress.js';
import { infnEvalHelp, infnTrainHelp } from './help.js';

const COMMON = ['model', 'data', 'key', 'wavelengths', 'ratio', 'blur-size', 'blur-sigma', 'test-crop', 'preset', 'config', 'device'] as const;

function wavelengths(spec: string | undefined, bands: number): number[] {
  const s = spec ?? '400:10';
  if (s.includes(':')) {
    const [a, b] = s.split(':').map(Number);
    if (!Number.isFinite(a) || !Number.isFinite(b)) throw new UsageError(`--wavelengths: expected 'first:step' or a comma list, got '${s}'`);
    return Array.from({ length: bands }, (_, i) => a! + b! * i);
  }
  const list = s.split(',').map(Number);
  if (list.some((v) => !Number.isFinite(v))) throw new UsageError(`--wavelengths: expected numbers, got '${s}'`);
  if (list.length !== bands) throw new UsageError(`--wavelengths: ${list.length} given, the cube has ${bands} bands`);
  return list;
}

async function loadData(
  v: Partial<Record<(typeof COMMON)[number], string>>,
  extra: { patch?: number; stride?: number; trainPatches?: boolean; noTestRegion?: boolean },
): Promise<MhifData> {
  if (!v.data) throw new UsageError('--data is required (a folder of band PNGs or a .mat cube)');
  const ratio = intOption(v.ratio, 'ratio') ?? 4;
  return prepareMhifData(v.data, {
    ratio,
    key: v.key,
    wavelengthsFor: (bands) => wavelengths(v.wavelengths, bands),
    blurSize: intOption(v['blur-size'], 'blur-size'),
    blurSigma: numberOption(v['blur-sigma'], 'blur-sigma'),
    testCrop: intOption(v['test-crop'], 'test-crop'),
    patch: extra.patch,
    stride: extra.stride,
    trainPatches: extra.trainPatches,
    ...(extra.noTestRegion ? { testRegion: null } : {}),
  });
}

export async function infnTrain(argv: string[]): Promise<void | number> {
  const { values: v } = parse(
    argv,
    flags({
      strings: [COMMON, ['patch', 'stride', 'steps', 'epochs', 'batch-size', 'lr', 'loss', 'schedule', 'out', 'checkpoint-every', 'seed']],
      booleans: ['resume', 'fresh', 'allow-changes'],
    }),
  );
  if (v.help) {
    console.log(infnTrainHelp);
    return;
  }
  const { steps, epochs } = stepsOrEpochs(v);
  const batchSize = countOption(v['batch-size'], 'batch-size') ?? 8;
  const checkpointEvery = countOption(v['checkpoint-every'], 'checkpoint-every') ?? 500;
  const loss = v.loss ?? 'l1';
  if (loss !== 'l1' && loss !== 'mse') throw new UsageError(`--loss: expected l1 or mse, got '${loss}'`);
  // the run folder is checked and locked before the cube is read and simulated
  const out = resolve(v.out ?? 'specfuse-run');
  const run = startTrainingRun(out, { resume: v.resume, fresh: v.fresh });
  try {
    const data = await loadData(v, { patch: intOption(v.patch, 'patch') ?? 64, stride: intOption(v.stride, 'stride') });
    const preset = (v.preset ?? 'cave') as InfnPreset;
    const bar = new ProgressBar('infn');
    const r = await trainHyperspectralFusionInFolder(data, run.folder, {
      preset,
      config: jsonObjectOption(v.config, 'config', 'INFN options'),
      ratio: intOption(v.ratio, 'ratio') ?? 4,
      steps,
      epochs,
      batchSize,
      lr: numberOption(v.lr, 'lr') ?? 1e-4,
      loss,
      schedule: v.schedule ? { kind: v.schedule as 'constant' } : undefined,
      seed: intOption(v.seed, 'seed') ?? 0,
      signal: run.signal,
      checkpointEvery,
      allowOptionChanges: !!v['allow-changes'],
      device: v.device,
      onStart: ({ model, options }) => {
        const c = model.parameterCounts();
        console.log(
          `• infn (${preset}): ${c.total.toLocaleString('en-US')} parameters; ${data.bands} bands ${data.height}×${data.width}, ×${options.ratio}; ${data.trainSet!.length} training patches, ${data.testWindows.length} held-out crops`,
        );
      },
      onProgress: (p) => bar.update(p.step, p.totalSteps, stepInfo(p, 'patches')),
      onSaved: (result, weights) => console.log(`• ${result.stopped} after ${result.steps} steps in ${formatSeconds(result.seconds)}; weights ${weights}`),
    });
    if (!r.scores) return run.stopped(r.result, r.weights);
    console.log(formatMhifScores(r.scores));
  } finally {
    run.close();
  }
}

export async function infnEval(argv: string[]): Promise<void> {
  const { values: v } = parse(argv, flags({ strings: [COMMON, ['weights', 'context']], booleans: ['whole', 'json'] }));
  if (v.help) {
    console.log(infnEvalHelp);
    return;
  }
  if (!v.weights) throw new UsageError('--weights is required');
  const ratio = intOption(v.ratio, 'ratio') ?? 4;
  await withCliErrors(async () => recordedFusionConfig(v.weights!, ratio)); // before the cube is simulated at that ratio
  const data = await loadData(v, { trainPatches: false, noTestRegion: !!v.whole });
  const scores = await withCliErrors(() =>
    evaluateHyperspectralFusion(v.weights!, data, {
      ratio,
      whole: v.whole,
      context: intOption(v.context, 'context'),
      preset: v.preset as InfnPreset | undefined,
      config: jsonObjectOption(v.config, 'config', 'INFN options'),
      device: v.device,
    }),
  );
  if (v.json) console.log(JSON.stringify(scores));
  else console.log(formatMhifScores(scores));
}
