/**
 * A ~2 GB PanCollection file (WV3-like: 3500 float64 samples of gt/lms 8×64×64, ms 8×16×16,
 * pan 1×64×64 = 573,440 B each) is written incrementally and read back in batches, with the
 * process RSS kept under 1 GiB throughout: the proof that neither side holds the file in memory.
 *
 * The work runs in a child `node` process on lib/ transpiled to plain JS, i.e. the way the
 * library runs in production. Measuring inside this test process would mostly measure tsx:
 * its loader rewrites h5wasm's 4 MB module and by itself adds ~600 MB of RSS.
 *
 * Skipped with SPECFUSE_SKIP_SLOW=1 or when the temp dir lacks space.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import ts from 'typescript';
import { REPO } from './fixtures/helpers.js';

const N = 3500,
  C = 8,
  S = 64,
  s = 16;
const PER_SAMPLE = (2 * C * S * S + C * s * s + S * S) * 8;
const EXPECTED_BYTES = N * PER_SAMPLE;
const RSS_LIMIT = 1024 ** 3;

function freeBytes(dir: string): number {
  try {
    const st = fs.statfsSync(dir);
    return st.bavail * st.bsize;
  } catch {
    return Infinity;
  }
}

const skip =
  process.env.SPECFUSE_SKIP_SLOW === '1'
    ? 'SPECFUSE_SKIP_SLOW=1'
    : freeBytes(os.tmpdir()) < EXPECTED_BYTES * 1.2
      ? `less than ${((EXPECTED_BYTES * 1.2) / 1e9).toFixed(1)} GB free in ${os.tmpdir()}`
      : false;

/**
 * lib/data/*.ts and every lib file they import (relative imports, followed: lib/host.ts,
 * lib/atomic.ts, ...) → plain ESM JS under dir/lib (no type check: tsc does that elsewhere).
 */
function transpileLib(dir: string): void {
  const pending = fs
    .readdirSync(path.join(REPO, 'lib/data'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `lib/data/${f}`);
  const done = new Set<string>();
  while (pending.length) {
    const f = pending.pop()!;
    if (done.has(f)) continue;
    done.add(f);
    const source = fs.readFileSync(path.join(REPO, f), 'utf8');
    for (const m of source.matchAll(/(?:from|import)\s*\(?\s*'(\.\.?\/[^']+)\.js'/g)) {
      pending.push(path.posix.join(path.posix.dirname(f), `${m[1]}.ts`));
    }
    const out = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: f,
    });
    const dest = path.join(dir, f.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, out.outputText);
  }
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
}

const CHILD = `
import fs from 'node:fs';
import { PanCollectionWriter } from './lib/data/pancollection-write.js';
import { openPanCollection } from './lib/data/pancollection.js';
const [file, N, C, S, s] = [process.argv[2], ${N}, ${C}, ${S}, ${s}];
const valueAt = (key, n, i) => (key * 251 + n * 13 + i) % 2047;
function batch(n0, count) {
  const mk = (key, shape) => {
    const per = shape.reduce((a, b) => a * b, 1);
    const data = new Float64Array(count * per);
    for (let n = 0; n < count; n++) for (let i = 0; i < per; i++) data[n * per + i] = valueAt(key, n0 + n, i);
    return { dtype: 'float64', shape: [count, ...shape], data };
  };
  return { gt: mk(1, [C, S, S]), lms: mk(2, [C, S, S]), ms: mk(3, [C, s, s]), pan: mk(4, [1, S, S]) };
}
let peak = 0;
const sample = () => { peak = Math.max(peak, process.memoryUsage().rss); };
const t0 = performance.now();
const w = await PanCollectionWriter.create(file);
for (let n0 = 0; n0 < N; n0 += 100) { w.append(batch(n0, Math.min(100, N - n0))); sample(); }
w.close();
const writeS = (performance.now() - t0) / 1000, writePeak = peak;
peak = 0;
const t1 = performance.now();
const f = await openPanCollection(file);
let count = 0, mismatches = 0;
const ids = { gt: 1, lms: 2, ms: 3, pan: 4 };
for (const b of f.batches(64, { dtype: 'float32' })) {
  const n = b.pan.shape[0];
  for (const k of ['gt', 'lms', 'ms', 'pan']) {
    const a = b[k], per = a.data.length / n;
    for (let j = 0; j < n; j++) for (const i of [0, per >> 1, per - 1]) if (a.data[j * per + i] !== valueAt(ids[k], b.start + j, i)) mismatches++;
  }
  count += n;
  sample();
}
const length = f.length;
f.close();
console.log(JSON.stringify({ writeS, readS: (performance.now() - t1) / 1000, writePeak, readPeak: peak, size: fs.statSync(file).size, length, count, mismatches }));
`;

t.test('2 GB PanCollection: incremental write and batched read under 1 GiB RSS', { skip, timeout: 300_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'specfuse-large-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  transpileLib(dir);
  fs.writeFileSync(path.join(dir, 'child.mjs'), CHILD);
  const file = path.join(dir, 'train_wv3.h5');
  const started = performance.now();
  // lib/data reads the sensor table from the addon (native/ops/sensors.cc): the copy loads this checkout's build
  const env = { ...process.env, SPECFUSE_ADDON: process.env.SPECFUSE_ADDON ?? path.join(REPO, 'build/Release/specfuse.node') };
  const r = spawnSync(process.execPath, [path.join(dir, 'child.mjs'), file], { cwd: dir, env, encoding: 'utf8', timeout: 280_000 });
  t.equal(r.status, 0, `child exited cleanly ${r.stderr ? `(stderr: ${r.stderr.slice(-2000)})` : ''}`);
  const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
  t.equal(res.length, N);
  t.ok(res.size! >= EXPECTED_BYTES && res.size! < EXPECTED_BYTES * 1.01, `file is ${(res.size! / 1e9).toFixed(3)} GB (${res.size} bytes)`);
  t.equal(res.count, N, 'every sample visited once');
  t.equal(res.mismatches, 0, 'spot-checked values (first/middle/last of every sample and key) are exact');
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  t.ok(res.writePeak! < RSS_LIMIT, `peak RSS while writing ${mib(res.writePeak!)} < 1024 MiB`);
  t.ok(res.readPeak! < RSS_LIMIT, `peak RSS while reading ${mib(res.readPeak!)} < 1024 MiB`);
  t.comment(
    `2 GB file: write ${res.writeS!.toFixed(1)} s (${(res.size! / 1e6 / res.writeS!).toFixed(0)} MB/s), read in batches of 64 ${res.readS!.toFixed(1)} s, ` +
      `peak RSS write ${mib(res.writePeak!)} / read ${mib(res.readPeak!)}, total ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
});
