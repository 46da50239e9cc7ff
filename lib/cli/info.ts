/** `specfuse info`: parameter counts of a model configuration (total, trainable in a stage, per module). */
import { countParameters } from '../module.js';
import { describeModel, type ModelConfig } from '../models/index.js';
import { flags, intOption, modelConfigOption, parse, UsageError } from './args.js';

export const infoHelp = `specfuse info --model NAME [--preset P] [--bands N] [--stage S] [--json] [--names]

Builds the model's shapes only (no weights are allocated) and prints its parameter counts: total, trainable in
the given stage (all parameters without --stage), and per top-level module.
  --model    panadapter | crossdiff | pnn | pannet | dicnn | fusionnet | infn | mlp
  --preset   panadapter: wv3, wv2, qb, gf2, ikonos (full size) or tiny;
             crossdiff: qb, wv4, ikonos, gf2 (4 bands), wv2, wv3 (8 bands), tiny, tiny8;
             infn: cave, harvard or tiny
  --bands    override the preset's band count (4 or 8; infn: the hyperspectral bands)
  --stage    1 or 2: count what that stage trains
  --json     machine-readable output: {"total":…,"trainable":…,"modules":{…}}
  --names    also list every parameter with its shape`;

export async function info(argv: string[]): Promise<void> {
  const { values } = parse(argv, flags({ strings: ['model', 'preset', 'bands', 'stage'], booleans: ['json', 'names'] }));
  if (values.help) {
    console.log(infoHelp);
    return;
  }
  if (!values.model) throw new UsageError('--model is required');
  const config = modelConfigOption({ ...values, model: values.model });
  const stage = intOption(values.stage, 'stage');
  const { parameters } = await describeModel(config as unknown as ModelConfig, stage === undefined ? {} : { stage });
  const counts = countParameters(parameters);
  const params = values.names ? parameters.map((p) => ({ name: p.name, shape: p.shape, requiresGrad: p.requiresGrad })) : undefined;
  if (values.json) {
    console.log(JSON.stringify(params ? { ...counts, parameters: params } : counts));
    return;
  }
  const pct = (n: number) => `${((100 * n) / counts.total).toFixed(3)}%`;
  console.log(`${values.model}${values.preset ? ` (${values.preset})` : ''}${stage !== undefined ? `, stage ${stage}` : ''}`);
  console.log(`  total      ${counts.total.toLocaleString('en-US')}`);
  console.log(`  trainable  ${counts.trainable.toLocaleString('en-US')} (${pct(counts.trainable)})`);
  for (const [name, m] of Object.entries(counts.modules)) {
    console.log(`  ${name.padEnd(10)} ${m.total.toLocaleString('en-US').padStart(13)}  trainable ${m.trainable.toLocaleString('en-US')}`);
  }
  if (params) for (const p of params) console.log(`  ${p.requiresGrad ? '*' : ' '} ${p.name} [${p.shape.join(', ')}]`);
}
