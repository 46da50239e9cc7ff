import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PyDict, Refused, extractStateDict, loadCheckpointFile, loadCheckpointFileSync, readTorchCheckpoint } from '../../lib/checkpoint-formats/index.js';
import { FIXTURES, WEIGHTS, bytesOf, diffExpected, pythonUnavailable, runPython, tempDir } from './fixtures/helpers.js';
import type { ExpectedTensor } from './fixtures/helpers.js';

// The shared weights are read in place; they are never copied into the repository.
const PNNPLUS = join(WEIGHTS, 'pnnplus/WV3_PNNplus_model.pth.tar');
const DLPAN = join(WEIGHTS, 'dlpan');
const dlpanFiles = existsSync(DLPAN) ? readdirSync(DLPAN).flatMap((sensor) => readdirSync(join(DLPAN, sensor)).map((f) => join(DLPAN, sensor, f))) : [];

t.test('PNN+ checkpoint: model_state beside a pickled module', { skip: existsSync(PNNPLUS) ? false : `no ${PNNPLUS}` }, async (t) => {
  const sd = await loadCheckpointFile(PNNPLUS);
  t.same(
    [...sd].map(([k, v]) => [k, v.dtype, v.shape]),
    [
      ['conv1.weight', 'float32', [48, 9, 9, 9]],
      ['conv1.bias', 'float32', [48]],
      ['conv2.weight', 'float32', [32, 48, 5, 5]],
      ['conv2.bias', 'float32', [32]],
      ['conv3.weight', 'float32', [8, 32, 5, 5]],
      ['conv3.bias', 'float32', [8]],
    ],
    'exactly the six model_state tensors',
  );

  const { root } = readTorchCheckpoint(readFileSync(PNNPLUS));
  t.ok(root instanceof PyDict);
  const model = (root as PyDict).get('model');
  // The module object is never built: the reader only records what it would have had to run.
  t.ok(model instanceof Refused && model.qualname === 'model_wv3.APNN', 'the APNN module stays an inert marker');
  t.throws(() => extractStateDict(root, { keys: ['model'] }), { code: 'refused', message: /model_wv3\.APNN/ });
});

t.test('DL-Pan checkpoints all load', { skip: dlpanFiles.length ? false : `no files under ${DLPAN}` }, async (t) => {
  for (const f of dlpanFiles) {
    const sd = loadCheckpointFileSync(f);
    t.ok(sd.size > 0 && [...sd.values()].every((h) => h.dtype === 'float32'), `${f}: ${sd.size} float32 tensors`);
  }
});

t.test('FusionNet: aliased backbone.* entries', { skip: existsSync(join(DLPAN, 'WV3/fusionnet.pth')) ? false : 'no fusionnet.pth' }, async (t) => {
  const sd = loadCheckpointFileSync(join(DLPAN, 'WV3/fusionnet.pth'));
  t.equal(sd.size, 36);
  for (let i = 0; i < 4; i++) {
    for (const p of ['conv20.weight', 'conv20.bias', 'conv21.weight', 'conv21.bias']) {
      const a = sd.get(`res${i + 1}.${p}`)!;
      const b = sd.get(`backbone.${i}.${p}`)!;
      t.same(bytesOf(b), bytesOf(a), `backbone.${i}.${p} aliases res${i + 1}.${p}`);
      t.not(a.data.buffer, b.data.buffer, 'but each entry owns its copy');
    }
  }
});

t.test('bit-exact against torch.load', { skip: pythonUnavailable(['torch']) || (existsSync(PNNPLUS) ? false : 'no weights') }, async (t) => {
  const dir = tempDir(t);
  const files = [PNNPLUS, ...dlpanFiles];
  runPython([join(FIXTURES, 'dump_checkpoint.py'), dir, ...files]);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, Record<string, ExpectedTensor>>;
  for (const f of files) {
    const sd = loadCheckpointFileSync(f);
    const want = manifest[f]!;
    t.same([...sd.keys()], Object.keys(want), `${f}: names in order`);
    const bad = Object.entries(want)
      .map(([k, w]) => [k, diffExpected(sd.get(k), w, join(dir, 'bins'))])
      .filter(([, d]) => d);
    t.same(bad, [], `${f}: every tensor bit-exact`);
  }
});
