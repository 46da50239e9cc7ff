import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { HostArray } from '../../lib/host.js';
import { openMat, readMat, writeMat, writeMatFile } from '../../lib/data/index.js';
import {
  PY_DUMP,
  bytesOf,
  cutPoints,
  dumpedValues,
  formatError,
  hasRealData,
  parseDumps,
  pythonWith,
  realMat,
  rng,
  runPython,
  tempDir,
  values,
} from './fixtures/helpers.js';

const skipReal = hasRealData ? false : 'real data folder (../shared/data) not present';
const scipyPy = pythonWith('scipy', 'numpy');
const skipScipy = scipyPy ? false : 'python with scipy not available';

/** Documented content of the four example files (shared/data/README.md). */
const EXPECTED: Record<string, Record<string, { class: string; shape: number[]; dtype: string; range?: [number, number] }>> = {
  'wv3_zpnn_example.mat': {
    I_MS_LR: { class: 'uint16', shape: [32, 32, 8], dtype: 'uint16', range: [1, 2047] },
    I_PAN: { class: 'uint16', shape: [128, 128], dtype: 'uint16', range: [1, 2047] },
  },
  'wv2_vitale.mat': {
    I_MS: { class: 'uint16', shape: [320, 320, 8], dtype: 'uint16', range: [1, 2047] },
    I_PAN: { class: 'uint16', shape: [1280, 1280], dtype: 'uint16', range: [1, 2047] },
    L: { class: 'double', shape: [1, 1], dtype: 'float64', range: [11, 11] },
    ratio: { class: 'double', shape: [1, 1], dtype: 'float64', range: [4, 4] },
    RGB_indexes: { class: 'double', shape: [1, 3], dtype: 'float64', range: [2, 5] },
    sensor: { class: 'char', shape: [1, 3], dtype: '' },
  },
  'ikonos_vitale.mat': {
    I_MS: { class: 'uint16', shape: [320, 320, 4], dtype: 'uint16', range: [1, 2047] },
    I_PAN: { class: 'uint16', shape: [1280, 1280], dtype: 'uint16', range: [1, 2047] },
    ratio: { class: 'uint8', shape: [1, 1], dtype: 'uint8', range: [4, 4] },
    L: { class: 'uint8', shape: [1, 1], dtype: 'uint8', range: [11, 11] },
    sensor: { class: 'char', shape: [1, 6], dtype: '' },
  },
  'wv3_pancollection_patch.mat': {
    gt: { class: 'double', shape: [100, 64, 64, 8], dtype: 'float64', range: [1, 2047] },
    lms: { class: 'double', shape: [100, 64, 64, 8], dtype: 'float64', range: [0, 2047] },
    ms: { class: 'double', shape: [100, 16, 16, 8], dtype: 'float64', range: [0, 2047] },
    pan: { class: 'double', shape: [100, 64, 64], dtype: 'float64', range: [0, 2047] },
  },
};

function minMax(a: HostArray): [number, number] {
  let lo = Infinity,
    hi = -Infinity;
  const d = a.data as ArrayLike<number>;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

t.test('real .mat files: listing, shapes, dtypes, plausible values', { skip: skipReal }, async (t) => {
  for (const [file, vars] of Object.entries(EXPECTED)) {
    const f = openMat(realMat(file));
    const listed = Object.fromEntries(f.variables.map((v) => [v.name, { class: v.class, shape: v.shape }]));
    for (const [name, e] of Object.entries(vars)) t.same(listed[name], { class: e.class, shape: e.shape }, `${file} lists ${name}`);
    f.close();
    const all = readMat(realMat(file));
    for (const [name, e] of Object.entries(vars)) {
      if (e.class === 'char') {
        t.notOk(all.has(name), `${file}: char ${name} is not a numeric result`);
        continue;
      }
      const a = all.get(name)!;
      t.same({ shape: a.shape, dtype: a.dtype }, { shape: e.shape, dtype: e.dtype }, `${file} ${name} shape/dtype`);
      const [lo, hi] = minMax(a);
      t.ok(lo >= e.range![0] && hi <= e.range![1] && hi > lo - 1, `${file} ${name} values in [${e.range}] (got ${lo}..${hi})`);
    }
  }
  // Values documented in the README and the files' own metadata.
  const wv2 = openMat(realMat('wv2_vitale.mat'));
  t.equal(wv2.readString('sensor'), 'WV2');
  t.same(values(wv2.read('RGB_indexes')), [5, 3, 2], 'WV2 RGB bands 5,3,2 (1-based)');
  t.same(values(wv2.read('RGB_indexes', { storedType: true })), [5, 3, 2]);
  t.equal(wv2.read('L', { storedType: true }).dtype, 'uint8', 'stored type of a small double is kept on request');
  const ms = wv2.read('I_MS');
  t.same(minMax(ms), [1, 2047], 'WV2 I_MS spans [1, 2047]');
  wv2.close();
  const ik = openMat(realMat('ikonos_vitale.mat'));
  t.equal(ik.readString('sensor'), 'IKONOS');
  t.same(values(ik.read('RGB_indexes')), [3, 2, 1]);
  t.throws(() => ik.read('sensor'), { code: 'unsupported' }, 'char through read() is refused clearly');
  t.throws(() => ik.readString('I_PAN'), { code: 'unsupported' });
  t.throws(() => ik.read('nope'), { code: 'missing-key' });
  ik.close();
  // The stored type of PanCollection patches is uint16 (what scipy shows by default).
  const patch = readMat(realMat('wv3_pancollection_patch.mat'), { storedType: true });
  t.equal(patch.get('gt')!.dtype, 'uint16');
});

t.test('row-major transpose: a known MATLAB element lands where MATLAB indexing says', { skip: skipReal }, async (t) => {
  // I_MS(r, c, b) (1-based) must be out[(r-1)*W*C + (c-1)*C + (b-1)]; cross-check via the
  // column-major file order: element index (r-1) + (c-1)*H + (b-1)*H*W in the raw payload.
  const a = readMat(realMat('wv3_zpnn_example.mat')).get('I_MS_LR')!;
  const [H, W, C] = a.shape as [number, number, number];
  const raw = readMat(realMat('wv3_zpnn_example.mat'));
  t.equal(raw.size, 2);
  const f = fs.readFileSync(realMat('wv3_zpnn_example.mat'));
  // The first variable is uncompressed in this file: find its payload by reading back our own listing.
  const info = openMat(realMat('wv3_zpnn_example.mat')).info('I_MS_LR');
  t.notOk(info.compressed);
  const payloadEnd = info.offset + 8 + f.readUInt32LE(info.offset + 4);
  const payloadStart = payloadEnd - H * W * C * 2;
  const colMajor = new Uint16Array(f.buffer.slice(f.byteOffset + payloadStart, f.byteOffset + payloadEnd));
  for (const [r, c, b] of [
    [0, 0, 0],
    [5, 7, 3],
    [31, 0, 7],
    [0, 31, 1],
    [17, 23, 6],
  ] as const) {
    t.equal((a.data as Uint16Array)[r * W * C + c * C + b], colMajor[r + c * H + b * H * W], `I_MS_LR(${r + 1},${c + 1},${b + 1})`);
  }
});

t.test('bit-exact against scipy.io.loadmat', { skip: skipReal || skipScipy }, async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  for (const file of Object.keys(EXPECTED)) {
    for (const storedType of [false, true]) {
      const out = path.join(tmp.dir, `${file}-${storedType}`);
      fs.mkdirSync(out);
      const code = `${PY_DUMP}
import scipy.io
d = scipy.io.loadmat(sys.argv[1], mat_dtype=${storedType ? 'False' : 'True'})
for k, v in d.items():
    if k.startswith('__') or v.dtype.kind not in 'biuf': continue
    dump(k, v, sys.argv[2])
`;
      const dumps = parseDumps(runPython(scipyPy!, code, [realMat(file), out]));
      const ours = readMat(realMat(file), { storedType });
      t.same([...ours.keys()].sort(), [...dumps.keys()].sort(), `${file} (${storedType ? 'stored' : 'class'} types): same variables`);
      for (const [name, d] of dumps) {
        const a = ours.get(name)!;
        t.same(a.shape, d.shape, `${file} ${name} shape`);
        const bitsEqual = Buffer.compare(Buffer.from(bytesOf(a)), fs.readFileSync(d.file)) === 0;
        t.ok(bitsEqual, `${file} ${name}: ${a.dtype} bytes identical to scipy ${d.dtype}`);
      }
    }
  }
});

/** One array of every dtype and rank the writer supports. */
function sampleVars(): Map<string, HostArray | string> {
  const r = rng(7);
  const mk = <T extends HostArray['data']>(
    dtype: HostArray['dtype'],
    shape: number[],
    ctor: new (n: number) => T,
    f: (i: number) => number | bigint,
  ): HostArray => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new ctor(n);
    for (let i = 0; i < n; i++) (data as unknown as { [i: number]: number | bigint })[i] = f(i);
    return { dtype, shape, data };
  };
  return new Map<string, HostArray | string>([
    ['f64', mk('float64', [3, 4, 5], Float64Array, () => (r() - 0.5) * 1e6)],
    ['f32', mk('float32', [2, 3, 4, 5], Float32Array, () => r())],
    ['i8', mk('int8', [7, 3], Int8Array, (i) => (i % 256) - 128)],
    ['u8', mk('uint8', [5], Uint8Array, (i) => i * 50)],
    ['i16', mk('int16', [2, 2], Int16Array, (i) => -30000 + i * 20000)],
    ['u16', mk('uint16', [4, 6, 8], Uint16Array, (i) => (i * 977) % 65536)],
    ['i32', mk('int32', [3, 1, 2], Int32Array, (i) => (i - 3) * 700000000)],
    ['i64', mk('int64', [2, 3], BigInt64Array, (i) => BigInt(i) * 1234567890123n - 5000000000000n)],
    ['flags', mk('bool', [3, 3], Uint8Array, (i) => i % 2)],
    ['scalar', mk('float64', [], Float64Array, () => Math.PI)],
    ['empty', mk('float64', [0, 3], Float64Array, () => 0)],
    ['a_long_variable_name_of_many_chars', mk('float64', [1, 1], Float64Array, () => 1)],
    ['sensor', 'WV3'],
    ['note', 'unicode é ü'],
  ]);
}

t.test('writeMat → readMat round trip (plain and compressed)', async (t) => {
  const vars = sampleVars();
  for (const compress of [false, true]) {
    const bytes = writeMat(vars, { compress });
    const f = openMat(bytes);
    for (const [name, v] of vars) {
      if (typeof v === 'string') {
        t.equal(f.readString(name), v, `${name} string (compress=${compress})`);
        continue;
      }
      const a = f.read(name);
      const expectShape = v.shape.length === 0 ? [1, 1] : v.shape.length === 1 ? [1, v.shape[0]] : v.shape;
      t.same(a.shape, expectShape, `${name} shape (compress=${compress})`);
      t.equal(a.dtype, v.dtype, `${name} dtype`);
      t.same(bytesOf(a), bytesOf(v), `${name} data`);
      t.equal(f.info(name).compressed, compress);
    }
    t.equal(f.info('flags').class, 'logical');
  }
  // MATLAB chars are UTF-16 code units: a character outside the BMP is two of them.
  const astral = openMat(writeMat({ s: 'pan 🛰 sharpen' }));
  t.same(astral.info('s').shape, [1, 14]);
  t.equal(astral.readString('s'), 'pan 🛰 sharpen');
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const p = path.join(tmp.dir, 'x.mat');
  writeMatFile(p, { x: { dtype: 'uint16', shape: [2, 2], data: new Uint16Array([1, 2, 3, 4]) } });
  t.same(values(readMat(p).get('x')!), [1, 2, 3, 4], 'writeMatFile + readMat(path)');
});

t.test('scipy reads what writeMat writes, bit for bit', { skip: skipScipy }, async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const vars = sampleVars();
  for (const compress of [false, true]) {
    const p = path.join(tmp.dir, `ours-${compress}.mat`);
    fs.writeFileSync(p, writeMat(vars, { compress }));
    const out = path.join(tmp.dir, `dump-${compress}`);
    fs.mkdirSync(out);
    const code = `${PY_DUMP}
import scipy.io
d = scipy.io.loadmat(sys.argv[1])
for k, v in d.items():
    if k.startswith('__'): continue
    if v.dtype.kind == 'U': print(json.dumps({'name': k, 'dtype': 'str', 'shape': list(v.shape), 'file': str(v[0])})); continue
    dump(k, v, sys.argv[2])
`;
    const dumps = parseDumps(runPython(scipyPy!, code, [p, out]));
    for (const [name, v] of vars) {
      const d = dumps.get(name)!;
      if (typeof v === 'string') {
        t.equal(d.file, v, `scipy reads string ${name}`);
        continue;
      }
      const expectShape = v.shape.length === 0 ? [1, 1] : v.shape.length === 1 ? [1, v.shape[0]] : v.shape;
      t.same(d.shape, expectShape, `scipy shape of ${name} (compress=${compress})`);
      t.same(dumpedValues(d), values(v), `scipy values of ${name}`);
    }
  }
});

t.test('unsupported classes are listed, skipped by readMat, refused by read', { skip: skipScipy }, async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const p = path.join(tmp.dir, 'mixed.mat');
  runPython(
    scipyPy!,
    `
import sys, numpy as np, scipy.io, scipy.sparse
scipy.io.savemat(sys.argv[1], {'z': np.array([[1+2j, 3-1j]]), 'c': np.array([[np.array([1.0]), np.array(['x'])]], dtype=object),
  's': {'a': 1.0}, 'sp': scipy.sparse.eye(3).tocsc(), 'x': np.arange(6.0).reshape(2, 3)}, do_compression=True)
`,
    [p],
  );
  const f = openMat(p);
  const classes = Object.fromEntries(f.variables.map((v) => [v.name, `${v.class}${v.complex ? '+complex' : ''}`]));
  t.same(classes, { z: 'double+complex', c: 'cell', s: 'struct', sp: 'sparse', x: 'double' });
  for (const name of ['z', 'c', 's', 'sp']) t.throws(() => f.read(name), { code: 'unsupported', name: 'DataFormatError' }, `${name} refused`);
  t.same(values(f.read('x')), [0, 1, 2, 3, 4, 5], 'row-major [[0,1,2],[3,4,5]]');
  f.close();
  t.same([...readMat(p).keys()], ['x']);
  t.throws(() => readMat(p, { unsupported: 'throw' }), { code: 'unsupported' });
});

t.test('big-endian files are read', async (t) => {
  // Hand-built 'MI' file: one 2×2 double [[1,2],[3,4]] named 'be' (column-major 1,3,2,4).
  const h = Buffer.alloc(128, 0x20);
  h.write('MATLAB 5.0 MAT-file, big-endian test', 0, 'latin1');
  h.writeUInt16BE(0x0100, 124);
  h.write('MI', 126, 'latin1');
  const body = Buffer.alloc(8 + 16 + 16 + 8 + 8 + 32);
  let p = 0;
  const u32 = (v: number) => {
    body.writeUInt32BE(v, p);
    p += 4;
  };
  u32(14);
  u32(body.length - 8); // miMATRIX
  u32(6);
  u32(8);
  u32(6);
  u32(0); // flags: double
  u32(5);
  u32(8);
  body.writeInt32BE(2, p);
  body.writeInt32BE(2, p + 4);
  p += 8; // dims
  body.writeUInt32BE((2 << 16) | 1, p);
  body.write('be', p + 4, 'latin1');
  p += 8; // small name
  u32(9);
  u32(32);
  for (const v of [1, 3, 2, 4]) {
    body.writeDoubleBE(v, p);
    p += 8;
  }
  const a = readMat(Buffer.concat([h, body])).get('be')!;
  t.same(a.shape, [2, 2]);
  t.same(values(a), [1, 2, 3, 4]);
});

t.test('not a MAT-file / unsupported versions', async (t) => {
  t.throws(() => readMat(new Uint8Array(0)), { code: 'truncated' }, 'empty');
  t.throws(() => readMat(new TextEncoder().encode('hello, this is plain text and not a mat file at all '.repeat(4))), { code: 'bad-magic' });
  t.throws(() => readMat(new Uint8Array(50)), { code: 'bad-magic' }, 'short non-MAT');
  t.throws(() => readMat(new TextEncoder().encode('MATLAB 5.0 MAT-file')), { code: 'truncated' }, 'header cut short');
  const v73 = Buffer.alloc(128, 0x20);
  v73.write('MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 .', 0, 'latin1');
  v73.writeUInt16LE(0x0200, 124);
  v73.write('IM', 126, 'latin1');
  const e = await formatError(() => readMat(v73));
  t.equal(e?.code, 'unsupported');
  t.match(e?.message, /v7\.3/);
  t.throws(() => openMat('/nonexistent/file.mat'), { code: 'ENOENT' }, 'missing files are not format errors');
  const bad = Buffer.from(writeMat({ x: { dtype: 'float64', shape: [2], data: new Float64Array([1, 2]) } }));
  bad.writeUInt32LE(3, 128); // top-level element of type miINT16
  t.throws(() => readMat(bad), { code: 'corrupt', message: /top-level element/ });
  const badDims = Buffer.from(writeMat({ x: { dtype: 'float64', shape: [2, 3], data: new Float64Array(6) } }));
  badDims.writeInt32LE(5, 128 + 8 + 16 + 8 + 4); // dims now [2, 5]: more elements than stored
  t.throws(() => readMat(badDims), { code: 'corrupt', message: /10 elements/ });
  t.throws(() => writeMat({ '1abc': { dtype: 'uint8', shape: [1], data: new Uint8Array(1) } }), { code: 'bad-argument' });
  t.throws(() => writeMat({ x: { dtype: 'uint8', shape: [2], data: new Uint8Array(1) } }), { code: 'shape' });
  t.throws(() => writeMat({ x: { dtype: 'float16', shape: [1], data: new Uint16Array(1) } }), { code: 'bad-argument' });
});

t.test('truncated files: every cut point gives DataFormatError, never a crash or a wrong result', async (t) => {
  const files: [string, Uint8Array][] = [
    ['written plain', writeMat(sampleVars())],
    ['written compressed', writeMat(sampleVars(), { compress: true })],
  ];
  if (hasRealData) {
    files.push(['wv3_zpnn_example.mat', fs.readFileSync(realMat('wv3_zpnn_example.mat'))]);
    files.push(['wv2_vitale.mat', fs.readFileSync(realMat('wv2_vitale.mat'))]);
  }
  for (const [label, bytes] of files) {
    const cuts = cutPoints(bytes.length, 600, 150);
    let ok = 0;
    const codes = new Set<string>();
    for (const cut of cuts) {
      const e = await formatError(() => readMat(bytes.subarray(0, cut)));
      if (e) {
        codes.add(e.code);
        ok++;
        continue;
      }
      // A cut exactly between two variables is a valid shorter file: it must then hold fewer variables.
      const n = openMat(bytes.subarray(0, cut)).variables.length;
      if (n < openMat(bytes).variables.length) ok++;
    }
    t.equal(ok, cuts.length, `${label}: ${cuts.length} cut points handled (codes: ${[...codes].join(', ')})`);
    t.ok(codes.has('truncated'), `${label}: truncation is reported as such`);
  }
});

t.test('corrupted bytes: random damage gives DataFormatError or a result, never another error', async (t) => {
  const r = rng(99);
  const base = writeMat(sampleVars(), { compress: true });
  const plain = writeMat(sampleVars());
  let errors = 0;
  for (let i = 0; i < 400; i++) {
    const src = i % 2 ? base : plain;
    const b = Uint8Array.from(src);
    for (let k = 0; k < 4; k++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
    const e = await formatError(() => {
      const f = openMat(b);
      for (const v of f.variables)
        if (v.numeric) f.read(v.name);
        else if (v.class === 'char') f.readString(v.name);
    });
    if (e) errors++;
  }
  t.pass(`400 damaged files handled (${errors} rejected with DataFormatError)`);
});

t.test('lazy open reads only headers of a large file', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const p = path.join(tmp.dir, 'big.mat');
  const big: HostArray = { dtype: 'float64', shape: [2000, 2000], data: new Float64Array(4e6).fill(1.5) };
  writeMatFile(p, { a: big, b: { dtype: 'uint8', shape: [1], data: new Uint8Array([7]) } }, { compress: true });
  const spy = fs.readSync;
  let bytesRead = 0;
  (fs as { readSync: typeof fs.readSync }).readSync = ((...args: Parameters<typeof fs.readSync>) => {
    const n = (spy as (...a: unknown[]) => number)(...args);
    bytesRead += n;
    return n;
  }) as typeof fs.readSync;
  let f;
  try {
    f = openMat(p);
  } finally {
    (fs as { readSync: typeof fs.readSync }).readSync = spy;
  }
  t.same(
    f.variables.map((v) => [v.name, v.shape]),
    [
      ['a', [2000, 2000]],
      ['b', [1, 1]],
    ],
  );
  t.ok(bytesRead < 8192, `listing read ${bytesRead} bytes of a ${fs.statSync(p).size}-byte file`);
  t.same(values(f.read('b')), [7]);
  f.close();
});
