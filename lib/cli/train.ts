/** `specfuse train`: one stage of a model on PanCollection .h5 data, with checkpoints and a progress bar. */
import { resolve, join } from 'node:path';
import { createModel, type ModelConfig } from '../models/index.js';
import { train, PanCollectionDataset } from '../train/index.js';
import { loadWeights, saveWeights, loadPanAdapterPretrained } from '../weights.js';
import { intOption, parse, UsageError } from './args.js';
import { formatSeconds, ProgressBar } from './progress.js';
import { infnTrain, wantsInfn } from './infn.js';

export const trainHelp = `specfuse train --model NAME --data TRAIN.h5 --stage S [options]

Trains one stage of a model on a PanCollection .h5 file (gt, lms, ms, pan; read by sample, never
loaded whole), with validation, atomic checkpoints, exact resume and a JSONL log.
  --model        panadapter | pnn | pannet | dicnn | fusionnet
  --preset       panadapter: wv3, wv2, qb, gf2, ikonos or tiny
  --bands        band count (default: the preset's, or 8)
  --stage        1 or 2 (PanAdapter: stage 2 starts from stage 1's weights, see --init)
  --data         training .h5;  --valid  validation .h5
  --scale        divide the data by this (default: by sensor from the file name, 2047 or 1023 for GF2)
  --epochs N | --steps N
  --batch-size   default 4;  --lr  default 1e-4;  --schedule constant|cosine|step
  --init         weights to start from (.safetensors or a torch.save file), loaded strictly
  --ipt, --edsr  PanAdapter's pre-trained IPT_pretrain.pt and edsr_baseline_x2 checkpoints
  --out          run folder (default ./specfuse-run): checkpoints/, train.jsonl, final.safetensors
  --resume       continue from the run folder's latest checkpoint
  --device       cpu (default) or cuda;  --bf16  autocast in bfloat16;  --seed  default 0
INFN (MS/HS fusion from a hyperspectral cube): see 'specfuse train --model infn --help'.`;

class ScaledDataset {
  constructor(private readonly inner: PanCollectionDataset, private readonly scale: number) {}
  get length() { return this.inner.length; }
  get keys() { return this.inner.keys; }
  async batch(indices: readonly number[]) {
    const b = await this.inner.batch(indices);
    for (const a of Object.values(b)) {
      const d = a.data as Float32Array;
      for (let i = 0; i < d.length; i++) d[i]! /= this.scale;
    }
    return b;
  }
}

export async function trainCommand(argv: string[]): Promise<void> {
  if (wantsInfn(argv)) return infnTrain(argv);
  const { values: v } = parse(argv, {
    model: { type: 'string' }, preset: { type: 'string' }, bands: { type: 'string' }, stage: { type: 'string' },
    data: { type: 'string' }, valid: { type: 'string' }, scale: { type: 'string' }, epochs: { type: 'string' }, steps: { type: 'string' },
    'batch-size': { type: 'string' }, lr: { type: 'string' }, schedule: { type: 'string' }, init: { type: 'string' },
    ipt: { type: 'string' }, edsr: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' },
    device: { type: 'string' }, bf16: { type: 'boolean' }, seed: { type: 'string' },
  });
  if (v.help) { console.log(trainHelp); return; }
  if (!v.model) throw new UsageError('--model is required');
  if (!v.data) throw new UsageError('--data is required');
  if ((v.epochs === undefined) === (v.steps === undefined)) throw new UsageError('give exactly one of --epochs and --steps');
  const config: Record<string, unknown> = { model: v.model };
  if (v.preset) config.preset = v.preset;
  const bands = intOption(v.bands, 'bands');
  if (bands !== undefined) config.bands = bands;
  const model = createModel(config as unknown as ModelConfig);
  const out = resolve(v.out ?? 'specfuse-run');
  const data = await PanCollectionDataset.open(v.data);
  const valid = v.valid ? await PanCollectionDataset.open(v.valid) : undefined;
  try {
    const scale = v.scale ? Number(v.scale) : (await import('../data/index.js')).sensorScale(String((await import('../data/index.js')).sensorFromPath(v.data) ?? 'wv3'));
    if (!(scale > 0)) throw new UsageError('--scale: expected a positive number');
    if (v.ipt || v.edsr) {
      const r = await loadPanAdapterPretrained(model, { ipt: v.ipt, edsr: v.edsr });
      for (const [k, rep] of Object.entries(r)) console.log(`• ${k}: loaded ${rep!.loaded.length} tensors, ignored ${rep!.ignored.length}`);
    }
    if (v.init) {
      const r = await loadWeights(model, v.init);
      console.log(`• init: loaded ${r.loaded.length} tensors from ${v.init}`);
    }
    if (v.device && v.device !== 'cpu') await model.to(v.device);
    const stage = intOption(v.stage, 'stage') ?? Number(Object.keys(model.spec.stages)[0]);
    const schedule = v.schedule ? { kind: v.schedule as 'constant' | 'cosine' } : undefined;
    const bar = new ProgressBar(`stage ${stage}`);
    model.setStage(stage);
    const c = model.parameterCounts();
    console.log(`• ${v.model}${v.preset ? ` (${v.preset})` : ''}, stage ${stage}: ${c.trainable.toLocaleString('en-US')} of ${c.total.toLocaleString('en-US')} parameters trainable; ${data.length} samples`);
    const ac = new AbortController();
    process.once('SIGINT', () => { console.error('\n• stopping after this step (a checkpoint will be written)'); ac.abort(); });
    const r = await train(model, {
      stage, data: new ScaledDataset(data, scale), valid: valid ? new ScaledDataset(valid, scale) : undefined,
      epochs: intOption(v.epochs, 'epochs'), steps: intOption(v.steps, 'steps'), batchSize: intOption(v['batch-size'], 'batch-size') ?? 4,
      lr: v.lr ? Number(v.lr) : 1e-4, schedule, seed: intOption(v.seed, 'seed') ?? 0, autocast: v.bf16 ? 'bf16' : 'none',
      checkpointDir: join(out, 'checkpoints'), checkpointEvery: 200, resume: v.resume ?? false, logFile: join(out, 'train.jsonl'),
      signal: ac.signal, device: v.device,
      onProgress: (p) => bar.update(p.step, p.totalSteps, `loss ${p.loss.toExponential(3)} lr ${p.lr.toExponential(2)} ${p.samplesPerSecond.toFixed(1)} samples/s eta ${formatSeconds(p.etaSeconds)}`),
    });
    await saveWeights(model, join(out, 'final.safetensors'), { stage: String(stage) });
    console.log(`• ${r.stopped} after ${r.steps} steps in ${formatSeconds(r.seconds)}; best validation loss ${r.bestValid ?? '-'}; weights ${join(out, 'final.safetensors')}`);
  } finally {
    data.close(); valid?.close(); model.dispose();
  }
}
