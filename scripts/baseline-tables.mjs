// The classical baselines on the real WV2 and IKONOS scenes of ../shared/data (or files given as
// arguments), at reduced resolution (Wald's protocol; toolbox metrics against the original MS) and at
// full resolution (D_lambda, D_s, HQNR). Prints Markdown tables with the conventions.
// Usage: node scripts/baseline-tables.mjs [file.mat ...]
import { join } from 'node:path';
import { fromHost, degrade, runBaseline, reducedResolutionMetrics, fullResolutionMetrics, data } from '../dist/index.js';

const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['wv2_vitale.mat', 'ikonos_vitale.mat'].map((f) => join(import.meta.dirname, '..', '..', 'shared', 'data', 'pansharpening', f));
const methods = ['EXP', 'Brovey', 'BT-H', 'GSA', 'MTF-GLP-HPM'];
const f4 = (x) => x.toFixed(4);

for (const file of files) {
  const input = await data.loadPansharpeningInput(file, { dtype: 'float64' });
  const sensor = String(input.sensor ?? (file.includes('ikonos') ? 'IKONOS' : 'WV2')).toUpperCase();
  const ms = fromHost(input.ms ?? input.lms),
    pan = fromHost(input.pan);
  const rr = await degrade({ ms, pan, sensor, dtype: 'float64' });
  console.log(`\n### ${file.split('/').pop()} (${sensor}, MS ${ms.shape.join('×')}, PAN ${pan.shape.join('×')})\n`);
  console.log(
    `Reduced resolution (Wald: MTF + decimation of the MS, bicubic PAN; reference = the original MS ${rr.gt.shape.join('×')}); ` +
      'ratio 4, 11 bits, Q blocks 32, no border cut, no clipping:\n',
  );
  console.log('| method | SAM ↓ | ERGAS ↓ | Q2n ↑ | SCC ↑ | Q ↑ |\n|---|---|---|---|---|---|');
  for (const m of methods) {
    const fused = await runBaseline(m, { ms: rr.ms, pan: rr.pan, lms: rr.lms, sensor });
    const r = await reducedResolutionMetrics(fused, rr.gt, { ratio: 4, bits: 11, metrics: ['SAM', 'ERGAS', 'Q2n', 'SCC', 'Q'] });
    console.log(`| ${m} | ${f4(r.SAM)} | ${f4(r.ERGAS)} | ${f4(r.Q2n)} | ${f4(r.SCC)} | ${f4(r.Q)} |`);
    fused.dispose();
  }
  console.log(
    '\nFull resolution (no reference; D_lambda toolbox mode on 32×32 blocks, D_s with PAN_LP = interp23tap(imresize(PAN, 1/4)), HQNR = (1 − D_lambda^K)(1 − D_s)):\n',
  );
  console.log('| method | D_λ ↓ | D_s ↓ | QNR ↑ | D_λ^K ↓ | HQNR ↑ |\n|---|---|---|---|---|---|');
  for (const m of methods) {
    const fused = await runBaseline(m, { ms, pan, sensor });
    const r = await fullResolutionMetrics(fused, { ms, pan, sensor, ratio: 4, bits: 11 });
    console.log(`| ${m} | ${f4(r.D_lambda)} | ${f4(r.D_s)} | ${f4(r.QNR)} | ${f4(r.D_lambda_K)} | ${f4(r.HQNR)} |`);
    fused.dispose();
  }
  for (const t of [ms, pan, rr.gt, rr.lms, rr.ms, rr.pan]) t.dispose();
}
