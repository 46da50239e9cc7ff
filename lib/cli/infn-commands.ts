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

/** True when the command line asks for --model infn (the INF commands take other options). */
export function wantsInfn(argv: readonly string[]): boolean {
  return argv.some((a, i) => a === '--model=infn' || (a === '--model' && argv[i + 1] === 'infn'));
}

const DATA_OPTIONS = `  --data         reference cube: a folder of band PNGs (CAVE: <scene>_ms_01.png …, 16-bit / 65535)
                 or a .mat cube (H×W×C; Harvard 'ref' is divided by its maximum); --key VAR picks the variable
  --wavelengths  band centres in nm, 'first:step' or a comma list (default 400:10, CAVE/Harvard-style)
  --ratio        HR/LR ratio r, 4 (default) or 8 (any integer that divides the image)
  --blur-size, --blur-sigma   LR-HSI Gaussian blur before decimation (default 3 and 0.5)
  --test-crop    side of the held-out crops (default 128): they tile the right-most strip of that
                 width; training patches keep clear of it by r pixels`;

export const infnTrainHelp = `specfuse train --model infn --data CUBE (--steps N | --epochs N) [options]

Trains INFN (implicit neural feature fusion, MS/HS fusion) on patches of one simulated scene: the
HR-MSI is R·X with the Nikon D700 response restricted to the cube's bands, the LR-HSI a Gaussian
blur + decimation by r, HSI_up its bicubic upsampling. Ends with PSNR/SAM/ERGAS/SSIM of the model
and of bicubic on the held-out crops (printed, and metrics.json in --out).
${DATA_OPTIONS}
  --preset       cave (default; 128 features, 4 res-blocks, MLP 256-128), harvard, tiny
  --config       JSON of INFN options over the preset, e.g. '{"hfMsi":true,"border":"clamp"}'
  --patch        HR training patch side (default 64);  --stride  default patch/2
  --steps N | --epochs N;  --batch-size  default 8;  --lr  default 1e-4 (Adam);  --loss l1 (default) | mse
  --schedule     constant (default) | cosine | step
  --out          run folder (default ./specfuse-run): checkpoints/, train.jsonl, final.safetensors
                 (aborted.safetensors when stopped by a signal), metrics.json; one run at a time per folder
  --resume       continue from the run folder's latest checkpoint (an error when there is none);
                 the options must be the run's (--steps/--epochs may grow), unless --allow-changes
  --fresh        start over in a folder that holds a run (deletes its checkpoints, log and results)
  --checkpoint-every N   steps between checkpoints (default 500)
  SIGINT/SIGTERM: the current step finishes, a checkpoint is written, exit 130/143 (resume with
  --resume); a second signal exits at once.
  --device       cpu (default) or cuda;  --seed  initial weights and batch order (default 0)`;

export const infnEvalHelp = `specfuse eval --model infn --weights FILE --data CUBE [options]

Scores a trained INFN and bicubic upsampling (PSNR, SAM in degrees, ERGAS, SSIM; data in [0, 1],
peak 1) on a simulated scene: the held-out crops (as in training) or, with --whole, the whole image.
The model configuration is read from the weights file that 'specfuse train --model infn' wrote
(--preset/--config otherwise).
${DATA_OPTIONS}
  --whole        score the whole image instead of the held-out crops
  --context      HR pixels of input context around each crop (default 16)
  --preset, --config   model options when the weights file does not carry them
  --device       cpu (default) or cuda;  --json  machine-readable output`;

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
