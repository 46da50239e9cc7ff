// The DLPan-Toolbox checkpoints (WV3: 8 bands, QB: 4 bands) load strictly into the C++ CNNs: every
// tensor of every file has its place (0 missing, 0 unexpected, 0 shape mismatches), the backbone.*
// aliases of PanNet/FusionNet are verified equal to their res* twins and reported as ignored, the
// module's names are the checkpoint's (same order), and bad checkpoints fail with clear errors.
import t from 'tap';
import { createModel, describeDlpanCheckpoint, loadDlpanStateDict, loadDlpanWeights, modelNames, cnnSpecs } from '../../lib/index.js';
import { native } from '../../lib/native.js';
import { loadCheckpointFile } from '../../lib/checkpoint-formats/index.js';
import type { HostArray } from '../../lib/host.js';
import { MODELS, SENSORS, checkpoint, dataUnavailable } from './fixtures/helpers.js';

t.test('registry', async (t) => {
  for (const m of MODELS) {
    t.ok(modelNames.includes(m), `TypeScript registry has ${m}`);
    t.ok(native.modelNames().includes(m), `C++ registry has ${m}`);
  }
  t.throws(() => createModel({ model: 'pnn', bands: 0 }), { name: 'RangeError', message: /config\.bands: must be in \[1, 1024\], got 0/ });
  t.throws(() => createModel({ model: 'fusionnet', patch: 64 } as never), { name: 'RangeError', message: /config\.patch: unknown option/ });
  const m = createModel({ model: 'dicnn' });
  t.equal(m.config.bands, 8, 'default 8 bands');
  m.setStage(1);
  t.equal(m.parameterCounts().trainable, m.parameterCounts().total, 'stage 1 trains everything');
  t.throws(() => m.setStage(2), { name: 'RangeError' });
  m.dispose();
});

t.test('every DLPan checkpoint loads strictly', { skip: dataUnavailable() }, async (t) => {
  for (const { sensor, bands } of SENSORS) {
    for (const name of MODELS) {
      await t.test(`${sensor} ${name}`, async (t) => {
        const file = checkpoint(sensor, name);
        const state = await loadCheckpointFile(file);
        t.same(describeDlpanCheckpoint(state), { model: name, bands }, 'recognised from its names and shapes');
        const model = createModel({ model: name, bands });
        const report = await loadDlpanWeights(model, file);
        t.same(report.missing, [], '0 missing');
        t.same(report.unexpected, [], '0 unexpected');
        t.same(report.shapeMismatch, [], '0 shape mismatches');
        const aliases = [...state.keys()].filter((k) => k.startsWith('backbone.'));
        const hasRes = cnnSpecs[name].stages[1]!.includes('res1');
        t.equal(aliases.length, hasRes ? 16 : 0, `${aliases.length} backbone.* aliases in the file`);
        t.same(report.ignored.sort(), [...aliases].sort(), 'the aliases, and only they, are ignored');
        t.same(report.aliases.map((a) => a.name).sort(), [...aliases].sort(), 'each reported with its twin');
        for (const a of report.aliases)
          t.equal(
            a.twin,
            a.name.replace(/^backbone\.(\d)/, (_, i) => `res${Number(i) + 1}`),
          );
        // the module's names are the checkpoint's, in the same order
        const own = [...state.keys()].filter((k) => !k.startsWith('backbone.'));
        t.same(
          model.namedParameters().map((p) => p.name),
          own,
          `module names = the ${own.length} checkpoint names, same order`,
        );
        t.same(
          model.namedParameters().map((p) => p.shape),
          own.map((k) => state.get(k)!.shape),
          'same shapes',
        );
        t.same(report.loaded.sort(), [...own].sort(), 'every module tensor loaded');
        const total = own.reduce((a, k) => a + state.get(k)!.shape.reduce((x, y) => x * y, 1), 0);
        t.equal(model.parameterCounts().total, total, `${total.toLocaleString('en')} parameters, each counted once`);
        // the count DLPan-Toolbox prints in pannet_main.py
        if (sensor === 'WV3' && name === 'pannet') t.equal(total, 83_024, 'PanNet WV3: 83,024 parameters, as the toolbox says');
        // the values arrived: compare two tensors bit for bit
        for (const k of [own[0]!, own.at(-1)!]) {
          const got = model.getTensor(k);
          t.same(
            Buffer.from((await got.toHost()).data.buffer),
            Buffer.from(state.get(k)!.data.buffer.slice(state.get(k)!.data.byteOffset, state.get(k)!.data.byteOffset + state.get(k)!.data.byteLength)),
            `${k} equals the file`,
          );
          got.dispose();
        }
        model.dispose();
      });
    }
  }
});

t.test('bad checkpoints give clear errors and change nothing', { skip: dataUnavailable() }, async (t) => {
  const fusion = await loadCheckpointFile(checkpoint('WV3', 'fusionnet'));
  const copy = (m: Map<string, HostArray>) => new Map(m);
  const model = createModel({ model: 'fusionnet', bands: 8 });
  const beforeT = model.getTensor('conv1.weight');
  const before = await beforeT.toHost();
  beforeT.dispose();

  const missing = copy(fusion);
  missing.delete('conv3.bias');
  t.throws(() => loadDlpanStateDict(model, missing), { name: 'WeightsError', message: /missing 1: conv3\.bias/ }, 'a missing key');

  const extra = copy(fusion);
  extra.set('head.weight', fusion.get('conv3.bias')!);
  t.throws(() => loadDlpanStateDict(model, extra), { name: 'WeightsError', message: /unexpected 1: head\.weight/ }, 'an unexpected key');

  const differs = copy(fusion);
  const twin = fusion.get('res2.conv21.weight')!;
  const changed = new Float32Array(twin.data as Float32Array);
  changed[7]! += 1e-3;
  differs.set('backbone.1.conv21.weight', { ...twin, data: changed });
  t.throws(
    () => loadDlpanStateDict(model, differs),
    { name: 'WeightsError', message: /backbone\.1\.conv21\.weight != res2\.conv21\.weight/ },
    'an alias that is not a copy of its twin',
  );

  // the wrong band count or the wrong model: the error says what the file is
  const qb = await loadCheckpointFile(checkpoint('QB', 'fusionnet'));
  t.throws(() => loadDlpanStateDict(model, qb), {
    name: 'WeightsError',
    message: /shape mismatch .*looks like a 4-band fusionnet checkpoint; the model is a 8-band fusionnet/,
  });
  const pnn = await loadCheckpointFile(checkpoint('WV3', 'pnn'));
  t.throws(() => loadDlpanStateDict(model, pnn), {
    name: 'WeightsError',
    message:
      /missing 19: .*unexpected 2: conv2\.weight, conv2\.bias; shape mismatch 3: conv1\.weight \[64, 9, 9, 9\] -> conv1\.weight \[32, 8, 3, 3\].*looks like a 8-band pnn checkpoint; the model is a 8-band fusionnet/,
  });
  const pannetModel = createModel({ model: 'pannet', bands: 8 });
  t.throws(() => loadDlpanStateDict(pannetModel, fusion), {
    name: 'WeightsError',
    message:
      /missing 3: deconv\.weight, deconv\.bias, conv1\.weight; shape mismatch 1: conv1\.weight \[32, 8, 3, 3\] -> conv1\.weight \[32, 9, 3, 3\] \(the file looks like a 8-band fusionnet checkpoint; the model is a 8-band pannet\)/,
  });
  pannetModel.dispose();

  const mlp = createModel({ model: 'mlp' });
  t.throws(() => loadDlpanStateDict(mlp, fusion), { name: 'TypeError', message: /expected one of pnn, pannet, dicnn, fusionnet, got a mlp/ });
  mlp.dispose();

  const afterT = model.getTensor('conv1.weight');
  const after = await afterT.toHost();
  afterT.dispose();
  t.same(after.data, before.data, 'the failed loads left the weights as they were');

  // a file holding only the aliases loads them into res*; nothing is ignored then
  const aliasOnly = new Map([...fusion].filter(([k]) => !k.startsWith('res')));
  const r = loadDlpanStateDict(model, aliasOnly);
  t.same([r.missing, r.unexpected, r.ignored, r.aliases], [[], [], [], []], 'backbone.* alone fills res1..res4');
  t.equal(r.loaded.length, 20);

  model.dispose();
});
