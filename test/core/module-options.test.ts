// An options object with a key the method does not take is refused: a typo such as { stgae: 2 }
// would otherwise be ignored and the forward run in another stage.
import t from 'tap';
import { createModel, tensor } from '../../lib/index.js';

t.test('forward and forwardTaps reject unknown option keys', async (t) => {
  const m = createModel({ model: 'mlp', inFeatures: 2, hidden: 4, outFeatures: 2 });
  const x = tensor(new Float32Array([1, 2]), [1, 2]);
  t.teardown(() => {
    x.dispose();
    m.dispose();
  });
  // lib/module.ts passes the options through: the bridge's one options reader is the check
  await t.rejects(m.forward({ x }, { stgae: 2 } as never), new RangeError('options.stgae: unknown option (known: stage, grad, autocast)'));
  await t.rejects(m.forwardTaps({ x }, { grad: true } as never), new RangeError('options.grad: unknown option (known: stage)'));
  // the same from the addon directly
  const raw = m.native as unknown as { forward: (i: object, o: object) => Promise<unknown>; forwardTaps: (i: object, o: object) => Promise<unknown> };
  await t.rejects(
    Promise.resolve().then(() => raw.forward({ x: x.native }, { stgae: 2 })),
    new RangeError('options.stgae: unknown option (known: stage, grad, autocast)'),
  );
  await t.rejects(
    Promise.resolve().then(() => raw.forwardTaps({ x: x.native }, { grad: true })),
    new RangeError('options.grad: unknown option (known: stage)'),
  );
  const y = await m.forward({ x }, { stage: 1, grad: false });
  t.same(y.shape, [1, 2], 'the accepted keys still work');
  y.dispose();
});
