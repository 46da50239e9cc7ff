// Weights files carry their model: `specfuse train` records family, config and stage in the
// safetensors metadata, so `specfuse infer` and loadModel(file) need only the file; a --model that
// contradicts the record is a usage error.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, recordedModel } from '../../lib/index.js';
import { loadCheckpointFile } from '../../lib/checkpoint-formats/index.js';
import { loadPansharpeningInput, openMat, writePanCollection } from '../../lib/data/index.js';
import type { HostArray } from '../../lib/host.js';
import { PATCH, REPO, dataUnavailable } from '../cnn/fixtures/helpers.js';

const CLI = join(REPO, 'bin/specfuse.js');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: REPO, encoding: 'utf8' });

t.test('infer and loadModel from a specfuse-trained final.safetensors alone', { skip: dataUnavailable() }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'specfuse-record-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const d = await loadPansharpeningInput(PATCH);
  const first = (a: HostArray): HostArray => {
    const size = a.shape.slice(1).reduce((x, y) => x * y, 1);
    return { dtype: a.dtype, shape: [1, ...a.shape.slice(1)], data: a.data.slice(0, size) as HostArray['data'] };
  };
  const data = join(dir, 'train_wv3.h5');
  await writePanCollection(data, { gt: first(d.gt!), lms: first(d.lms!), ms: first(d.ms!), pan: first(d.pan) });
  const tr = run('train', '--model', 'pannet', '--data', data, '--steps', '1', '--batch-size', '1', '--out', join(dir, 'run'));
  t.equal(tr.status, 0, `train exits 0${tr.status ? `\n${tr.stderr}` : ''}`);
  const final = join(dir, 'run', 'final.safetensors');

  const rec = recordedModel(final);
  t.same(
    rec && { family: rec.family, bands: rec.config.bands, stage: rec.stage },
    { family: 'pannet', bands: 8, stage: 1 },
    'the file records family, config and stage',
  );

  const out = join(dir, 'fused.mat');
  const inf = run('infer', '--weights', final, '--input', PATCH, '--out', out);
  t.equal(inf.status, 0, `infer with --weights alone exits 0${inf.status ? `\n${inf.stderr}` : ''}`);
  const flagged = join(dir, 'fused-flagged.mat');
  t.equal(run('infer', '--model', 'pannet', '--weights', final, '--input', PATCH, '--out', flagged).status, 0, 'and with a matching --model');
  const sr = (p: string) => {
    const f = openMat(p);
    try {
      return f.read('sr');
    } finally {
      f.close();
    }
  };
  const a = sr(out),
    b = sr(flagged);
  t.ok(
    Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)),
    'the same image either way',
  );

  const bad = run('infer', '--model', 'fusionnet', '--weights', final, '--input', PATCH, '--out', join(dir, 'x.mat'));
  t.equal(bad.status, 2, 'a contradicting --model is a usage error');
  t.match(bad.stderr, /--model fusionnet: --weights .*final\.safetensors holds a pannet model: pass --model pannet, or leave --model out/);
  const dlpan = run('infer', '--weights', join(REPO, 'package.json'), '--input', PATCH, '--out', join(dir, 'y.mat'));
  t.match(dlpan.stderr, /--model is required: .*package\.json does not record its model/, 'files without a record need --model');

  const { model, report, recorded } = await loadModel(final);
  t.teardown(() => model.dispose());
  t.equal(model.spec.family, 'pannet');
  t.equal(model.stage, 1, 'in the recorded stage');
  t.same([report.missing, report.unexpected], [[], []], 'loaded strictly');
  t.equal(recorded.family, 'pannet');
  const saved = await loadCheckpointFile(final);
  const w = await model.getTensor('conv3.weight').toHost();
  const s = saved.get('conv3.weight')!;
  t.ok(
    Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength).equals(Buffer.from(s.data.buffer, s.data.byteOffset, s.data.byteLength)),
    "with the file's weights",
  );
});
