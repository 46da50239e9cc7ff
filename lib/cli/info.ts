/** `specfuse info`: parameter counts of a model configuration (total, trainable in a stage, per module). */
import { countParameters } from '../module.js';
import { describeModel, type ModelConfig } from '../models/index.js';
import { flags, intOption, modelConfigOption, parse, UsageError } from './args.js';
import { infoHelp } from './help.js';

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
