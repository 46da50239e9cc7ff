/** `specfuse demo`: synthetic scenes (or --data), Wald's protocol, tiny PanAdapter stages 1 and 2 on the CPU, a report. */
import { resolve } from 'node:path';
import { runDemo } from '../workflows/demo.js';
import { flags, intOption, parse } from './args.js';
import { formatSeconds, ProgressBar } from './progress.js';
import { demoHelp } from './help.js';

export async function demo(argv: string[]): Promise<void> {
  const { values } = parse(argv, flags({ strings: ['out', 'data', 'sensor', 'steps', 'batch', 'seed', 'device'] }));
  if (values.help) {
    console.log(demoHelp);
    return;
  }
  const out = resolve(values.out ?? 'specfuse-demo');
  const steps = intOption(values.steps, 'steps');
  const bars: Record<number, ProgressBar> = {};
  const result = await runDemo({
    outDir: out,
    data: values.data,
    sensor: values.sensor,
    stage1Steps: steps,
    stage2Steps: steps,
    batchSize: intOption(values.batch, 'batch'),
    seed: intOption(values.seed, 'seed'),
    device: values.device,
    log: (line) => console.log(`• ${line}`),
    onProgress: (p) => {
      const bar = (bars[p.stage] ??= new ProgressBar(`  stage ${p.stage}`));
      bar.update(
        p.step,
        p.totalSteps,
        `loss ${p.loss.toExponential(3)}${p.valid !== undefined ? ` valid ${p.valid.toExponential(3)}` : ''} ` +
          `${p.samplesPerSecond.toFixed(1)} samples/s eta ${formatSeconds(p.etaSeconds)}`,
      );
    },
  });
  console.log(`\n${result.table}\n`);
  console.log(`done in ${formatSeconds(result.seconds)}; report in ${out}:`);
  for (const f of result.files) console.log(`  ${f}`);
}
