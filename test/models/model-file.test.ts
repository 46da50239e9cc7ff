// saveWeights records the model (family, resolved config, stage) and loadModel rebuilds it from the
// file alone, for every family: same config, same stage, same weights.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel, loadModel, recordedModel, saveWeights, type ModelConfig } from '../../lib/index.js';

const dir = mkdtempSync(join(tmpdir(), 'specfuse-model-file-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const CASES: Array<{ config: ModelConfig; stage?: number }> = [
  { config: { model: 'mlp', inFeatures: 3, hidden: 5, outFeatures: 2, layers: 1 } },
  { config: { model: 'pannet', bands: 4 }, stage: 1 },
  { config: { model: 'crossdiff', preset: 'tiny', featureNoise: 'zero' }, stage: 2 },
  { config: { model: 'panadapter', preset: 'tiny' }, stage: 1 },
  { config: { model: 'infn', preset: 'tiny', mlpHidden: [16, 8] } as ModelConfig },
];

for (const { config, stage } of CASES) {
  t.test(`${config.model}: loadModel(file) rebuilds it`, async (t) => {
    const m = createModel(config);
    t.teardown(() => m.dispose());
    if (stage !== undefined) m.setStage(stage);
    const file = join(dir, `${config.model}.safetensors`);
    await saveWeights(m, file);
    t.equal(recordedModel(file)?.family, m.spec.family, 'the family is recorded');
    const { model, report } = await loadModel(file);
    t.teardown(() => model.dispose());
    t.same(model.config, m.config, 'the same resolved config');
    t.equal(model.stage, m.stage, 'the same stage');
    t.same([report.missing, report.unexpected, report.shapeMismatch], [[], [], []], 'every tensor loaded');
    const name = m.namedParameters()[0]!.name;
    const [a, b] = [await m.getTensor(name).toHost(), await model.getTensor(name).toHost()];
    t.ok(
      Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)),
      `${name}: the same weights`,
    );
  });
}

t.test('a file without a record: loadModel says what to do', async (t) => {
  await t.rejects(loadModel(join(dir, 'none.pth')), /records no model config .* createModel and use loadWeights/);
});
