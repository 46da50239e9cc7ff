// The bridge reads every options object one way (native/bridge/convert.h read_config + Config): each
// entry point that takes one refuses a misspelt key with a RangeError naming it, instead of running
// with the option silently left at its default. Called on the addon directly, below lib/, so that no
// TypeScript check stands in for the bridge's.
import t from 'tap';
import { native, type NativeTensor } from '../../lib/native.js';

/** The error an entry point gives, thrown at once or as a rejection. */
async function errorOf(run: () => unknown): Promise<Error | undefined> {
  try {
    await run();
  } catch (e) {
    return e as Error;
  }
  return undefined;
}

t.test('every entry point that takes an options object rejects a misspelt key, naming it', async (t) => {
  const mlp = new native.NativeModule('mlp', { inFeatures: 2, hidden: 4, outFeatures: 2 });
  const diff = new native.NativeModule('crossdiff', { width: 8, embedDim: 64, headInner: 16, diffusionSteps: 10, featureStep: 5 });
  const x = native.rand([1, 2], 'float32');
  const img = native.rand([1, 4, 64, 64], 'float64');
  const pan = native.rand([1, 1, 64, 64], 'float64');
  const made: { dispose(): void }[] = [mlp, diff, x, img, pan];
  t.teardown(() => {
    for (const m of made) m.dispose();
  });

  const cases: [string, () => unknown, RegExp][] = [
    ['new NativeModule(name, config)', () => new native.NativeModule('mlp', { hiden: 4 }), /^config\.hiden: unknown option \(known: .*hidden/],
    ['resolveModelConfig(name, config)', () => native.resolveModelConfig('pnn', { bnads: 4 }), /^config\.bnads: unknown option \(known: bands\)$/],
    ['forward(inputs, options)', () => mlp.forward({ x }, { stgae: 2 } as never), /^options\.stgae: unknown option \(known: stage, grad, autocast\)$/],
    ['forwardTaps(inputs, options)', () => mlp.forwardTaps({ x }, { grad: true } as never), /^options\.grad: unknown option \(known: stage\)$/],
    ['call(method, inputs, options)', () => diff.call('schedule', {}, { sed: 1 }), /^options\.sed: unknown option/],
    [
      'new NativeTrainer(module, options)',
      () => new native.NativeTrainer(mlp, { lr: 1e-3, optimzer: 'adam' }),
      /^options\.optimzer: unknown option \(known: loss, optimizer, /,
    ],
    ['metricsReduced(fused, gt, options)', () => native.metricsReduced(img, img, { ratoi: 4 } as never), /^options\.ratoi: unknown option \(known: ratio, /],
    [
      'metricsFull(fused, inputs, options)',
      () => native.metricsFull(img, { lms: img, pan, panLP: pan }, { sensr: 'QB' } as never),
      /^options\.sensr: unknown option \(known: .*sensor/,
    ],
    [
      'metricsFull inputs',
      () => native.metricsFull(img, { lms: img, pan, panLp: pan } as never, {}),
      /^inputs\.panLp: unknown input \(known: lms, ms, pan, panLP, fusedMTF\)$/,
    ],
  ];
  for (const [what, run, message] of cases) {
    const e = await errorOf(run);
    t.ok(e instanceof RangeError, `${what}: RangeError (${e ? `${e.name}: ${e.message}` : 'no error'})`);
    t.match(e?.message ?? '', message, `${what}: names the key`);
  }

  // the same objects with the keys spelt right are accepted (undefined = not given)
  const y = await mlp.forward({ x }, { stage: undefined, grad: false, autocast: 'none' });
  t.same(y.shape, [1, 2], 'forward with known keys');
  made.push(y);
  const s = await diff.call('schedule', {}, {});
  t.same(s.shape, [11], 'call with no options');
  made.push(s);
  const r = await native.metricsReduced(img, img, { ratio: 4, metrics: ['SAM'] } as never);
  t.same(Object.keys(r[0]!), ['SAM'], 'metric options with a string list');
  await t.rejects(
    Promise.resolve().then(() => native.metricsReduced(img, img, { metrics: [] } as never)),
    { name: 'RangeError', message: /^options\.metrics: empty list$/ },
  );
  await t.rejects(
    Promise.resolve().then(() => native.metricsReduced(img, img, { metrics: ['SAM', 3] } as never)),
    { name: 'TypeError', message: /^options\.metrics\[1\]: expected a string$/ },
  );
  await t.rejects(
    Promise.resolve().then(() => mlp.forward({ x }, { stage: 1.5 })),
    { name: 'RangeError', message: /^options\.stage: expected an integer, got 1\.5/ },
  );
  await t.rejects(
    Promise.resolve().then(() => mlp.forward({ x }, { grad: 1 } as never)),
    { name: 'TypeError', message: /^options\.grad: expected a boolean$/ },
  );
});

t.test('an options argument that is not a plain object is a TypeError', async (t) => {
  const mlp = new native.NativeModule('mlp', {});
  const x = native.rand([1, 8], 'float32');
  t.teardown(() => {
    mlp.dispose();
    x.dispose();
  });
  for (const bad of [5, 'stage', [1], x] as unknown[]) {
    const e = await errorOf(() => mlp.forward({ x: x as NativeTensor }, bad as never));
    t.ok(
      e instanceof TypeError && /^options: expected a plain object$/.test(e.message),
      `forward(inputs, ${Array.isArray(bad) ? 'array' : typeof bad}): ${e?.message}`,
    );
  }
});
