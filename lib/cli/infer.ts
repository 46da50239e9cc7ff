/** `specfuse infer`: fuse a scene of any size with a trained model (tiled), write GeoTIFF or .mat and a preview. */
import { resolve } from 'node:path';
import { checkWritableFile } from '../atomic.js';
import { createModel, type ModelConfig } from '../models/index.js';
import { sniffFormat } from '../data/index.js';
import { recordedConfig } from '../model-file.js';
import { fuseFusionScene, fusedFormat, readFusionScene, writeFusedImage } from '../workflows/scene-fusion.js';
import { checkInputFiles, countOption, finiteOption, parse, positiveOption, UsageError } from './args.js';
import { bandsMismatch, checkPreset, chooseModel, loadWeightsExplained } from './weights-hints.js';
import { printWarning, withCliErrors } from './library-errors.js';
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

export async function inferCommand(argv: string[]): Promise<void> {
  const { values: v } = parse(argv, {
    model: { type: 'string' },
    preset: { type: 'string' },
    weights: { type: 'string' },
    input: { type: 'string' },
    pan: { type: 'string' },
    ms: { type: 'string' },
    lms: { type: 'string' },
    scale: { type: 'string' },
    'fill-non-finite': { type: 'string' },
    sensor: { type: 'string' },
    out: { type: 'string' },
    stride: { type: 'string' },
    'batch-size': { type: 'string' },
    device: { type: 'string' },
  });
  if (v.help) {
    console.log(inferHelp);
    return;
  }
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
  await withCliErrors(async () => fusedFormat(out));
  checkWritableFile(out, '--out');
  const fill = finiteOption(v['fill-non-finite'], 'fill-non-finite');
  const scale = positiveOption(v.scale, 'scale');
  const stride = countOption(v.stride, 'stride'),
    batchSize = countOption(v['batch-size'], 'batch-size');
  const source = v.input ?? { pan: v.pan!, ...(v.ms ? { ms: v.ms } : {}), ...(v.lms ? { lms: v.lms } : {}) };
  await withCliErrors(
    async () => {
      const scene = await readFusionScene(source, { sensor: v.sensor, scale, fillNonFinite: fill, onWarning: printWarning });
      // before the model is built: a full PanAdapter is 160 M parameters
      const { model: modelName, recorded } = chooseModel(v.model, v.weights!, '--weights');
      // the recorded preset stands in for --preset; a --preset that differs from it is refused by checkPreset
      const preset = v.preset ?? recorded?.preset;
      const bands = scene.ms.shape[0]!;
      checkPreset(v.weights!, modelName, preset, '--weights', bands);
      if (recorded && Number(recorded.config.bands) !== bands) {
        throw new Error(`--weights: ${bandsMismatch(v.weights!, Number(recorded.config.bands), bands)}`);
      }
      // the recorded config rebuilds the model exactly (--config overrides included); a --preset the
      // file does not record overrides it
      const useRecord = recorded && (v.preset === undefined || v.preset === recorded.preset);
      const config: Record<string, unknown> = useRecord
        ? { ...recordedConfig(recorded) }
        : { model: modelName, bands, ...(v.preset ? { preset: v.preset } : {}) };
      const model = createModel(config as unknown as ModelConfig);
      try {
        await loadWeightsExplained(model, v.weights!, '--weights', preset);
        if (v.device && v.device !== 'cpu') await model.to(v.device);
        model.eval();
        const bar = new ProgressBar('tiles');
        const fused = await fuseFusionScene(model, scene, {
          stride,
          batchSize,
          fillNonFinite: fill,
          onWarning: printWarning,
          weightsName: v.weights,
          onProgress: (d, t) => bar.update(d, t),
        });
        await writeFusedImage(out, fused, { georef: scene.georef, sensor: scene.sensor });
        console.log(`• fused ${fused.shape.join('×')} → ${out}`);
      } finally {
        model.dispose();
      }
    },
    { input: '--input' },
  );
}
