// The CLI's main jobs end to end: demo (short), train with resume, infer; usage errors.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeWv3Set } from './fixtures/pancollection.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const cli = join(root, 'bin', 'specfuse.js');
const tmp = mkdtempSync(join(tmpdir(), 'specfuse-cli-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const run = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], { cwd: tmp, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

t.test('demo: a short run writes the report, previews and weights', async (t) => {
  const out = join(tmp, 'demo');
  const text = run('demo', '--out', out, '--steps', '6');
  t.match(text, /\| EXP \|/);
  t.match(text, /\| PanAdapter stage 2 \|/);
  for (const f of ['report.md', 'metrics.json', 'loss-curves.svg', 'previews.png', 'scene.png', 'panadapter-tiny-stage2.safetensors']) {
    t.ok(existsSync(join(out, f)), f);
  }
  const png = readFileSync(join(out, 'previews.png'));
  t.same([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG');
  const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  t.ok(m.metrics.EXP.SAM.mean > 0 && m.tiles > 0);
});

t.test('train: PanCollection .h5 in, checkpoints, resume, weights out', async (t) => {
  const file = join(tmp, 'train_wv3.h5');
  await writeWv3Set(file, 512, 64);
  const out = join(tmp, 'run');
  const base = ['train', '--model', 'panadapter', '--preset', 'tiny', '--stage', '1', '--data', file, '--batch-size', '2', '--out', out];
  t.match(run(...base, '--steps', '3'), /done after 3 steps/);
  t.ok(existsSync(join(out, 'final.safetensors')) && existsSync(join(out, 'checkpoints', 'latest')));
  t.match(run(...base, '--steps', '5', '--resume'), /done after 5 steps/, 'resumed from step 3');
  const log = readFileSync(join(out, 'train.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.equal(log.filter((l) => l.event === 'resume').length, 1);
  t.same(
    log.filter((l) => l.event === 'step').map((l) => l.step),
    [1, 2, 3, 4, 5],
  );
});

t.test('train: data that does not fit the model is refused clearly', async (t) => {
  const file = join(tmp, 'small_wv3.h5');
  await writeWv3Set(file, 256, 32);
  const args = [
    'train',
    '--model',
    'panadapter',
    '--preset',
    'tiny',
    '--stage',
    '1',
    '--data',
    file,
    '--steps',
    '3',
    '--batch-size',
    '2',
    '--out',
    join(tmp, 'run2'),
  ];
  // the tiny preset's patch is 64: this 32-pixel set must be refused with a clear message
  const bad = spawnSync(process.execPath, [cli, ...args], { cwd: tmp, encoding: 'utf8' });
  t.equal(bad.status, 1);
  t.match(bad.stderr, /inputs\.(lms|pan): expected shape/);
  t.notMatch(bad.stderr, /frame #|Aborted|core dumped/);
});

t.test('infer: a whole scene, tiled, to GeoTIFF and PNG', async (t) => {
  const weights = join(tmp, 'demo', 'panadapter-tiny-stage2.safetensors');
  const out = join(tmp, 'fused.tif');
  const text = run(
    'infer',
    '--model',
    'panadapter',
    '--preset',
    'tiny',
    '--weights',
    weights,
    '--input',
    join(root, '..', 'shared', 'data', 'pansharpening', 'wv3_zpnn_example.mat'),
    '--sensor',
    'WV3',
    '--out',
    out,
  );
  t.match(text, /fused 8×128×128/);
  t.ok(existsSync(out) && existsSync(join(tmp, 'fused.png')));
  const h5 = join(tmp, 'fused.h5');
  run(
    'infer',
    '--model',
    'panadapter',
    '--preset',
    'tiny',
    '--weights',
    weights,
    '--input',
    join(root, '..', 'shared', 'data', 'pansharpening', 'wv3_zpnn_example.mat'),
    '--sensor',
    'WV3',
    '--out',
    h5,
  );
  const { h5wasm } = await import('../../lib/data/hdf5.js');
  const h = await h5wasm();
  const f = new h.File(h5, 'r');
  t.same((f.get('sr') as { shape: number[] }).shape, [1, 8, 128, 128], 'fused image as an .h5 dataset');
  f.close();
});

t.test('usage errors exit 2 with the command help', async (t) => {
  for (const args of [['train'], ['infer', '--model', 'panadapter'], ['demo', '--bogus'], ['nope']]) {
    const r = spawnSync(process.execPath, [cli, ...args], { cwd: tmp, encoding: 'utf8' });
    t.equal(r.status, 2, args.join(' '));
  }
});
