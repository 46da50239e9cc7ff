// specfuse inside a busy Node program: how much the host program's own work waits on inference.
//   readfile: fs.promises.readFile latency (a 4 KiB file) idle, and while 8 forwards of a tiny
//             PanAdapter (batch 4, 64x64) are kept in flight; medians, p99 and the ratio.
// Usage: node benchmarks/embedded.mjs [--reads 200] [--in-flight 8] [--preset tiny]
// Compare with an older addon: SPECFUSE_ADDON=/path/to/specfuse.node node benchmarks/embedded.mjs
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createModel, rand, getNumThreads } from '../dist/index.js';
import { median, printTable } from './util.mjs';

const { values: a } = parseArgs({ options: {
  reads: { type: 'string', default: '200' }, 'in-flight': { type: 'string', default: '8' }, preset: { type: 'string', default: 'tiny' },
} });
const reads = Number(a.reads), inFlight = Number(a['in-flight']);
const p99 = (xs) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))];
const ms = (x) => x.toFixed(3);

const dir = mkdtempSync(join(tmpdir(), 'specfuse-embedded-'));
const file = join(dir, 'small.bin');
writeFileSync(file, Buffer.alloc(4096, 7));

async function readLatencies(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await readFile(file);
    out.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 1)); // spread the reads over the forwards
  }
  return out;
}

const model = createModel({ model: 'panadapter', preset: a.preset });
const bands = model.config.bands;
const inputs = { lms: rand([4, bands, 64, 64]), pan: rand([4, 1, 64, 64]), ms: rand([4, bands, 16, 16]) };
(await model.forward(inputs)).dispose(); // warm-up

await readLatencies(20);
const idle = await readLatencies(reads);

let stop = false, forwards = 0;
async function keepBusy() {
  while (!stop) { (await model.forward(inputs)).dispose(); forwards++; }
}
const busy = Array.from({ length: inFlight }, keepBusy);
const t0 = performance.now();
const loaded = await readLatencies(reads);
const seconds = (performance.now() - t0) / 1000;
stop = true;
await Promise.all(busy);

console.log(`readFile latency, ms (${reads} reads; ${inFlight} forwards of a ${a.preset} PanAdapter at batch 4 kept in flight; ` +
  `${getNumThreads()} intra-op threads; UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? 'default (4)'}; ` +
  `addon ${process.env.SPECFUSE_ADDON ?? 'build/Release'})`);
printTable(['case', 'median', 'p99', 'median ratio to idle', 'forwards/s'], [
  ['idle', ms(median(idle)), ms(p99(idle)), '1.00', '-'],
  [`${inFlight} forwards in flight`, ms(median(loaded)), ms(p99(loaded)), (median(loaded) / median(idle)).toFixed(2), (forwards / seconds).toFixed(1)],
]);
for (const t of [model, ...Object.values(inputs)]) t.dispose();
rmSync(dir, { recursive: true, force: true });
