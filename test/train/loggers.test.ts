// Loggers: the TensorBoard event file read back by TensorBoard's own EventAccumulator (scalars and
// the validation preview), the CSV and JSONL logs, against the values train() reports.
import t from 'tap';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLoggers, createModel, manualSeed, parseLoggerKinds, train } from '../../lib/index.js';
import { crc32c, maskedCrc32c } from '../../lib/train/tfevents.js';
import { pythonUnavailable, runPython, tempDir } from '../checkpoint-formats/fixtures/helpers.js';
import { tiles } from './fixtures/tiles.js';

const READER = fileURLToPath(new URL('./fixtures/read_tfevents.py', import.meta.url));

t.test('CRC32C of the TFRecord framing', async (t) => {
  t.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283, 'the standard check value');
  t.equal(maskedCrc32c(new Uint8Array(0)), 0xa282ead8, 'masked CRC of nothing: the mask delta alone');
});

t.test('a run logged to TensorBoard, CSV and JSONL reads back with the same values', async (t) => {
  const dir = tempDir(t, 'specfuse-log-');
  manualSeed(1);
  using m = createModel({ model: 'pnn', bands: 4 });
  const loggers = createLoggers(dir, parseLoggerKinds('tensorboard,csv,jsonl'));
  const r = await train(m, {
    data: tiles(8),
    valid: tiles(4, 16, 9),
    steps: 8,
    batchSize: 4,
    lr: 1e-3,
    evalEvery: 4,
    loggers,
    validation: { metrics: ['SAM', 'ERGAS', 'PSNR'], scale: 2047, previewTiles: 2 },
  });
  t.equal(r.valid.length, 2);
  for (const v of r.valid)
    t.ok(v.SAM! > 0 && v.ERGAS! > 0 && v.PSNR! > 0, `validation at step ${v.step}: SAM ${v.SAM!.toFixed(3)} ERGAS ${v.ERGAS!.toFixed(3)}`);

  const csv = readFileSync(join(dir, 'metrics.csv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));
  const head = csv[0]!;
  t.same(head.slice(0, 5), ['step', 'train.loss', 'lr', 'grad_norm', 'skipped']);
  t.equal(csv.length - 1, 8, 'one row per step');
  t.same(
    csv.slice(1).map((row) => Number(row[1])),
    r.losses.map((l) => l.loss),
    'CSV train.loss',
  );
  t.equal(Number(csv[4]![head.indexOf('valid.SAM')]), r.valid[0]!.SAM, 'CSV valid.SAM in the step-4 row');

  const jsonl = readFileSync(join(dir, 'train.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.same(
    jsonl.filter((l) => l.event === 'valid').map((l) => l['valid.ERGAS']),
    r.valid.map((v) => v.ERGAS),
  );

  const skip = pythonUnavailable(['tensorboard']);
  if (skip) {
    t.skip(skip);
    return;
  }
  t.equal(readdirSync(join(dir, 'tensorboard')).filter((f) => f.startsWith('events.out.tfevents.')).length, 1);
  const tb = JSON.parse(runPython([READER, join(dir, 'tensorboard')]));
  const close = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]!) <= 1e-6 * Math.max(1, Math.abs(b[i]!)));
  const series = (tag: string) => tb.scalars[tag] as Array<[number, number]>;
  t.same(
    series('train.loss').map((e) => e[0]),
    [1, 2, 3, 4, 5, 6, 7, 8],
    'train.loss steps',
  );
  t.ok(
    close(
      series('train.loss').map((e) => e[1]),
      r.losses.map((l) => l.loss),
    ),
    'train.loss values (float32)',
  );
  t.ok(
    close(
      series('lr').map((e) => e[1]),
      Array(8).fill(1e-3),
    ),
    'lr',
  );
  t.equal(series('grad_norm').length, 8, 'grad_norm');
  for (const k of ['loss', 'SAM', 'ERGAS', 'PSNR']) {
    t.same(
      series(`valid.${k}`).map((e) => e[0]),
      [4, 8],
      `valid.${k} steps`,
    );
    t.ok(
      close(
        series(`valid.${k}`).map((e) => e[1]),
        r.valid.map((v) => v[k]!),
      ),
      `valid.${k} values`,
    );
  }
  const img = tb.images['valid/preview (fused | reference)'] as Array<[number, number, number, string]>;
  t.same(
    img.map((e) => e[0]),
    [4, 8],
    'a preview per validation',
  );
  t.same(img[0]!.slice(1), [4 * 16 + 5 * 4, 16 + 2 * 4, '89504e470d0a1a0a'], 'four 16x16 tiles with 4-px gaps, PNG');
});

t.test('a resumed run replaces the redone steps in TensorBoard (SessionLog START)', async (t) => {
  const skip = pythonUnavailable(['tensorboard']);
  if (skip) {
    t.skip(skip);
    return;
  }
  const dir = tempDir(t, 'specfuse-log-resume-');
  const ck = join(dir, 'checkpoints');
  manualSeed(1);
  using m = createModel({ model: 'pnn', bands: 4 });
  const opts = { data: tiles(8), steps: 6, batchSize: 4, lr: 1e-3, seed: 3, checkpointDir: ck, checkpointEvery: 3 };
  const first = await train(m, { ...opts, loggers: createLoggers(dir, ['tensorboard']) });
  writeFileSync(join(ck, 'latest'), 'step-00000003\n'); // as if the run had died after step 5
  const second = await train(m, { ...opts, resume: true, loggers: createLoggers(dir, ['tensorboard']) });
  t.equal(readdirSync(join(dir, 'tensorboard')).length, 2, 'one event file per run');
  const tb = JSON.parse(runPython([READER, join(dir, 'tensorboard')]));
  const loss = tb.scalars['train.loss'] as Array<[number, number]>;
  t.same(
    loss.map((e) => e[0]),
    [1, 2, 3, 4, 5, 6],
    'every step once',
  );
  const expected = [...first.losses.slice(0, 3), ...second.losses].map((l) => l.loss);
  t.ok(
    loss.every((e, i) => Math.abs(e[1] - expected[i]!) <= 1e-6 * Math.max(1, Math.abs(expected[i]!))),
    'steps 4-6 from the resumed run',
  );
});
