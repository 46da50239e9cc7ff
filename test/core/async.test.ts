// Native work runs off the JS thread: timers keep firing during a long forward.
import t from 'tap';
import { createModel, rand, memory } from '../../lib/index.js';

t.test('a timer keeps firing while a 2-second native computation runs', async (t) => {
  const m = createModel({ model: 'mlp', inFeatures: 256, hidden: 1024, outFeatures: 256, layers: 4 });
  // Calibrate the batch so that one forward takes about two seconds on this machine.
  let rows = 512;
  let took = 0;
  for (;;) {
    const x = rand([rows, 256]);
    const t0 = performance.now();
    (await m.forward({ x })).dispose();
    took = performance.now() - t0;
    x.dispose();
    if (took > 200 || rows >= 1 << 20) break;
    rows *= 2;
  }
  rows = Math.max(1, Math.round((rows * 2000) / took));
  const x = rand([rows, 256]);
  let ticks = 0;
  let maxGap = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }, 10);
  const t0 = performance.now();
  const y = await m.forward({ x });
  const elapsed = performance.now() - t0;
  clearInterval(timer);
  t.ok(elapsed > 1000, `the computation took ${elapsed.toFixed(0)} ms`);
  t.ok(ticks >= elapsed / 10 / 4, `${ticks} ticks of a 10 ms timer during ${elapsed.toFixed(0)} ms`);
  // Had the forward run on the JS thread, one gap would span the whole computation.
  t.ok(maxGap < Math.min(500, elapsed / 4), `longest gap between ticks ${maxGap.toFixed(0)} ms`);
  for (const d of [x, y, m]) d.dispose();
  t.equal(memory().tensors, 0);
});

t.test('data() resolves off-thread and concurrent forwards of one module work', async (t) => {
  const m = createModel({ model: 'mlp', inFeatures: 8, hidden: 16, outFeatures: 2 });
  const xs = Array.from({ length: 8 }, () => rand([32, 8]));
  const ys = await Promise.all(xs.map((x) => m.forward({ x })));
  for (const [i, y] of ys.entries()) {
    const again = await m.forward({ x: xs[i]! });
    t.ok(again.equal(y), `forward ${i} is deterministic`);
    again.dispose();
  }
  for (const d of [...xs, ...ys, m]) d.dispose();
});
