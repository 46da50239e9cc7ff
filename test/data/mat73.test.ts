// MAT v7.3 (HDF5-based) reading: files laid out as MATLAB writes them (a 512-byte user block with
// the MAT header, column-major data under reversed HDF5 dims, MATLAB_class attributes), made with
// h5py; the same arrays saved as v5 by scipy. The v7.3 reader must return exactly what numpy holds
// and what the v5 reader returns for the same variable (shape, dtype, bytes), and the CLI must
// accept such a file wherever it accepts a .mat.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loadPansharpeningInput, openMatFile, readMat, readMatFile } from '../../lib/data/index.js';
import { PY_DUMP, REPO, bytesOf, dumpedValues, formatError, parseDumps, pythonWith, runPython, tempDir, values } from './fixtures/helpers.js';

const py = pythonWith('h5py', 'scipy', 'numpy');
const skip = py ? false : 'python with h5py, scipy and numpy not available';

/** Python: save_v73(path, dict) writes a MATLAB-style v7.3 file; arrays given in MATLAB's (row-major numpy) view. */
const PY_V73 = `
import h5py, numpy as np
CLASS = {np.float64: 'double', np.float32: 'single', np.int8: 'int8', np.uint8: 'uint8', np.int16: 'int16',
         np.uint16: 'uint16', np.int32: 'int32', np.uint32: 'uint32', np.int64: 'int64', np.uint64: 'uint64'}
def header(p):
    text = b'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 .'
    h = text.ljust(116, b' ') + b' ' * 8 + (0x0200).to_bytes(2, 'little') + b'IM'
    with open(p, 'r+b') as f: f.write(h)
def cls_attr(obj, name): obj.attrs.create('MATLAB_class', np.bytes_(name), dtype=h5py.string_dtype('ascii', len(name)))
def save_v73(p, variables, extra=None):
    with h5py.File(p, 'w', userblock_size=512) as f:
        for name, a in variables.items():
            if isinstance(a, str):
                d = f.create_dataset(name, data=np.array([[ord(c) for c in a]], dtype=np.uint16).T)
                cls_attr(d, 'char'); d.attrs['MATLAB_int_decode'] = np.int32(2)
            elif a.dtype == np.bool_:
                d = f.create_dataset(name, data=np.ascontiguousarray(a.astype(np.uint8).T))
                cls_attr(d, 'logical'); d.attrs['MATLAB_int_decode'] = np.int32(1)
            elif a.size == 0:
                d = f.create_dataset(name, data=np.array(a.shape, dtype=np.uint64))
                cls_attr(d, CLASS[a.dtype.type]); d.attrs['MATLAB_empty'] = np.uint8(1)
            else:
                # column-major data = row-major data of the transpose: HDF5 shows the dims reversed
                d = f.create_dataset(name, data=np.ascontiguousarray(a.T), compression='gzip', chunks=True)
                cls_attr(d, CLASS[a.dtype.type])
        if extra: extra(f)
    header(p)
`;

const ARRAYS = `
r = np.random.default_rng(7)
A = {
  'd3': r.standard_normal((5, 4, 3)),
  's2': r.standard_normal((3, 7)).astype(np.float32),
  'u16': r.integers(0, 2048, (6, 5, 4)).astype(np.uint16),
  'i8': r.integers(-128, 128, (2, 9)).astype(np.int8),
  'u8': r.integers(0, 256, (4, 3)).astype(np.uint8),
  'i16': r.integers(-3000, 3000, (3, 3)).astype(np.int16),
  'i32': r.integers(-2**31, 2**31, (2, 5)).astype(np.int32),
  'u32': r.integers(0, 2**32, (2, 3)).astype(np.uint32),
  'i64': r.integers(-2**40, 2**40, (3, 2)).astype(np.int64),
  'u64': r.integers(0, 2**40, (2, 2)).astype(np.uint64),
  'lg': r.random((3, 4)) > 0.5,
  'scalar': np.array([[2.5]]),
  'row': np.arange(5.0).reshape(1, 5),
  'd4': r.standard_normal((2, 3, 4, 5)),
  'empty': np.zeros((0, 3)),
}
`;

t.test('v7.3 variables read as numpy holds them and as the v5 reader returns them', { skip }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const v73 = path.join(dir, 'all73.mat'),
    v5 = path.join(dir, 'all5.mat');
  const out = runPython(
    py!,
    `${PY_DUMP}${PY_V73}${ARRAYS}
import scipy.io, sys
save_v73(sys.argv[1], dict(A, sensor='WV2'))
scipy.io.savemat(sys.argv[2], dict(A, sensor='WV2'))
for k, a in A.items(): dump(k, a, sys.argv[3])
`,
    [v73, v5, dir],
  );
  t.equal(fs.readFileSync(v73).subarray(0, 19).toString('latin1'), 'MATLAB 7.3 MAT-file', 'the file carries the v7.3 header in its user block');
  const dumps = parseDumps(out);
  const got = await readMatFile(v73);
  const ref = readMat(v5);
  for (const [name, d] of dumps) {
    const a = got.get(name);
    if (!a) {
      t.fail(`${name} not read`);
      continue;
    }
    const r = ref.get(name)!;
    t.same(a.shape, d.shape, `${name}: shape = MATLAB dims [${d.shape}]`);
    t.same({ dtype: a.dtype, shape: a.shape }, { dtype: r.dtype, shape: r.shape }, `${name}: dtype and shape as the v5 reader`);
    t.same(Buffer.from(bytesOf(a)), Buffer.from(bytesOf(r)), `${name}: bytes identical to the v5 reader's`);
    t.same(values(a), dumpedValues(d), `${name}: values as numpy`);
  }
  t.same([...got.keys()].sort(), [...dumps.keys()].sort(), 'every numeric variable, char left out');
  const f = await openMatFile(v73);
  t.equal(f.readString('sensor'), 'WV2');
  t.same(f.info('u16'), { ...f.info('u16'), class: 'uint16', shape: [6, 5, 4], numeric: true, complex: false, compressed: true });
  t.equal(f.info('lg').class, 'logical');
  t.equal(f.read('lg').dtype, 'bool');
  t.same(f.info('empty').shape, [0, 3], 'MATLAB_empty: the dims come from the dataset values');
  t.throws(() => f.read('sensor'), { code: 'unsupported' });
  t.throws(() => f.read('nope'), { code: 'missing-key', message: /variables: / });
  f.close();
  t.throws(() => f.read('d3'), { code: 'bad-argument' }, 'closed');
  // The synchronous v5 reader points v7.3 files to the reader that handles them.
  t.throws(() => readMat(v73), { code: 'unsupported', message: /openMatFile/ });
});

t.test('cells, structs, sparse and complex variables are listed and refused clearly', { skip }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const p = path.join(dir, 'odd73.mat');
  runPython(
    py!,
    `${PY_V73}
import sys
def extra(f):
    refs = f.create_group('#refs#')
    e = refs.create_dataset('a', data=np.array([[1.0]])); cls_attr(e, 'double')
    c = f.create_dataset('c', data=np.array([[e.ref]], dtype=h5py.ref_dtype)); cls_attr(c, 'cell')
    s = f.create_group('s'); cls_attr(s, 'struct'); x = s.create_dataset('x', data=np.array([[1.0]])); cls_attr(x, 'double')
    sp = f.create_group('sp'); cls_attr(sp, 'double'); sp.attrs['MATLAB_sparse'] = np.uint64(4)
    sp.create_dataset('data', data=np.array([1.0, 2.0])); sp.create_dataset('ir', data=np.array([0, 3], dtype=np.uint64))
    sp.create_dataset('jc', data=np.array([0, 1, 2], dtype=np.uint64))
    z = f.create_dataset('z', data=np.array([[1 + 2j, 3 - 1j]]).T.astype(np.complex128)); cls_attr(z, 'double')
save_v73(sys.argv[1], {'ok': np.ones((2, 2))}, extra)
`,
    [p],
  );
  const f = await openMatFile(p);
  t.same(f.names().sort(), ['c', 'ok', 's', 'sp', 'z'], "'#refs#' is not a variable");
  const info = Object.fromEntries(f.variables.map((v) => [v.name, v]));
  t.same([info.c!.class, info.s!.class, info.sp!.class, info.z!.class], ['cell', 'struct', 'sparse', 'double']);
  t.same(info.sp!.shape, [4, 2], 'sparse dims from MATLAB_sparse (rows) and jc (columns + 1)');
  t.ok(info.z!.complex, 'complex: a compound real/imag dataset');
  for (const [name, what] of [
    ['c', /cell/],
    ['s', /struct/],
    ['sp', /sparse/],
    ['z', /complex double/],
  ] as const) {
    const e = await formatError(() => f.read(name));
    t.equal(e?.code, 'unsupported', `${name} refused`);
    t.match(e?.message, what);
  }
  t.same(values(f.read('ok')), [1, 1, 1, 1]);
  f.close();
  await t.rejects(readMatFile(p, { unsupported: 'throw' }), { code: 'unsupported' });
});

t.test('a v7.3 scene goes through the loader and the CLI like its v5 twin', { skip }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const v73 = path.join(dir, 'scene73.mat'),
    v5 = path.join(dir, 'scene5.mat'),
    fused = path.join(dir, 'fused73.mat');
  runPython(
    py!,
    `${PY_V73}
import scipy.io, sys
r = np.random.default_rng(3)
S = {'I_MS': r.integers(1, 2048, (16, 16, 4)).astype(np.uint16), 'I_PAN': r.integers(1, 2048, (64, 64)).astype(np.uint16),
     'I_GT': r.integers(1, 2048, (64, 64, 4)).astype(np.uint16), 'sensor': 'IKONOS'}
save_v73(sys.argv[1], S); scipy.io.savemat(sys.argv[2], S)
save_v73(sys.argv[3], {'I_F': r.integers(1, 2048, (64, 64, 4)).astype(np.float64)})
`,
    [v73, v5, fused],
  );
  const a = await loadPansharpeningInput(v73),
    b = await loadPansharpeningInput(v5);
  t.same(
    { layout: a.layout, sensor: a.sensor, ratio: a.ratio, ms: a.ms!.shape, pan: a.pan.shape },
    { layout: 'CHW', sensor: 'ikonos', ratio: 4, ms: [4, 16, 16], pan: [1, 64, 64] },
  );
  t.same(Buffer.from(bytesOf(a.ms!)), Buffer.from(bytesOf(b.ms!)), 'ms identical to the v5 load');
  t.same(Buffer.from(bytesOf(a.pan)), Buffer.from(bytesOf(b.pan)), 'pan identical to the v5 load');
  t.same(Buffer.from(bytesOf(a.gt!)), Buffer.from(bytesOf(b.gt!)), 'gt identical to the v5 load');
  // specfuse metrics: a v7.3 fused image against the v7.3 scene's I_GT.
  const cli = path.join(REPO, 'bin/specfuse.js');
  const run = (...args: string[]) => execFileSync(process.execPath, [cli, 'metrics', ...args, '--json'], { encoding: 'utf8' });
  const m73 = JSON.parse(run('--fused', fused, '--gt', v73));
  t.ok(Number.isFinite(m73.metrics.SAM) && m73.metrics.SAM > 0, `metrics computed from v7.3 files (SAM ${m73.metrics.SAM})`);
  const m5 = JSON.parse(run('--fused', fused, '--gt', v5));
  t.same({ metrics: m73.metrics, perImage: m73.perImage }, { metrics: m5.metrics, perImage: m5.perImage }, 'the same figures as with the v5 reference');
});
