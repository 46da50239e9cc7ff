/** `specfuse infer`: fuse a scene of any size with a trained model (tiled), write GeoTIFF or .mat and a preview. */
import { basename, extname, resolve } from 'node:path';
import { checkWritableFile } from '../atomic.js';
import { createModel, type ModelConfig } from '../models/index.js';
import { fuseScene } from '../infer.js';
import { fromHost } from '../tensor.js';
import { interp23tap } from '../protocol/index.js';
import { loadPansharpeningInput, sensorScale, sniffFormat, writeGeoTiff, writeH5Array, writeMatFile, writePreviewPng } from '../data/index.js';
import { checkInputFiles, countOption, parse, UsageError } from './args.js';
import { finitePolicy, warnIfReflectance } from './finite.js';
import { bandsMismatch, checkPreset, chooseModel, loadWeightsExplained } from './weights-hints.js';
import { recordedConfig } from '../model-file.js';
import { ProgressBar } from './progress.js';

export const inferHelp = `specfuse infer [--model NAME] --weights W (--input FILE | --pan PAN.tif --ms MS.tif) --out FUSED.tif|.h5|.mat [options]

Fuses a full scene (any size) with a trained model: overlapping 64×64 tiles, batched, averaged.
  --model     panadapter | pnn | pannet | dicnn | fusionnet;  --preset (panadapter). Not needed
              for weights written by specfuse, which record their model (flags override the record)
  --weights   .safetensors or torch.save file (loaded strictly; DLPan-Toolbox .pth checkpoints too)
  --input     .mat (I_MS/I_PAN or ms/pan/lms) or .h5 (first sample)
  --pan, --ms GeoTIFF input instead of --input (--lms optional: else interp23tap of the MS)
  --sensor    when the file does not say (for the scale and preview bands)
  --scale     the model sees input / scale (default: the sensor's DN scale, 2047 for 11-bit);
              inputs that look like reflectance ([0, 1]) get a warning unless --scale is given
  --out       .tif/.tiff (GeoTIFF, georeference kept when the input has one), .h5 (dataset 'sr',
              1×C×H×W) or .mat (variable 'sr', H×W×C), in DN; a PNG preview beside it. The folder
              is checked before the work; files are written whole or not at all
  --fill-non-finite V   replace NaN/±Inf input pixels and outputs by V (default: an error that
              says how many and where)
  --stride    tile step (default 32);  --batch-size  default 16;  --device  cpu or cuda`;

const FORMATS: Record<string, 'tif' | 'h5' | 'mat'> = { '.tif': 'tif', '.tiff': 'tif', '.h5': 'h5', '.mat': 'mat' };

export async function inferCommand(argv: string[]): Promise<void> {
  const { values: v } = parse(argv, {
    model: { type: 'string' }, preset: { type: 'string' }, weights: { type: 'string' }, input: { type: 'string' },
    pan: { type: 'string' }, ms: { type: 'string' }, lms: { type: 'string' }, scale: { type: 'string' }, 'fill-non-finite': { type: 'string' },
    sensor: { type: 'string' }, out: { type: 'string' }, stride: { type: 'string' }, 'batch-size': { type: 'string' }, device: { type: 'string' },
  });
  if (v.help) { console.log(inferHelp); return; }
  for (const k of ['weights', 'out'] as const) if (!v[k]) throw new UsageError(`--${k} is required`);
  checkInputFiles({ weights: v.weights, input: v.input, pan: v.pan, ms: v.ms, lms: v.lms });
  const tifs = (['pan', 'ms', 'lms'] as const).filter((k) => v[k] !== undefined);
  if (v.input !== undefined && tifs.length) throw new UsageError(`give --input, or GeoTIFFs with --${tifs.join('/--')}, not both`);
  if (v.input === undefined && !tifs.length) throw new UsageError('--input is required (or --pan and --ms GeoTIFFs)');
  if (tifs.length && !(v.pan && (v.ms || v.lms))) throw new UsageError('GeoTIFF input needs --pan and --ms (or --lms)');
  if (v.input !== undefined && sniffFormat(v.input) === 'tif') {
    throw new UsageError(`--input: ${v.input} is a GeoTIFF, which holds one image: pass GeoTIFF input as --pan PAN.tif --ms MS.tif`);
  }
  // where the result goes, checked before any work
  const out = resolve(v.out!);
  const format = FORMATS[extname(out).toLowerCase()];
  if (!format) throw new UsageError(`--out: no writer for '${extname(out) || basename(out)}': give a .tif, .tiff, .h5 or .mat file name`);
  checkWritableFile(out, '--out');
  const preview = out.slice(0, -extname(out).length) + '.png';
  let fill: number | undefined;
  if (v['fill-non-finite'] !== undefined) {
    fill = Number(v['fill-non-finite']);
    if (!Number.isFinite(fill)) throw new UsageError(`--fill-non-finite: expected a finite number, got '${v['fill-non-finite']}'`);
  }
  let scaleArg: number | undefined;
  if (v.scale !== undefined) {
    scaleArg = Number(v.scale);
    if (!(Number.isFinite(scaleArg) && scaleArg > 0)) throw new UsageError(`--scale: expected a positive number, got '${v.scale}'`);
  }
  const stride = countOption(v.stride, 'stride'), batchSize = countOption(v['batch-size'], 'batch-size');

  const source = v.input ?? { pan: v.pan!, ...(v.ms ? { ms: v.ms } : {}), ...(v.lms ? { lms: v.lms } : {}) };
  const inputName = v.input ?? v.pan!;
  const input = await loadPansharpeningInput(source, { dtype: 'float32' });
  const sensor = v.sensor ?? input.sensor;
  if (!sensor && scaleArg === undefined) throw new UsageError('--sensor: the input does not name its sensor (give --sensor, or --scale)');
  const scale = scaleArg ?? sensorScale(String(sensor));
  const pick = (a: typeof input.pan | undefined) => (a && input.layout === 'NCHW' ? { ...a, shape: a.shape.slice(1), data: a.data.subarray(0, a.data.length / a.shape[0]!) } as typeof a : a);
  const msH = pick(input.ms), panH = pick(input.pan)!, lmsH = pick(input.lms);
  if (!msH) throw new UsageError(`--input: no MS (I_MS_LR / ms) in ${inputName}`);
  const fix = 'fix the input (e.g. fill or mask the bad pixels)';
  finitePolicy(`the MS of ${inputName}`, msH, fill, fix);
  finitePolicy(`the PAN of ${inputName}`, panH, fill, fix);
  finitePolicy(`the LMS of ${inputName}`, lmsH, fill, fix);
  warnIfReflectance([msH, panH], scale, scaleArg !== undefined);
  // before the model is built: a full PanAdapter is 160 M parameters
  const { model: modelName, recorded } = chooseModel(v.model, v.weights!, '--weights');
  // the recorded preset stands in for --preset; a --preset that differs from it is refused by checkPreset
  const preset = v.preset ?? recorded?.preset;
  checkPreset(v.weights!, modelName, preset, '--weights', msH.shape[0]);
  const bands = msH.shape[0]!;
  if (recorded && Number(recorded.config.bands) !== bands) {
    throw new Error(`--weights: ${bandsMismatch(v.weights!, Number(recorded.config.bands), bands)}`);
  }
  // the recorded config rebuilds the model exactly (--config overrides included); a --preset the
  // file does not record overrides it
  const useRecord = recorded && (v.preset === undefined || v.preset === recorded.preset);
  const config: Record<string, unknown> = useRecord ? { ...recordedConfig(recorded) } : { model: modelName, bands, ...(v.preset ? { preset: v.preset } : {}) };
  const model = createModel(config as unknown as ModelConfig);
  const made = [];
  try {
    await loadWeightsExplained(model, v.weights!, '--weights', preset);
    if (v.device && v.device !== 'cpu') await model.to(v.device);
    model.eval();
    const ms = fromHost(msH); made.push(ms);
    const lms = lmsH ? fromHost(lmsH) : await interp23tap(ms, 4, { dtype: 'float32' }); made.push(lms);
    const pan = fromHost(panH); made.push(pan);
    const n = [ms.div(scale), lms.div(scale), pan.div(scale)]; made.push(...n);
    const bar = new ProgressBar('tiles');
    const fused = await fuseScene(model, { ms: n[0]!, lms: n[1]!, pan: n[2]! }, {
      stride, batchSize, onProgress: (d, t) => bar.update(d, t),
    });
    made.push(fused);
    const dn = fused.mul(scale); made.push(dn);
    const host = await dn.toHost();
    finitePolicy('the fused image', host, fill, `the input is finite, so the weights ${v.weights} are the likely cause (corrupt, or trained on other data)`);
    if (format === 'h5') {
      await writeH5Array(out, 'sr', { ...host, shape: [1, ...host.shape] }); // N×C×H×W, as PanCollection
    } else if (format === 'mat') {
      const hwc = fromHost(host).permute([1, 2, 0]).contiguous(); made.push(hwc); // MATLAB's H×W×C
      writeMatFile(out, { sr: await hwc.toHost() });
    } else {
      writeGeoTiff(out, host, { georef: input.georef });
    }
    writePreviewPng(preview, host, { sensor: sensor ? String(sensor) : undefined });
    console.log(`• fused ${host.shape.join('×')} → ${out}`);
  } finally {
    for (const t of made) if (!t.disposed) t.dispose();
    model.dispose();
  }
}
