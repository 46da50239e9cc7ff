// The addon keeps only per-environment state, so it loads and runs inside worker_threads, several
// at once, and each thread's counters are its own.
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('./fixtures/ts-worker.mjs', import.meta.url));
const script = new URL('./fixtures/worker-forward.ts', import.meta.url).href;

function runWorker(seed: number): Promise<{ shape: number[]; sum: number; live: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(entry, { workerData: { seed, script } });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`worker exited with ${code}`));
    });
  });
}

t.test('a small libtorch module runs a forward inside a worker thread', async (t) => {
  const r = await runWorker(1);
  t.same(r.shape, [5, 3]);
  t.ok(Number.isFinite(r.sum));
  t.equal(r.live, 0, 'the worker disposed everything it made');
});

t.test('three workers at once, and the addon again after they exit', async (t) => {
  const rs = await Promise.all([runWorker(2), runWorker(3), runWorker(4)]);
  for (const r of rs) {
    t.same(r.shape, [5, 3]);
    t.equal(r.live, 0);
  }
  // libtorch's random generator is process-wide, so compare seeds one worker at a time.
  const a = await runWorker(5);
  const b = await runWorker(5);
  t.equal(a.sum, b.sum, 'same seed, same result');
});
