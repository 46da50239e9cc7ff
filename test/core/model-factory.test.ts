// Model construction off the JS thread (createModelAsync) and parameter counts without weights
// (describeModel / modelParameterCounts: a shape-only build on the meta device).
import t from 'tap';
import { createModel, createModelAsync, describeModel, memory, modelParameterCounts, rand, type ModelConfig } from '../../lib/index.js';
import { turnsWhilePending } from '../helpers/event-loop.js';

const configs: ModelConfig[] = [
  { model: 'mlp', inFeatures: 8, hidden: 16, outFeatures: 4, layers: 3 },
  { model: 'panadapter', preset: 'tiny' },
  { model: 'crossdiff', preset: 'tiny' },
  { model: 'infn', preset: 'tiny' },
  { model: 'pnn', bands: 4 },
  { model: 'pannet', bands: 8 },
  { model: 'dicnn', bands: 8 },
  { model: 'fusionnet', bands: 4 },
] as ModelConfig[];

const strip = (d: { name: string; shape: number[]; dtype: string; requiresGrad: boolean; numel: number }) => ({
  name: d.name,
  shape: d.shape,
  dtype: d.dtype,
  requiresGrad: d.requiresGrad,
  numel: d.numel,
});

for (const config of configs) {
  t.test(`describeModel names the same tensors as a full build: ${JSON.stringify(config)}`, async (t) => {
    const m = createModel(config);
    const d = await describeModel(config);
    t.same(d.parameters.map(strip), m.namedParameters().map(strip), 'parameters');
    t.same(
      d.buffers.map((b) => [b.name, b.shape, b.dtype]),
      m.namedBuffers().map((b) => [b.name, b.shape, b.dtype]),
      'buffers',
    );
    const stages = Object.keys(m.spec.stages).map(Number);
    const last = stages[stages.length - 1]!;
    m.setStage(last);
    t.same(await modelParameterCounts(config, { stage: last }), m.parameterCounts(), `counts in stage ${last}`);
    m.dispose();
  });
}

t.test('the full WV3 PanAdapter is described without allocating its 640 MB of weights', async (t) => {
  const before = process.memoryUsage().rss;
  const counts = await modelParameterCounts({ model: 'panadapter', preset: 'wv3' });
  const grown = (process.memoryUsage().rss - before) / 2 ** 20;
  t.equal(counts.total, 159_802_606);
  // The weights alone would be 610 MiB (159.8 M float32). What does grow is one-time native state
  // (meta kernels, the dispatcher's tables, allocator arenas): 60-105 MiB seen, depending on what ran
  // before in the process. A quarter of the weights separates the two cases without flaking.
  const weightsMiB = (counts.total * 4) / 2 ** 20;
  t.ok(grown < weightsMiB / 4, `RSS grew ${grown.toFixed(0)} MiB (the weights would be ${weightsMiB.toFixed(0)} MiB)`);
  await t.rejects(describeModel({ model: 'panadapter', preset: 'nope' } as never), RangeError);
  await t.rejects(modelParameterCounts({ model: 'mlp' }, { stage: 3 }), RangeError);
});

t.test('createModelAsync builds on the compute thread: the event loop turns meanwhile', async (t) => {
  const { turns, value: m } = await turnsWhilePending(() => createModelAsync({ model: 'panadapter', preset: 'wv3' }));
  t.ok(turns > 0, `${turns} event-loop turns while the WV3 PanAdapter was built`);
  t.equal(m.parameterCounts().total, 159_802_606);
  t.equal(memory().modules, 1);
  m.dispose();
  const small = await createModelAsync({ model: 'mlp', inFeatures: 4, hidden: 8, outFeatures: 2 });
  const x = rand([3, 4]);
  const y = await small.forward({ x });
  t.same(y.shape, [3, 2]);
  for (const d of [x, y, small]) d.dispose();
  await t.rejects(createModelAsync({ model: 'nope' } as never), RangeError);
  t.equal(memory().modules, 0);
  t.equal(memory().tensors, 0);
});

t.test('loadStateDictAsync copies host arrays into the module off the JS thread, checked like loadStateDict', async (t) => {
  const { loadStateDict, loadStateDictAsync, WeightsError } = await import('../../lib/index.js');
  const config = { model: 'mlp', inFeatures: 4, hidden: 8, outFeatures: 2 } as ModelConfig;
  const a = createModel(config),
    b = createModel(config),
    c = createModel(config);
  const state = new Map(
    Object.entries(a.stateDict()).map(([k, v]) => {
      const h = { dtype: v.dtype, shape: v.shape, data: v.dataSync() };
      v.dispose();
      return [k, h] as const;
    }),
  );
  await loadStateDictAsync(b, state);
  loadStateDict(c, state);
  const x = rand([5, 4]);
  const [ya, yb, yc] = await Promise.all([a.forward({ x }), b.forward({ x }), c.forward({ x })]);
  t.ok(ya.equal(yb), 'async load equals the source');
  t.ok(yb.equal(yc), 'and the synchronous load');
  const bad = new Map(state);
  bad.set('extra', state.values().next().value!);
  await t.rejects(loadStateDictAsync(b, bad), WeightsError, 'unexpected names refuse the whole load');
  for (const d of [x, ya, yb, yc, a, b, c]) d.dispose();
  t.equal(memory().tensors, 0);
});
