import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { HostArray } from '../../lib/host.js';
import { loadPansharpeningInput, openMat, readMat, sniffFormat, writeGeoTiff, writeMatFile, writePanCollection } from '../../lib/data/index.js';
import { formatError, hasRealData, realMat, tempDir, values } from './fixtures/helpers.js';

const skipReal = hasRealData ? false : 'real data folder (../shared/data) not present';
const shapes = (x: object) => {
  const r = x as Record<string, HostArray | undefined>;
  return Object.fromEntries(['gt', 'ms', 'lms', 'pan'].filter((k) => r[k]).map((k) => [k, r[k]!.shape]));
};

t.test('the four real .mat files load in the documented layout', { skip: skipReal }, async (t) => {
  const zpnn = await loadPansharpeningInput(realMat('wv3_zpnn_example.mat'));
  t.same({ layout: zpnn.layout, ratio: zpnn.ratio, sensor: zpnn.sensor, format: zpnn.format }, { layout: 'CHW', ratio: 4, sensor: 'wv3', format: 'mat' });
  t.same(shapes(zpnn), { ms: [8, 32, 32], pan: [1, 128, 128] }, 'I_MS_LR → ms, I_PAN → pan');

  const wv2 = await loadPansharpeningInput(realMat('wv2_vitale.mat'));
  t.same(shapes(wv2), { ms: [8, 320, 320], pan: [1, 1280, 1280] }, 'I_MS (PAN/4 size) → ms');
  t.equal(wv2.sensor, 'wv2', "from the file's sensor variable");
  t.equal(wv2.ms!.dtype, 'uint16');
  // HWC → CHW: band b of pixel (r, c) is the MATLAB I_MS(r+1, c+1, b+1)
  const raw = readMat(realMat('wv2_vitale.mat')).get('I_MS')!;
  for (const [r, c, b] of [
    [0, 0, 0],
    [100, 200, 4],
    [319, 1, 7],
  ] as const) {
    t.equal(wv2.ms!.data[b * 320 * 320 + r * 320 + c], raw.data[r * 320 * 8 + c * 8 + b], `ms[${b},${r},${c}]`);
  }

  const ik = await loadPansharpeningInput(realMat('ikonos_vitale.mat'), { dtype: 'float32' });
  t.same(shapes(ik), { ms: [4, 320, 320], pan: [1, 1280, 1280] });
  t.equal(ik.ms!.dtype, 'float32');
  t.equal(ik.sensor, 'ikonos');

  const patch = await loadPansharpeningInput(realMat('wv3_pancollection_patch.mat'));
  t.equal(patch.layout, 'NCHW');
  t.same(shapes(patch), { gt: [100, 8, 64, 64], ms: [100, 8, 16, 16], lms: [100, 8, 64, 64], pan: [100, 1, 64, 64] }, 'NHWC → NCHW');
  t.equal(patch.ratio, 4);
  const gtRaw = readMat(realMat('wv3_pancollection_patch.mat')).get('gt')!;
  for (const [n, h, w, c] of [
    [0, 0, 0, 0],
    [57, 13, 40, 6],
    [99, 63, 63, 7],
  ] as const) {
    t.equal(patch.gt!.data[((n * 8 + c) * 64 + h) * 64 + w], gtRaw.data[((n * 64 + h) * 64 + w) * 8 + c], `gt[${n},${c},${h},${w}]`);
  }
});

t.test('.h5 and GeoTIFF inputs', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const mk = (shape: number[], f = (i: number) => i % 2047): HostArray => ({
    dtype: 'float64',
    shape,
    data: Float64Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => f(i)),
  });
  const h5 = path.join(tmp.dir, 'test_qb_multiExm1.h5');
  await writePanCollection(h5, { gt: mk([5, 4, 32, 32]), lms: mk([5, 4, 32, 32]), ms: mk([5, 4, 8, 8]), pan: mk([5, 1, 32, 32]) });
  t.equal(sniffFormat(h5), 'h5');
  const x = await loadPansharpeningInput(h5, { range: [1, 3], dtype: 'float32' });
  t.same({ layout: x.layout, sensor: x.sensor, ratio: x.ratio, format: x.format }, { layout: 'NCHW', sensor: 'qb', ratio: 4, format: 'h5' });
  t.same(shapes(x), { gt: [2, 4, 32, 32], ms: [2, 4, 8, 8], lms: [2, 4, 32, 32], pan: [2, 1, 32, 32] });
  t.equal(x.gt!.dtype, 'float32');
  t.equal(x.gt!.data[0], 4096 % 2047, 'range starts at sample 1');

  const ms = path.join(tmp.dir, 'ms.tif'),
    pan = path.join(tmp.dir, 'pan_gf2.tif');
  const georef = { tags: { 33550: [2, 2, 0], 33922: [0, 0, 0, 100, 200, 0] }, geoKeys: null, noData: null };
  writeGeoTiff(ms, { dtype: 'uint16', shape: [4, 16, 16], data: new Uint16Array(1024).map((_, i) => i) });
  writeGeoTiff(pan, { dtype: 'uint16', shape: [1, 64, 64], data: new Uint16Array(4096) }, { georef });
  t.equal(sniffFormat(ms), 'tif');
  const g = await loadPansharpeningInput({ ms, pan });
  t.same({ layout: g.layout, ratio: g.ratio, sensor: g.sensor, format: g.format }, { layout: 'CHW', ratio: 4, sensor: 'gf2', format: 'tif' });
  t.same(shapes(g), { ms: [4, 16, 16], pan: [1, 64, 64] });
  t.same(g.georef?.tags[33922], [0, 0, 0, 100, 200, 0], "the PAN's georeference comes along");
  await t.rejects(loadPansharpeningInput(ms), { code: 'bad-argument', message: /pan, ms/ });
  await t.rejects(loadPansharpeningInput({ pan }), { code: 'missing-key' });
  await t.rejects(loadPansharpeningInput({ ms: pan, pan: ms }), { code: 'shape', message: /one band/ });
  await t.rejects(loadPansharpeningInput({ ms, pan }, { range: [0, 1] }), { code: 'bad-argument' });
});

t.test('.mat inputs: key variants, wrong shapes, missing keys', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const u16 = (shape: number[]): HostArray => ({ dtype: 'uint16', shape, data: new Uint16Array(shape.reduce((a, b) => a * b)).map((_, i) => i) });
  const file = (name: string, vars: Record<string, HostArray | string>) => {
    const p = path.join(tmp.dir, name);
    writeMatFile(p, vars, { compress: true });
    return p;
  };
  // Vivone toolbox layout: I_MS is the upsampled MS (PAN size), I_MS_LR the low-resolution one.
  const toolbox = await loadPansharpeningInput(
    file('NY1_WV3_RR.mat', { I_GT: u16([32, 32, 8]), I_MS: u16([32, 32, 8]), I_MS_LR: u16([8, 8, 8]), I_PAN: u16([32, 32]), sensor: 'WV3' }),
  );
  t.same(shapes(toolbox), { gt: [8, 32, 32], ms: [8, 8, 8], lms: [8, 32, 32], pan: [1, 32, 32] }, 'I_MS of PAN size → lms');
  t.equal(toolbox.sensor, 'wv3');
  const single = await loadPansharpeningInput(file('one.mat', { ms: u16([8, 8]), pan: u16([16, 16, 1]) }));
  t.same(shapes(single), { ms: [1, 8, 8], pan: [1, 16, 16] }, 'single-band MS and H×W×1 PAN');
  t.equal(single.ratio, 2);

  const bad: [string, Record<string, HostArray | string>, string, RegExp][] = [
    ['nopan.mat', { I_MS: u16([8, 8, 4]) }, 'missing-key', /no PAN/],
    ['noms.mat', { I_PAN: u16([32, 32]) }, 'missing-key', /no MS/],
    ['bands.mat', { I_MS_LR: u16([8, 8, 4]), I_GT: u16([32, 32, 8]), I_PAN: u16([32, 32]) }, 'shape', /8 bands/],
    ['ratio.mat', { I_MS_LR: u16([10, 10, 4]), I_PAN: u16([32, 32]) }, 'shape', /integer multiple/],
    ['lms.mat', { lms: u16([30, 30, 4]), ms: u16([8, 8, 4]), pan: u16([32, 32]) }, 'shape', /30×30/],
    ['count.mat', { gt: u16([3, 32, 32, 4]), ms: u16([2, 8, 8, 4]), pan: u16([3, 32, 32]) }, 'shape', /samples/],
    ['pan4.mat', { ms: u16([8, 8, 4]), pan: u16([32, 32, 2]) }, 'shape', /'pan'/],
    ['rank.mat', { ms: u16([2, 8, 8, 4]), lms: u16([32, 32, 4]), pan: u16([2, 32, 32]) }, 'shape', /'lms'/],
  ];
  for (const [name, vars, code, msg] of bad) {
    const e = await formatError(() => loadPansharpeningInput(file(name, vars)));
    t.equal(e?.code, code, `${name}: ${e?.message}`);
    t.match(e?.message, msg);
  }
  const junk = path.join(tmp.dir, 'junk.bin');
  fs.writeFileSync(junk, 'neither mat nor h5 nor tiff');
  t.equal((await formatError(() => loadPansharpeningInput(junk)))?.code, 'bad-magic');
  fs.writeFileSync(junk, '');
  t.equal((await formatError(() => loadPansharpeningInput(junk)))?.code, 'truncated');
  t.ok(openMat(file('ok.mat', { x: u16([1]) })).has('x'));
  t.same(values(readMat(path.join(tmp.dir, 'ok.mat')).get('x')!), [0]);
});
