/** `specfuse infer`: fuse a scene of any size with a trained model (tiled), write GeoTIFF or .mat and a preview. */
import { resolve } from 'node:path';
import { checkWritableFile } from '../atomic.js';
import { createModel } from '../models/index.js';
import { configForWeights } from '../model-file.js';
import { fuseFusionScene, fusedFormat, readFusionScene, writeFusedImage } from '../workflows/scene-fusion.js';
import { checkInputFiles, inputSource, countOption, finiteOption, flags, parse, positiveOption, UsageError } from './args.js';
import { bandsMismatch, checkPreset, chooseModel, loadWeightsExplained } from './weights-hints.js';
import { printWarning, withCliErrors } from './library-errors.js';
import { ProgressBar } from './progress.js';
import { inferHelp } from './help.js';

export async function inferCommand(argv: string[]): Promise<void> {
  const strings = [
    'model',
    'preset',
    'weights',
    'input',
    'pan',
    'ms',
    'lms',
    'scale',
    'fill-non-finite',
    'sensor',
    'out',
    'stride',
    'batch-size',
    'device',
  ] as const;
  const { values: v } = parse(argv, flags({ strings }));
  if (v.help) {
    console.log(inferHelp);
    return;
  }
  for (const k of ['weights', 'out'] as const) if (!v[k]) throw new UsageError(`--${k} is required`);
  checkInputFiles({ weights: v.weights, input: v.input, pan: v.pan, ms: v.ms, lms: v.lms });
  const hint = ', which holds one image: pass GeoTIFF input as --pan PAN.tif --ms MS.tif';
  const source = inputSource(v.input, 'input', { pan: v.pan, ms: v.ms, lms: v.lms }, hint);
  // where the result goes, checked before any work
  const out = resolve(v.out!);
  await withCliErrors(async () => fusedFormat(out));
  checkWritableFile(out, '--out');
  const fill = finiteOption(v['fill-non-finite'], 'fill-non-finite');
  const scale = positiveOption(v.scale, 'scale');
  const stride = countOption(v.stride, 'stride'),
    batchSize = countOption(v['batch-size'], 'batch-size');
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
      const model = createModel(configForWeights(recorded, modelName, bands, v.preset));
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
