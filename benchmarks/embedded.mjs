// specfuse inside a busy Node program: how much the host program's own work waits on specfuse.
//   readfile:  fs.promises.readFile latency (a 4 KiB file) idle, and while 8 forwards of a tiny
//              PanAdapter (batch 4, 64x64) are kept in flight; medians, p99 and the ratio.
//   lifecycle: the delay of a 1 ms timer (p50, p99, max) while a full PanAdapter (WV3) is built
//              (createModelAsync), its weights loaded (loadWeights, a safetensors file written
//              beforehand) and run (one forward, batch 1, 64x64); per phase and in all.
// Usage: node benchmarks/embedded.mjs [--case readfile|lifecycle|all] [--reads 200] [--in-flight 8]
//        [--preset tiny] [--lifecycle-preset wv3]
// Compare with an older addon: SPECFUSE_ADDON=/path/to/specfuse.node node benchmarks/embedded.mjs --case readfile
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createModel, createModelAsync, loadWeights, saveWeights, rand, getNumThreads } from '../dist/index.js';
import { median, printTable } from './util.mjs';

const { values: a } = parseArgs({
  options: {
    case: { type: 'string', default: 'all' },
    reads: { type: 'string', default: '200' },
    'in-flight': { type: 'string', default: '8' },
    preset: { type: 'string', default: 'tiny' },
    'lifecycle-preset': { type: 'string', default: 'wv3' },
  },
});
const quantile = (xs, q) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
const ms = (x) => x.toFixed(3);
const dir = mkdtempSync(join(tmpdir(), 'specfuse-embedded-'));
const setting =
  `${getNumThreads()} intra-op threads; UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? 'default (4)'}; ` +
  `addon ${process.env.SPECFUSE_ADDON ?? 'build/Release'}`;

async function readfileCase() {
  const reads = Number(a.reads),
    inFlight = Number(a['in-flight']);
  const file = join(dir, 'small.bin');
  writeFileSync(file, Buffer.alloc(4096, 7));
  const readLatencies = async (n) => {
    const out = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await readFile(file);
      out.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 1)); // spread the reads over the forwards
    }
    return out;
  };
  const model = createModel({ model: 'panadapter', preset: a.preset });
  const bands = model.config.bands;
  const inputs = { lms: rand([4, bands, 64, 64]), pan: rand([4, 1, 64, 64]), ms: rand([4, bands, 16, 16]) };
  (await model.forward(inputs)).dispose(); // warm-up
  await readLatencies(20);
  const idle = await readLatencies(reads);
  let stop = false,
    forwards = 0;
  const keepBusy = async () => {
    while (!stop) {
      (await model.forward(inputs)).dispose();
      forwards++;
    }
  };
  const busy = Array.from({ length: inFlight }, keepBusy);
  const t0 = performance.now();
  const loaded = await readLatencies(reads);
  const seconds = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(busy);
  console.log(`readFile latency, ms (${reads} reads; ${inFlight} forwards of a ${a.preset} PanAdapter at batch 4 kept in flight; ${setting})`);
  printTable(
    ['case', 'median', 'p99', 'median ratio to idle', 'forwards/s'],
    [
      ['idle', ms(median(idle)), ms(quantile(idle, 0.99)), '1.00', '-'],
      [
        `${inFlight} forwards in flight`,
        ms(median(loaded)),
        ms(quantile(loaded, 0.99)),
        (median(loaded) / median(idle)).toFixed(2),
        (forwards / seconds).toFixed(1),
      ],
    ],
  );
  for (const t of [model, ...Object.values(inputs)]) t.dispose();
}

async function lifecycleCase() {
  const config = { model: 'panadapter', preset: a['lifecycle-preset'] };
  const weights = join(dir, 'weights.safetensors');
  {
    const m = createModel(config);
    await saveWeights(m, weights);
    m.dispose();
  }
  // A 1 ms interval: each tick records how late it came. Work on the JS thread shows up as a late tick.
  const delays = [];
  let phase = 'idle';
  const byPhase = new Map();
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const late = Math.max(0, now - last - 1);
    last = now;
    delays.push(late);
    if (!byPhase.has(phase)) byPhase.set(phase, []);
    byPhase.get(phase).push(late);
  }, 1);
  const sleep = (t) => new Promise((r) => setTimeout(r, t));
  await sleep(200);
  const t0 = performance.now();
  phase = 'build (createModelAsync)';
  const model = await createModelAsync(config);
  phase = 'load (loadWeights)';
  await loadWeights(model, weights);
  phase = 'run (forward)';
  const bands = model.config.bands;
  const inputs = { lms: rand([1, bands, 64, 64]), pan: rand([1, 1, 64, 64]), ms: rand([1, bands, 16, 16]) };
  (await model.forward(inputs)).dispose();
  const total = performance.now() - t0;
  phase = 'after';
  await sleep(50);
  clearInterval(timer);
  console.log(`1 ms timer delay, ms, while a ${a['lifecycle-preset']} PanAdapter is built, loaded and run (${(total / 1000).toFixed(2)} s in all; ${setting})`);
  const rows = [];
  for (const [p, xs] of byPhase) if (p !== 'idle' && p !== 'after') rows.push([p, xs.length, ms(median(xs)), ms(quantile(xs, 0.99)), ms(Math.max(...xs))]);
  const all = [...byPhase].filter(([p]) => p !== 'idle' && p !== 'after').flatMap(([, xs]) => xs);
  rows.push(['all three', all.length, ms(median(all)), ms(quantile(all, 0.99)), ms(Math.max(...all))]);
  printTable(['phase', 'ticks', 'p50', 'p99', 'max'], rows);
  for (const t of [model, ...Object.values(inputs)]) t.dispose();
}

try {
  if (a.case === 'readfile' || a.case === 'all') await readfileCase();
  if (a.case === 'lifecycle' || a.case === 'all') await lifecycleCase();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
