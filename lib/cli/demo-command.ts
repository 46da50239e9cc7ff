/** `specfuse demo`: synthetic scenes (or --data), Wald's protocol, tiny PanAdapter stages 1 and 2 on the CPU, a report. */
import { resolve } from 'node:path';
import { runDemo } from '../workflows/demo.js';
import { flags, intOption, parse } from './args.js';
import { formatSeconds, ProgressBar } from './progress.js';

export const demoHelp = `specfuse demo [--out DIR] [--data FILE --sensor S] [--steps N] [--device D]

Trains the tiny PanAdapter (stage 1, then stage 2) on the CPU in a few minutes and compares it on
held-out tiles with EXP, BT-H and GSA using the toolbox metrics.
Without --data it makes its own data: procedural WorldView-3-like scenes (land-cover regions with
distinct 8-band spectra, textures, roads and buildings) observed through the sensor's MTF.
  --out      report folder (default ./specfuse-demo): report.md, metrics.json, loss-curves.svg,
             previews.png, scene.png, training logs and weights
  --data     a full-resolution MS + PAN file (.mat with I_MS/I_PAN, .h5, GeoTIFF) to use instead
  --sensor   its sensor when the file does not say (WV3, WV2, QB, GF2, IKONOS)
  --steps    optimizer steps per stage (default 240)
  --batch    batch size (default 8)
  --seed     seed of the scenes, shuffling and initialisation (default 1)
  --device   cpu (default) or cuda`;

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
