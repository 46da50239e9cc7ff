/** `specfuse eval`: a pre-trained pansharpening CNN on a file, scored against EXP with the toolbox metrics. */
import { resolve } from 'node:path';
import { checkWritableFolder } from '../atomic.js';
import { CNN_MODELS, isCnnModel } from '../models/cnn.js';
import { describeEvaluation, evaluatePansharpening, loadReleasedCnn, loadSummary, readEvaluationData } from '../workflows/pansharpening-evaluation.js';
import { chooseModel } from './weights-hints.js';
import { checkInputFiles, inputSource, cutOption, finiteOption, flags, intOption, parse, positiveOption, UsageError } from './args.js';
import { infnEval } from './infn-commands.js';
import { formatMetricTable } from '../metrics/index.js';
import { printWarning, withCliErrors } from './library-errors.js';
import { evalHelp, wantsInfn } from './help.js';

export async function evaluate(argv: string[]): Promise<void> {
  if (wantsInfn(argv)) return infnEval(argv);
  const strings = [
    'model',
    'weights',
    'data',
    'pan',
    'ms',
    'lms',
    'gt',
    'sensor',
    'sample',
    'scale',
    'bits',
    'cut',
    'device',
    'out',
    'fill-non-finite',
  ] as const;
  const { values } = parse(argv, flags({ strings, booleans: ['json'] }));
  if (values.help) {
    console.log(evalHelp);
    return;
  }
  if (!values.weights) throw new UsageError('--weights is required');
  checkInputFiles({ weights: values.weights, data: values.data, pan: values.pan, ms: values.ms, lms: values.lms, gt: values.gt });
  const { model: modelName } = chooseModel(values.model, values.weights, '--weights');
  if (!isCnnModel(modelName)) throw new UsageError(`--model: expected one of ${CNN_MODELS.join(', ')}, got '${modelName}'`);
  const sample = intOption(values.sample, 'sample');
  const cut = cutOption(values.cut);
  const scale = positiveOption(values.scale, 'scale');
  const device = values.device ?? 'cpu';
  const fill = finiteOption(values['fill-non-finite'], 'fill-non-finite');
  // the output folder is checked before the work, not after it
  const out = values.out ? resolve(values.out) : undefined;
  if (out) checkWritableFolder(out, '--out');
  const { pan, ms, lms, gt } = values;
  const source = inputSource(values.data, 'data', { pan, ms, lms, gt }, ': pass GeoTIFF input as --pan PAN.tif --ms MS.tif [--gt GT.tif]');
  await withCliErrors(async () => {
    const data = await readEvaluationData(source, { sample });
    // ---- the model and its weights (checked against the data before it is built) --------------------
    const { model, report } = await loadReleasedCnn(values.weights!, modelName, data);
    try {
      if (device !== 'cpu') await model.to(device);
      const result = await evaluatePansharpening(model, data, {
        name: modelName,
        sample,
        sensor: values.sensor,
        scale,
        bits: intOption(values.bits, 'bits'),
        cut,
        fillNonFinite: fill,
        out,
        record: { weights: values.weights, load: loadSummary(report) },
        weightsName: values.weights,
        onWarning: printWarning,
      });
      if (values.json) {
        console.log(JSON.stringify(result));
        return;
      }
      for (const line of describeEvaluation(result, values.weights!, report)) console.log(line);
      const rows = Object.keys(result.metrics).map((name) => ({ name, values: result.metrics[name]!, spread: result.std?.[name] }));
      console.log(formatMetricTable(rows, result.kind, result.bands));
      console.log(`\ninference ${result.inferenceSeconds.toFixed(2)} s on ${device}; total ${result.seconds.toFixed(2)} s`);
      for (const f of result.files) console.log(`  ${f}`);
    } finally {
      model.dispose();
    }
  });
}
