// Held-out table of one real scene: networks (trained with `specfuse train --scene`, or the
// pre-trained DLPan checkpoints) and the classical methods on exactly the tiles `train --scene`
// holds out (Wald's protocol, the right quarter, 80×80 tiles), with the toolbox metrics on DN,
// without a border cut and with the 21-pixel cut. Prints two Markdown tables.
// Usage: node scripts/scene-table.mjs SCENE.mat LABEL=MODEL:WEIGHTS [LABEL=MODEL:WEIGHTS ...]
//   MODEL: pnn | pannet | dicnn | fusionnet; WEIGHTS: a run's .safetensors or a DLPan .pth
import { createModel, loadDlpanWeights, loadWeights } from '../dist/index.js';
import { sceneData, heldOutReport } from '../dist/workflows/scene-training.js';

const [scene, ...specs] = process.argv.slice(2);
if (!scene || specs.length === 0) {
  console.error('usage: node scripts/scene-table.mjs SCENE.mat LABEL=MODEL:WEIGHTS [...]');
  process.exit(2);
}
const data = await sceneData(scene, { resolution: 'reduced', patch: 64, holdout: 0.25, heldOutPatch: 80 });
const bands = data.heldOut.lms.shape[1];
const models = [];
for (const spec of specs) {
  const m = /^([^=]+)=(\w+):(.+)$/.exec(spec);
  if (!m) throw new Error(`expected LABEL=MODEL:WEIGHTS, got '${spec}'`);
  const model = createModel({ model: m[2], bands });
  if (/\.safetensors$/.test(m[3])) await loadWeights(model, m[3]);
  else await loadDlpanWeights(model, m[3]);
  models.push({ name: m[1], model, stage: Number(Object.keys(model.spec.stages)[0]) });
}
const [first, ...others] = models;
const report = await heldOutReport(first.model, first.stage, data.heldOut, 'reduced', data.sensor, data.scale, others);
const rename = (methods) => Object.fromEntries(Object.entries(methods).map(([k, v]) => [k === first.model.spec.family ? first.name : k, v]));
const f4 = (x) => x.toFixed(4);
for (const [title, methods] of [
  ['no border cut', report.methods],
  ['21-pixel border cut', report.cut21],
]) {
  console.log(`\n${scene.split('/').pop()}: ${report.tiles} held-out 80×80 tiles, ${title}\n`);
  console.log('| method | SAM ↓ | ERGAS ↓ | Q2n ↑ | PSNR ↑ |\n|---|---|---|---|---|');
  for (const [name, r] of Object.entries(rename(methods))) console.log(`| ${name} | ${f4(r.SAM)} | ${f4(r.ERGAS)} | ${f4(r.Q2n)} | ${f4(r.PSNR)} |`);
}
for (const m of models) m.model.dispose();
