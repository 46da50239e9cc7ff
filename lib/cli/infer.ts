/** `specfuse infer`: fuse a scene of any size with a trained model (tiled), write GeoTIFF or .mat and a preview. */
import { resolve } from 'node:path';
import { createModel, type ModelConfig } from '../models/index.js';
import { loadWeights } from '../weights.js';
import { fuseScene } from '../infer.js';
import { fromHost } from '../tensor.js';
import { interp23tap } from '../protocol/index.js';
import { loadPansharpeningInput, sensorScale, writeGeoTiff, writeH5Array, writeMatFile, writePreviewPng } from '../data/index.js';
import { intOption, parse, UsageError } from './args.js';
import { ProgressBar } from './progress.js';

export const inferHelp = `specfuse infer --model NAME --weights W --input FILE --out FUSED.tif|.mat [options]

Fuses a full scene (any size) with a trained model: overlapping 64×64 tiles, batched, averaged.
  --model     panadapter | pnn | pannet | dicnn | fusionnet;  --preset (panadapter)
  --weights   .safetensors or torch.save file (loaded strictly)
  --input     .mat (I_MS/I_PAN or ms/pan/lms), .h5 (first sample) or GeoTIFF
  --sensor    when the file does not say (for the scale and preview bands)
  --out       .tif (GeoTIFF, georeference kept when the input has one), .h5 (dataset 'sr', 1×C×H×W)
              or .mat (variable 'sr', H×W×C), in DN; a PNG preview beside it
  --stride    tile step (default 32);  --batch-size  default 16;  --device  cpu or cuda`;

export async function inferCommand(argv: string[]): Promise<void> {
  const { values: v } = parse(argv, {
    model: { type: 'string' }, preset: { type: 'string' }, weights: { type: 'string' }, input: { type: 'string' },
    sensor: { type: 'string' }, out: { type: 'string' }, stride: { type: 'string' }, 'batch-size': { type: 'string' }, device: { type: 'string' },
  });
  if (v.help) { console.log(inferHelp); return; }
  for (const k of ['model', 'weights', 'input', 'out'] as const) if (!v[k]) throw new UsageError(`--${k} is required`);
  const input = await loadPansharpeningInput(v.input!, { dtype: 'float32' });
  const sensor = v.sensor ?? input.sensor;
  if (!sensor) throw new UsageError('--sensor: the input does not name its sensor');
  const scale = sensorScale(String(sensor));
  const pick = (a: typeof input.pan | undefined) => (a && input.layout === 'NCHW' ? { ...a, shape: a.shape.slice(1), data: a.data.subarray(0, a.data.length / a.shape[0]!) } as typeof a : a);
  const msH = pick(input.ms), panH = pick(input.pan)!, lmsH = pick(input.lms);
  if (!msH) throw new UsageError('--input: no MS (I_MS_LR / ms) in the file');
  const config: Record<string, unknown> = { model: v.model, bands: msH.shape[0] };
  if (v.preset) config.preset = v.preset;
  const model = createModel(config as unknown as ModelConfig);
  const made = [];
  try {
    await loadWeights(model, v.weights!);
    if (v.device && v.device !== 'cpu') await model.to(v.device);
    model.eval();
    const ms = fromHost(msH); made.push(ms);
    const lms = lmsH ? fromHost(lmsH) : await interp23tap(ms, 4, { dtype: 'float32' }); made.push(lms);
    const pan = fromHost(panH); made.push(pan);
    const n = [ms.div(scale), lms.div(scale), pan.div(scale)]; made.push(...n);
    const bar = new ProgressBar('tiles');
    const fused = await fuseScene(model, { ms: n[0]!, lms: n[1]!, pan: n[2]! }, {
      stride: intOption(v.stride, 'stride'), batchSize: intOption(v['batch-size'], 'batch-size'), onProgress: (d, t) => bar.update(d, t),
    });
    made.push(fused);
    const dn = fused.mul(scale); made.push(dn);
    const host = await dn.toHost();
    const out = resolve(v.out!);
    if (out.endsWith('.h5')) {
      await writeH5Array(out, 'sr', { ...host, shape: [1, ...host.shape] }); // N×C×H×W, as PanCollection
    } else if (out.endsWith('.mat')) {
      const hwc = dn.permute([1, 2, 0]).contiguous(); made.push(hwc); // MATLAB's H×W×C
      writeMatFile(out, { sr: await hwc.toHost() });
    } else {
      writeGeoTiff(out, host, { georef: input.georef });
    }
    writePreviewPng(out.replace(/\.(tif|tiff|mat|h5)$/i, '') + '.png', host, { sensor: String(sensor) });
    console.log(`• fused ${host.shape.join('×')} → ${out}`);
  } finally {
    for (const t of made) if (!t.disposed) t.dispose();
    model.dispose();
  }
}
