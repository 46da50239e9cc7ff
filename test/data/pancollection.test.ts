import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { HostArray } from '../../lib/host.js';
import { PanCollectionWriter, openPanCollection, sensorFromPath, sensorScale, writePanCollection } from '../../lib/data/index.js';
import { PY_DUMP, cutPoints, dumpedValues, formatError, parseDumps, pythonWith, rng, runPython, tempDir, values } from './fixtures/helpers.js';

const h5py = pythonWith('h5py', 'numpy');
const skipH5py = h5py ? false : 'python with h5py not available';

/** A small PanCollection-like set whose every value encodes (key, sample, index). */
function samples(n: number, c = 4, size = 16, ratio = 4, withGt = true) {
  const mk = (key: number, shape: number[]): HostArray => {
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = key * 1e6 + Math.floor(i / per) * 1000 + (i % per) / 7;
    return { dtype: 'float64', shape, data };
  };
  const s = size / ratio;
  const out: { gt?: HostArray; lms: HostArray; ms: HostArray; pan: HostArray } = {
    lms: mk(2, [n, c, size, size]),
    ms: mk(3, [n, c, s, s]),
    pan: mk(4, [n, 1, size, size]),
  };
  if (withGt) out.gt = mk(1, [n, c, size, size]);
  return out;
}

function sliceSamples(a: HostArray, i0: number, i1: number): number[] {
  const per = a.shape.slice(1).reduce((x, y) => x * y, 1);
  return values(a).slice(i0 * per, i1 * per);
}

t.test('sensor scales and names', async (t) => {
  t.equal(sensorScale('WV3'), 2047);
  t.equal(sensorScale('wv2'), 2047);
  t.equal(sensorScale('QB'), 2047);
  t.equal(sensorScale('GF2'), 1023);
  t.equal(sensorScale('Gaofen-2'), 1023);
  t.equal(sensorScale('WorldView-3'), 2047);
  t.throws(() => sensorScale('landsat'), { code: 'bad-argument' });
  t.equal(sensorFromPath('/data/train_wv3.h5'), 'wv3');
  t.equal(sensorFromPath('test_gf2_OrigScale_multiExm1.h5'), 'gf2');
  t.equal(sensorFromPath('valid_qb_17139.h5'), 'qb');
  t.equal(sensorFromPath('data.h5'), undefined);
});

t.test('write → read round trip, ranges, batches, dtypes', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const p = path.join(tmp.dir, 'train_wv3.h5');
  const all = samples(10);
  const w = await PanCollectionWriter.create(p);
  // incremental: three appends of different sizes
  for (const [i0, i1] of [
    [0, 3],
    [3, 4],
    [4, 10],
  ] as const) {
    const part = Object.fromEntries(
      Object.entries(all).map(([k, a]) => [
        k,
        {
          dtype: 'float64' as const,
          shape: [i1 - i0, ...a.shape.slice(1)],
          data: (a.data as Float64Array).slice(i0 * (a.data.length / 10), i1 * (a.data.length / 10)),
        },
      ]),
    );
    w.append(part as typeof all);
  }
  t.equal(w.length, 10);
  w.close();
  w.close(); // idempotent

  const f = await openPanCollection(p);
  t.same(f.keys, ['gt', 'lms', 'ms', 'pan']);
  t.equal(f.length, 10);
  t.equal(f.channels, 4);
  t.equal(f.sensor, 'wv3');
  t.equal(f.scale, 2047);
  t.same(f.info('ms'), { shape: [10, 4, 4, 4], dtype: 'float64' });
  t.same(f.info('pan'), { shape: [10, 1, 16, 16], dtype: 'float64' });
  for (const k of ['gt', 'lms', 'ms', 'pan'] as const) {
    const a = f.read(k, 2, 7);
    t.same(a.shape, [5, ...all[k]!.shape.slice(1)], `${k} range shape`);
    t.same(values(a), sliceSamples(all[k]!, 2, 7), `${k} samples [2,7) exact`);
  }
  const f32 = f.read('gt', 0, 1, { dtype: 'float32' });
  t.equal(f32.dtype, 'float32');
  t.ok(f32.data instanceof Float32Array);
  t.same(Array.from(f32.data as Float32Array), sliceSamples(all.gt!, 0, 1).map(Math.fround));
  t.same(f.read('ms', 4, 4).shape, [0, 4, 4, 4], 'empty range');
  const starts: number[] = [];
  let seen = 0;
  for (const b of f.batches(4)) {
    starts.push(b.start);
    seen += b.pan.shape[0]!;
    t.same(values(b.lms!), sliceSamples(all.lms, b.start, b.start + b.pan.shape[0]!));
  }
  t.same(starts, [0, 4, 8]);
  t.equal(seen, 10);
  t.throws(() => f.read('gt', 8, 11), { code: 'bad-argument' });
  t.throws(() => f.read('gt', -1, 2), { code: 'bad-argument' });
  t.throws(() => f.read('gt', 3, 2), { code: 'bad-argument' });
  t.throws(() => [...f.batches(0)], { code: 'bad-argument' });
  f.close();
  t.throws(() => f.read('gt', 0, 1), { code: 'bad-argument' }, 'closed file');

  for (const dtype of ['float32', 'uint16'] as const) {
    const q = path.join(tmp.dir, `${dtype}.h5`);
    const small = samples(3, 8, 8, 2, false);
    for (const a of Object.values(small)) {
      const d = a.data as Float64Array;
      for (let i = 0; i < d.length; i++) d[i] = (i % 2047) + 0.4;
    }
    await writePanCollection(q, small, { dtype, gzip: 4, chunkSamples: 2 });
    const g = await openPanCollection(q);
    t.same(g.keys, ['lms', 'ms', 'pan'], 'no gt (full-resolution layout)');
    t.equal(g.info('lms').dtype, dtype);
    const got = g.read('lms', 0, 3);
    const expect = values(small.lms).map((v) => (dtype === 'uint16' ? Math.round(v) : Math.fround(v)));
    t.same(values(got), expect, `${dtype} stored (uint16 rounded)`);
    t.equal(g.read('ms', 0, 3, { dtype: 'float64' }).dtype, 'float64');
    g.close();
  }
});

t.test('h5py reads our files, we read h5py files (the published layout)', { skip: skipH5py }, async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const ours = path.join(tmp.dir, 'ours.h5');
  const all = samples(5, 8, 16, 4);
  await writePanCollection(ours, all);
  const out = path.join(tmp.dir, 'dump');
  fs.mkdirSync(out);
  const dumps = parseDumps(
    runPython(
      h5py!,
      `${PY_DUMP}
import h5py
f = h5py.File(sys.argv[1], 'r')
for k in f: dump(k, f[k][...], sys.argv[2])
`,
      [ours, out],
    ),
  );
  for (const k of ['gt', 'lms', 'ms', 'pan'] as const) {
    const d = dumps.get(k)!;
    t.same({ shape: d.shape, dtype: d.dtype }, { shape: all[k]!.shape, dtype: 'float64' }, `h5py sees ${k} as N×C×H×W float64`);
    t.same(dumpedValues(d), values(all[k]!), `h5py values of ${k}`);
  }

  // h5py-written, contiguous (not chunked) float64 like the PanCollection downloads, plus a uint16 and a 3-D pan variant.
  const theirs = path.join(tmp.dir, 'test_gf2_multiExm1.h5');
  runPython(
    h5py!,
    `
import sys, h5py, numpy as np
N, C = 3, 4
rng = np.random.default_rng(0)
with h5py.File(sys.argv[1], 'w') as f:
    f['gt'] = rng.integers(0, 1023, (N, C, 32, 32)).astype('f8')
    f['lms'] = rng.integers(0, 1023, (N, C, 32, 32)).astype('f8')
    f['ms'] = rng.integers(0, 1023, (N, C, 8, 8)).astype('>f8')
    f['pan'] = rng.integers(0, 1023, (N, 32, 32)).astype('u2')
    f['extra'] = np.arange(3)
`,
    [theirs],
  );
  const dumps2 = parseDumps(
    runPython(
      h5py!,
      `${PY_DUMP}
import h5py
f = h5py.File(sys.argv[1], 'r')
for k in ['gt', 'lms', 'ms', 'pan']: dump(k, f[k][...], sys.argv[2])
`,
      [theirs, out],
    ),
  );
  const f = await openPanCollection(theirs);
  t.equal(f.sensor, 'gf2');
  t.equal(f.scale, 1023);
  t.same(f.info('pan'), { shape: [3, 1, 32, 32], dtype: 'uint16' }, '3-D pan presented as N×1×H×W');
  for (const k of ['gt', 'lms', 'ms', 'pan'] as const) {
    t.same(values(f.read(k, 0, 3)), dumpedValues(dumps2.get(k)!), `our read of h5py ${k} (ms stored big-endian)`);
  }
  f.close();
});

t.test('bad files: missing keys, wrong shapes, not HDF5, truncated', { skip: skipH5py }, async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const make = (name: string, body: string) => {
    const p = path.join(tmp.dir, name);
    runPython(
      h5py!,
      `
import sys, h5py, numpy as np
z = lambda *s: np.zeros(s)
with h5py.File(sys.argv[1], 'w') as f:
${body
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
`,
      [p],
    );
    return p;
  };
  const cases: [string, string, string, RegExp][] = [
    ['nopan.h5', `f['ms'] = z(2, 4, 4, 4)\nf['lms'] = z(2, 4, 16, 16)`, 'missing-key', /no 'pan'/],
    ['noms.h5', `f['pan'] = z(2, 1, 16, 16)`, 'missing-key', /no 'ms'/],
    ['pan2ch.h5', `f['ms'] = z(2, 4, 4, 4)\nf['pan'] = z(2, 2, 16, 16)`, 'shape', /1 channel/],
    ['count.h5', `f['ms'] = z(2, 4, 4, 4)\nf['pan'] = z(3, 1, 16, 16)`, 'shape', /3 samples/],
    ['bands.h5', `f['ms'] = z(2, 4, 4, 4)\nf['lms'] = z(2, 8, 16, 16)\nf['pan'] = z(2, 1, 16, 16)`, 'shape', /8 channels/],
    ['ratio.h5', `f['ms'] = z(2, 4, 5, 5)\nf['pan'] = z(2, 1, 16, 16)`, 'shape', /integer multiple/],
    ['lmssize.h5', `f['ms'] = z(2, 4, 4, 4)\nf['lms'] = z(2, 4, 8, 8)\nf['pan'] = z(2, 1, 16, 16)`, 'shape', /8×8/],
    ['rank.h5', `f['ms'] = z(2, 4, 4)\nf['pan'] = z(2, 1, 16, 16)`, 'shape', /4-D/],
    ['group.h5', `f.create_group('ms')\nf['pan'] = z(2, 1, 16, 16)`, 'shape', /not a dataset/],
    ['strings.h5', `f['ms'] = np.array([b'ab'] * 4).reshape(1, 1, 2, 2)\nf['pan'] = z(1, 1, 4, 4)`, 'unsupported', /HDF5 type/],
  ];
  for (const [name, body, code, msg] of cases) {
    const p = make(name, body);
    const e = await formatError(() => openPanCollection(p));
    t.equal(e?.code, code, `${name}: ${code}`);
    t.match(e?.message, msg, `${name}: ${e?.message}`);
  }
  const notH5 = path.join(tmp.dir, 'not.h5');
  fs.writeFileSync(notH5, 'definitely not hdf5 data, just some text'.repeat(10));
  t.equal((await formatError(() => openPanCollection(notH5)))?.code, 'bad-magic');
  const empty = path.join(tmp.dir, 'empty.h5');
  fs.writeFileSync(empty, '');
  t.equal((await formatError(() => openPanCollection(empty)))?.code, 'truncated');
  await t.rejects(openPanCollection(path.join(tmp.dir, 'missing.h5')), { code: 'ENOENT' });

  // Truncation: a file cut anywhere must be refused at open or at read, never crash.
  const good = path.join(tmp.dir, 'good.h5');
  await writePanCollection(good, samples(6, 4, 16, 4));
  const bytes = fs.readFileSync(good);
  const cut = path.join(tmp.dir, 'cut.h5');
  const cuts = cutPoints(bytes.length, 0, 120, 5).concat([0, 4, 8, 100, 500, 1000, 2000, 4000]);
  const codes = new Map<string, number>();
  for (const at of cuts) {
    fs.writeFileSync(cut, bytes.subarray(0, at));
    const e = await formatError(async () => {
      const f = await openPanCollection(cut);
      try {
        for (const k of f.keys) f.read(k, 0, f.length);
      } finally {
        f.close();
      }
    });
    const c = e?.code ?? 'read fine';
    codes.set(c, (codes.get(c) ?? 0) + 1);
  }
  t.notOk(codes.has('read fine'), `no truncated file read as if complete (${JSON.stringify(Object.fromEntries(codes))})`);
  t.ok(codes.has('truncated'));

  // Random damage (metadata region and anywhere): DataFormatError or data, never a crash or another error.
  const r = rng(3);
  const damaged = path.join(tmp.dir, 'damaged.h5');
  const seen = new Map<string, number>();
  for (let i = 0; i < 200; i++) {
    const c = Uint8Array.from(bytes);
    for (let k = 0; k < 3; k++) c[r() < 0.5 ? Math.floor(r() * 4096) : Math.floor(r() * c.length)] = Math.floor(r() * 256);
    fs.writeFileSync(damaged, c);
    const e = await formatError(async () => {
      const f = await openPanCollection(damaged);
      try {
        for (const k of f.keys) f.read(k, 0, f.length);
      } finally {
        f.close();
      }
    });
    seen.set(e?.code ?? 'ok', (seen.get(e?.code ?? 'ok') ?? 0) + 1);
  }
  t.pass(`200 damaged files handled: ${JSON.stringify(Object.fromEntries(seen))}`);

  // The module still works after all those failures.
  const f = await openPanCollection(good);
  t.equal(f.length, 6);
  f.close();
});

t.test('writer argument checks', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const p = path.join(tmp.dir, 'w.h5');
  const s = samples(2);
  await writePanCollection(p, s);
  await t.rejects(writePanCollection(p, s), { code: 'bad-argument', message: /exists/ });
  await writePanCollection(p, s, { overwrite: true });
  await t.rejects(PanCollectionWriter.create(path.join(tmp.dir, 'x.h5'), { gzip: 12 }), { code: 'bad-argument' });
  await t.rejects(PanCollectionWriter.create(path.join(tmp.dir, 'x.h5'), { chunkSamples: 0 }), { code: 'bad-argument' });
  const w = await PanCollectionWriter.create(path.join(tmp.dir, 'y.h5'));
  t.teardown(() => w.close());
  t.throws(() => w.append({ ms: s.ms } as never), { code: 'missing-key' });
  t.throws(() => w.append({ ...s, pan: { ...s.pan, shape: [2, 1, 16, 8], data: new Float64Array(256) } }), { code: 'shape' });
  t.throws(() => w.append({ ...s, ms: { ...s.ms, shape: [1, 4, 4, 4], data: new Float64Array(64) } }), { code: 'shape', message: /samples/ });
  t.throws(() => w.append({ ...s, gt: { ...s.gt!, data: new Float64Array(3) } }), { code: 'shape' });
  w.append(s);
  const { gt: _gt, ...noGt } = s;
  t.throws(() => w.append(noGt), { code: 'shape', message: /started with/ });
  t.throws(() => w.append({ ...s, gt: samples(1, 4, 32, 4).gt!, lms: samples(1, 4, 32, 4).lms, ms: samples(1, 4, 32, 4).ms, pan: samples(1, 4, 32, 4).pan }), {
    code: 'shape',
    message: /earlier/,
  });
});
