// Modules: named parameters, freezing by pattern, stages, counts, weights in and out.
import t from 'tap';
import { createModel, rand, memory, selectNames, compilePattern } from '../../lib/index.js';

t.test('names, shapes and counts of a small MLP', async (t) => {
  using m = createModel({ model: 'mlp', inFeatures: 3, hidden: 4, outFeatures: 2, layers: 1 });
  t.same(
    m.namedParameters().map((p) => [p.name, p.shape]),
    [
      ['net.0.weight', [4, 3]],
      ['net.0.bias', [4]],
      ['net.2.weight', [2, 4]],
      ['net.2.bias', [2]],
    ],
  );
  const c = m.parameterCounts();
  t.equal(c.total, 12 + 4 + 8 + 2);
  t.equal(c.trainable, c.total);
  t.same(c.modules, { net: { total: 26, trainable: 26 } });
});

t.test('freeze / unfreeze by dotted names and globs', async (t) => {
  using m = createModel({ model: 'mlp', layers: 2 });
  t.equal(m.freeze('net'), 6);
  t.equal(m.parameterCounts().trainable, 0);
  t.equal(m.unfreeze('net.*.bias'), 3);
  t.same(
    m
      .namedParameters()
      .filter((p) => p.requiresGrad)
      .map((p) => p.name),
    ['net.0.bias', 'net.2.bias', 'net.4.bias'],
  );
  t.equal(m.unfreeze(['net.4']), 2);
  t.throws(() => m.freeze('nett'), /pattern 'nett' matches no parameter/);
  m.setStage(1);
  t.equal(m.parameterCounts().trainable, m.parameterCounts().total);
  t.throws(() => m.setStage(2), /mlp has stages 1, not 2/);
});

t.test('pattern semantics', async (t) => {
  const names = ['a.b.c', 'a.bc.d', 'a.b.c.d', 'x.0.w', 'x.10.w'];
  t.same(selectNames(names, 'a.b'), ['a.b.c', 'a.b.c.d']);
  t.same(selectNames(names, 'a.*.d'), ['a.bc.d'], 'one segment only');
  t.same(selectNames(names, 'x.?.w'), ['x.0.w']);
  t.same(selectNames(names, 'a.**.d'), ['a.bc.d', 'a.b.c.d']);
  t.equal(compilePattern('x.1')('x.10.w'), false, 'a prefix matches whole segments only');
});

t.test('stateDict round trip and loadTensors checks everything first', async (t) => {
  using a = createModel({ model: 'mlp', inFeatures: 3, hidden: 5, outFeatures: 2 });
  using b = createModel({ model: 'mlp', inFeatures: 3, hidden: 5, outFeatures: 2 });
  const sd = a.stateDict();
  t.equal(b.loadTensors(sd), 6);
  using x = rand([4, 3]);
  using ya = await a.forward({ x });
  using yb = await b.forward({ x });
  t.ok(ya.equal(yb), 'same weights, same output');
  const before = b.getTensor('net.0.bias');
  const bad = { 'net.0.bias': rand([5]), 'net.0.weight': rand([7, 3]) };
  t.throws(() => b.loadTensors(bad), /'net.0.weight' has shape \[7, 3\], the module expects \[5, 3\]/);
  const after = b.getTensor('net.0.bias');
  t.ok(after.equal(before), 'a failed load changed nothing');
  using stray = rand([1]);
  t.throws(() => b.loadTensors({ 'nope.weight': stray }), /not a parameter or buffer/);
  for (const v of [...Object.values(sd), ...Object.values(bad), before, after]) v.dispose();
});

t.test('train/eval flags and device', async (t) => {
  using m = createModel({ model: 'mlp' });
  t.equal(m.training, true);
  m.eval();
  t.equal(m.training, false);
  t.equal(m.device, 'cpu');
  await m.to('cpu', 'float64');
  t.equal(m.namedParameters()[0]!.dtype, 'float64');
});

t.test('nothing leaks', async (t) => {
  t.equal(memory().tensors, 0);
});
