// MHIF data: the CAVE band-PNG reader on the 20 real bands (checked against a zlib-only PNG decoder
// in Python), the .mat cube reader (CAVE-style and Harvard-style files written here), the Nikon
// D700 response restricted to 400–590 nm, the blur/decimation/bicubic simulation against
// hand-computed values, and the patch cutter's held-out region.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readBandStack, readHyperspectralCube, readMatCube, writeMatFile } from '../../lib/data/index.js';
import { cutMhifPatches, gaussianKernel, mhifToHost, NIKON_D700, simulateMhif, spectralResponse, tensor } from '../../lib/index.js';
import { pythonWith, REPO } from '../data/fixtures/helpers.js';
import { sharedData } from '../helpers/locations.js';

const CAVE = sharedData('mhif', 'cave_balloons');
const noCave = existsSync(join(CAVE, 'balloons_ms_20.png')) ? false : `CAVE bands not found in ${CAVE}`;
const PY = pythonWith('numpy');
const WL20 = Array.from({ length: 20 }, (_, i) => 400 + 10 * i);

t.test('the CAVE band stack: 20 real bands, in band order, 16-bit / 65535', { skip: noCave }, async (t) => {
  const r = readBandStack(CAVE);
  t.equal(r.format, 'png-stack');
  t.same(r.cube.shape, [20, 512, 640]);
  t.equal(r.cube.dtype, 'float32');
  t.equal(r.scale, 65535);
  t.same(
    r.sources.map((f) => f.slice(-6)),
    Array.from({ length: 20 }, (_, i) => `${String(i + 1).padStart(2, '0')}.png`),
  );
  const d = r.cube.data as Float32Array;
  let mn = Infinity,
    mx = -Infinity;
  for (const v of d) {
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  t.ok(mn >= 0 && mx <= 1 && mx > 0.5, `values in [0, 1] (min ${mn}, max ${mx})`);
  if (!PY) return t.skip('no python with numpy for the PNG oracle');
  const pts: Array<[number, number]> = [
    [0, 0],
    [0, 1],
    [100, 200],
    [256, 320],
    [511, 639],
    [300, 17],
  ];
  for (const band of [1, 10, 20]) {
    const out = JSON.parse(
      execFileSync(
        PY,
        [resolve(REPO, 'test/infn/fixtures/png16.py'), join(CAVE, `balloons_ms_${String(band).padStart(2, '0')}.png`), ...pts.map((p) => p.join(','))],
        { encoding: 'utf8' },
      ),
    );
    t.same(out.shape, [512, 640]);
    t.same(
      pts.map(([y, x]) => Math.round(d[((band - 1) * 512 + y) * 640 + x]! * 65535)),
      out.values,
      `band ${band}: pixels equal the zlib decoder's`,
    );
  }
  const sub = readBandStack(CAVE, { bands: [4, 0], normalize: 'max' });
  t.same(sub.cube.shape, [2, 512, 640]);
  t.ok(Math.abs((sub.cube.data as Float32Array)[0]! * sub.scale - d[4 * 512 * 640]! * 65535) < 1e-6 * 65535, 'bands option picks band 5 first');
});

t.test('.mat cubes: H×W×C → C×H×W; integer data / type max, Harvard ref / cube max', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'specfuse-mhif-'));
  try {
    const h = 3,
      w = 4,
      c = 5;
    const u16 = new Uint16Array(h * w * c),
      f64 = new Float64Array(h * w * c);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let b = 0; b < c; b++) {
          const i = (y * w + x) * c + b; // row-major [H, W, C]
          u16[i] = 1000 * b + 10 * y + x;
          f64[i] = 0.5 * (b + 1) + y + x;
        }
    const cave = join(dir, 'cave.mat'),
      harvard = join(dir, 'harvard.mat');
    writeMatFile(cave, { data: { dtype: 'uint16', shape: [h, w, c], data: u16 } });
    writeMatFile(harvard, {
      ref: { dtype: 'float64', shape: [h, w, c], data: f64 },
      lbl: { dtype: 'uint8', shape: [h, w], data: new Uint8Array(h * w).fill(1) },
    });
    const a = readMatCube(cave);
    t.same(a.cube.shape, [c, h, w]);
    t.equal(a.scale, 65535);
    t.equal((a.cube.data as Float32Array)[(3 * h + 2) * w + 1], Math.fround((3000 + 21) / 65535), 'band 3, y 2, x 1');
    const b = readHyperspectralCube(harvard);
    t.same(b.sources, ['ref']);
    t.equal(b.scale, 0.5 * 5 + 2 + 3, 'Harvard: divided by the cube max');
    t.equal((b.cube.data as Float32Array)[(0 * h + 1) * w + 2], Math.fround(3.5 / 7.5));
    t.throws(() => readMatCube(harvard, { key: 'nope' }), /no variable 'nope'/);
    t.throws(() => readMatCube(harvard, { key: 'lbl' }), /expected a numeric H×W×C array/);
    t.throws(() => readHyperspectralCube(join(dir, 'x.tif')), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t.test('the Nikon D700 response restricted to the bands present, rows renormalised', async (t) => {
  const full = spectralResponse();
  t.equal(full.length, 3);
  for (const row of full) t.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  const r20 = spectralResponse({ wavelengths: WL20 });
  t.same(
    r20.map((r) => r.length),
    [20, 20, 20],
  );
  // hand: the R row over 400–590 nm is 2,1,1,1,1,1,0×10,2,6,11,17 (sum 43)
  t.equal(
    NIKON_D700[0]!.slice(0, 20).reduce((a, b) => a + b, 0),
    43,
  );
  t.equal(r20[0]![19], 17 / 43);
  t.equal(r20[2]![5], 29 / (7 + 10 + 15 + 19 + 25 + 29 + 30 + 29 + 27 + 22 + 16 + 9 + 2));
  t.throws(() => spectralResponse({ wavelengths: [405] }), /405 nm is not on the SRF grid/);
});

t.test('simulation: R·X, 3×3 σ0.5 blur + decimation, bicubic; shapes and hand-checked values', async (t) => {
  const S = 4,
    H = 16,
    W = 12,
    r = 4;
  const vals = new Float32Array(S * H * W);
  for (let b = 0; b < S; b++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) vals[(b * H + y) * W + x] = (((b + 1) * (y * 7 + x * 3)) % 17) / 17;
  const cube = tensor(vals, [S, H, W]);
  const wl = [400, 450, 500, 550];
  const sim = await simulateMhif(cube, { ratio: r, wavelengths: wl });
  const host = await mhifToHost(sim);
  t.same(host.gt.shape, [1, S, H, W]);
  t.same(host.msi.shape, [1, 3, H, W]);
  t.same(host.lrhsi.shape, [1, S, H / r, W / r]);
  t.same(host.hsi_up.shape, [1, S, H, W]);
  const R = spectralResponse({ wavelengths: wl });
  const px = (a: Float32Array, C: number, hh: number, ww: number, b: number, y: number, x: number) => a[(b * hh + y) * ww + x]!;
  // MSI: channel 1 (G) at (5, 7) = Σ_b R[1][b]·X[b](5, 7)
  const g = R[1]!.reduce((s, v, b) => s + v * px(vals, S, H, W, b, 5, 7), 0);
  t.ok(Math.abs(px(host.msi.data as Float32Array, 3, H, W, 1, 5, 7) - g) < 1e-6, 'msi = R·X');
  // LR-HSI: the toolbox decimation keeps HR (2 + 4i, 2 + 4j); the blur there is the 3×3 Gaussian σ 0.5
  const k = gaussianKernel(3, 0.5);
  const kk = k.dataSync() as Float64Array;
  const e1 = Math.exp(-1 / 0.5),
    e2 = Math.exp(-2 / 0.5),
    z = 1 + 4 * e1 + 4 * e2;
  t.ok(Math.abs(kk[4]! - 1 / z) < 1e-15 && Math.abs(kk[1]! - e1 / z) < 1e-15 && Math.abs(kk[0]! - e2 / z) < 1e-15, 'fspecial gaussian 3×3 σ 0.5');
  for (const [b, i, j] of [
    [2, 1, 2],
    [0, 3, 1],
    [3, 0, 0],
  ] as const) {
    const y = 2 + r * i,
      x = 2 + r * j;
    let want = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) want += kk[(dy + 1) * 3 + dx + 1]! * px(vals, S, H, W, b, y + dy, x + dx);
    t.ok(Math.abs(px(host.lrhsi.data as Float32Array, S, H / r, W / r, b, i, j) - want) < 1e-6, `lrhsi[${b}](${i},${j}) = blurred X(${y},${x})`);
  }
  // bicubic of a constant image is that constant
  const flat = tensor(new Float32Array(S * H * W).fill(0.3), [S, H, W]);
  const fs = await simulateMhif(flat, { ratio: r, wavelengths: wl });
  const up = fs.hsi_up.dataSync() as Float32Array;
  t.ok(
    up.every((v) => Math.abs(v - 0.3) < 1e-6),
    'bicubic of a constant is the constant',
  );
  const m = fs.msi.dataSync() as Float32Array;
  t.ok(
    m.every((v) => Math.abs(v - 0.3) < 1e-6),
    'rows of R sum to 1: a grey cube gives a grey MSI',
  );
  await t.rejects(simulateMhif(tensor(new Float32Array(S * 10 * W), [S, 10, W]), { ratio: 4, wavelengths: wl }), /divisible by the ratio 4/);
  await t.rejects(simulateMhif(cube, { ratio: 4 }), /31 columns, the cube has 4 bands/);
  for (const s of [sim, fs]) for (const v of Object.values(s)) v.dispose();
  for (const v of [cube, flat, k]) v.dispose();
});

t.test('patches: aligned LR windows, a held-out region no training patch touches', async (t) => {
  const S = 2,
    H = 64,
    W = 48,
    r = 4;
  const vals = new Float32Array(S * H * W).map((_, i) => (i % 97) / 97);
  const sim = await simulateMhif(tensor(vals, [S, H, W]), { ratio: r, wavelengths: [400, 410] });
  const host = await mhifToHost(sim);
  const region = { y: 0, x: 32, height: 64, width: 16 };
  const p = cutMhifPatches(host, { ratio: r, patch: 16, stride: 8, testRegion: region, testCrop: 16 });
  t.equal(p.testWindows.length, 4);
  t.same(p.test!.lrhsi.shape, [4, S, 4, 4]);
  for (const w of p.trainWindows) t.ok(w.x + w.width + r <= region.x, `train window at x ${w.x} keeps a ${r}-pixel margin`);
  t.equal(p.train.gt.shape[0], p.trainWindows.length);
  // the second training patch's LR block equals the LR image at its window / r
  const win = p.trainWindows[1]!;
  const lr = host.lrhsi.data as Float32Array,
    cut = p.train.lrhsi.data as Float32Array;
  const per = S * 4 * 4;
  t.equal(cut[per + (1 * 4 + 2) * 4 + 3], lr[(1 * (H / r) + win.y / r + 2) * (W / r) + win.x / r + 3], 'lrhsi patch = LR window');
  t.throws(() => cutMhifPatches(host, { ratio: r, patch: 18 }), /patch: must be a positive multiple of the ratio 4/);
  t.throws(() => cutMhifPatches(host, { ratio: r, patch: 16, testRegion: { y: 0, x: 0, height: 64, width: 48 }, testCrop: 16 }), /no training patch fits/);
  for (const v of Object.values(sim)) v.dispose();
});
