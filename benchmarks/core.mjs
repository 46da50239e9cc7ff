// Binding overheads, side by side with PyTorch (Python, same libtorch wheel) in one run:
//   - per-call overhead of a trivial op (add of two 1-element tensors), microseconds
//   - copy bandwidth in (TypedArray -> tensor) and out (tensor -> TypedArray) for 64 MB, GB/s
// Usage: node benchmarks/core.mjs [--json out.json]
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tensor, getNumThreads } from '../dist/index.js';
import { venvDir } from '../scripts/libtorch.mjs';
import { median, printTable } from './util.mjs';

const here = dirname(fileURLToPath(import.meta.url));

function timeIt(fn, { reps, inner }) {
  for (let i = 0; i < Math.min(3, reps); i++) fn();
  const samples = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < inner; i++) fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e9 / inner);
  }
  return median(samples);
}

async function timeAsync(fn, { reps }) {
  await fn();
  const samples = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(samples);
}

const a = tensor(new Float32Array([1]));
const b = tensor(new Float32Array([2]));
const opSec = timeIt(() => a.add(b).dispose(), { reps: 15, inner: 2000 });

const bytes = 64 * 2 ** 20;
const big = new Float32Array(bytes / 4).map((_, i) => i % 1000);
const inSec = timeIt(() => tensor(big).dispose(), { reps: 15, inner: 1 });
const t64 = tensor(big);
const outSyncSec = timeIt(() => t64.dataSync(), { reps: 15, inner: 1 });
const outAsyncSec = await timeAsync(() => t64.data(), { reps: 15 });

const py = JSON.parse(execFileSync(join(venvDir, 'bin', 'python'), [join(here, 'py', 'core.py'), String(getNumThreads())], { encoding: 'utf8' }));

const rows = [
  ['trivial op (add, 1 element), µs/call', opSec * 1e6, py.op_sec * 1e6, 'lower'],
  ['copy in 64 MB, GB/s', bytes / inSec / 1e9, bytes / py.in_sec / 1e9, 'higher'],
  ['copy out 64 MB (dataSync), GB/s', bytes / outSyncSec / 1e9, bytes / py.out_sec / 1e9, 'higher'],
  ['copy out 64 MB (async data()), GB/s', bytes / outAsyncSec / 1e9, bytes / py.out_sec / 1e9, 'higher'],
];
printTable(
  ['measure', 'specfuse', 'PyTorch', 'specfuse/PyTorch (speed)'],
  rows.map(([name, s, p, better]) => [name, s.toFixed(2), p.toFixed(2), (better === 'lower' ? p / s : s / p).toFixed(2)]),
);
console.log(`medians of 15 runs; threads ${getNumThreads()}; PyTorch ${py.torch}; node ${process.version}`);
const jsonAt = process.argv.indexOf('--json');
if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1], JSON.stringify({ rows, py }, null, 2));
