import fs from 'node:fs';
import path from 'node:path';
import pngjs from 'pngjs';
import t from 'tap';
import type { HostArray } from '../../lib/host.js';
import {
  defaultRgbBands,
  encodePng,
  loadPansharpeningInput,
  panel,
  percentiles,
  renderGray,
  renderRgb,
  resizeNearest,
  sensorRgbBands,
  writePreviewPng,
} from '../../lib/data/index.js';
import { hasRealData, realMat, tempDir } from './fixtures/helpers.js';

const decode = (bytes: Uint8Array) => pngjs.PNG.sync.read(Buffer.from(bytes));

/** [C,1,n] ramp image: band c holds values c*1000 + 0..n-1. */
function ramp(C: number, n: number): HostArray {
  const data = new Float32Array(C * n);
  for (let c = 0; c < C; c++) for (let i = 0; i < n; i++) data[c * n + i] = c * 1000 + i;
  return { dtype: 'float32', shape: [C, 1, n], data };
}

t.test('band choice per sensor and band count', async (t) => {
  t.same(sensorRgbBands('WV3'), [5, 3, 2]);
  t.same(sensorRgbBands('WV2'), [5, 3, 2]);
  t.same(sensorRgbBands('QB'), [3, 2, 1]);
  t.same(sensorRgbBands('IKONOS'), [3, 2, 1]);
  t.same(sensorRgbBands('GF2'), [3, 2, 1]);
  t.same(defaultRgbBands(8), [5, 3, 2]);
  t.same(defaultRgbBands(4), [3, 2, 1]);
  t.same(defaultRgbBands(3), [1, 2, 3]);
  t.equal(defaultRgbBands(6), undefined);
  // R takes band 5 of an 8-band ramp: its values are 4000.., so after the stretch R ramps 0→255 like the others
  const img = renderRgb(ramp(8, 101), { low: 0, high: 100 });
  t.same([img.data[0], img.data[1], img.data[2], img.data[3]], [0, 0, 0, 255]);
  t.same([img.data[400], img.data[401], img.data[402]], [255, 255, 255]);
  // with one stretch for the three bands, band 5 (4000..4100) is brighter than band 2 (1000..1100)
  const joint = renderRgb(ramp(8, 101), { perBand: false, low: 0, high: 100 });
  t.equal(joint.data[0], Math.round(((4000 - 1000) / 3100) * 255));
  t.equal(joint.data[2], 0);
  t.throws(() => renderRgb(ramp(6, 10)), { code: 'shape', message: /pass bands/ });
  t.throws(() => renderRgb(ramp(4, 10), { bands: [5, 3, 2] }), { code: 'shape', message: /4 bands/ });
  t.throws(() => renderRgb(ramp(4, 10), { bands: [0, 1, 2] }), { code: 'shape' });
  t.throws(() => renderRgb(ramp(4, 10), { low: 50, high: 40 }), { code: 'bad-argument' });
  t.throws(() => renderGray(ramp(1, 10), { band: 2 }), { code: 'shape' });
  t.throws(() => renderRgb({ dtype: 'float32', shape: [10], data: new Float32Array(10) }), { code: 'shape' });
});

t.test('percentile stretch matches numpy linear percentiles; NaN and nodata are transparent', async (t) => {
  const v = Float64Array.from({ length: 101 }, (_, i) => i);
  t.same(percentiles([v], [2, 98, 50, 0, 100]), [2, 98, 50, 0, 100]);
  t.same(percentiles([Float64Array.from([1, 2, 3, 4])], [25]), [1.75], 'interpolates like numpy');
  t.same(percentiles([Float64Array.from([NaN, NaN])], [50]), [NaN]);
  const data = new Float32Array([NaN, 0, 10, 20, -1, 30]);
  const g = renderGray({ dtype: 'float32', shape: [2, 3], data }, { low: 0, high: 100, noData: -1 });
  const alpha = [0, 1, 2, 3, 4, 5].map((i) => g.data[i * 4 + 3]);
  t.same(alpha, [0, 255, 255, 255, 0, 255]);
  t.same(
    [1, 2, 3, 5].map((i) => g.data[i * 4]),
    [0, 85, 170, 255],
    'stretch over valid values only',
  );
  const flat = renderGray({ dtype: 'uint16', shape: [2, 2], data: new Uint16Array(4).fill(7) });
  t.same(Array.from(flat.data.filter((_, i) => i % 4 === 0)), [0, 0, 0, 0], 'constant image does not divide by zero');
});

t.test('PNG encoding, panel, batch sample, files', async (t) => {
  const img = renderRgb(ramp(4, 20));
  const png = decode(encodePng(img));
  t.same([png.width, png.height], [20, 1]);
  t.same(Array.from(png.data), Array.from(img.data), 'PNG decodes to the same RGBA');
  const big = resizeNearest(img, 40, 3);
  t.same([big.width, big.height], [40, 3]);
  t.same(Array.from(big.data.subarray(0, 8)), Array.from(img.data.subarray(0, 4)).concat(Array.from(img.data.subarray(0, 4))));
  const p = panel([img, renderGray(ramp(1, 5))], { gap: 2, background: [1, 2, 3, 255] });
  t.same([p.width, p.height], [2 + 20 + 2 + 5 + 2, 1 + 4]);
  t.same(Array.from(p.data.subarray(0, 4)), [1, 2, 3, 255], 'background in the gap');
  const scaled = panel([img, img], { height: 10, gap: 0 });
  t.same([scaled.width, scaled.height], [400, 10], 'height scales with aspect kept');
  t.throws(() => panel([]), { code: 'bad-argument' });
  // [N,C,H,W] with sample selection
  const batch: HostArray = { dtype: 'float64', shape: [2, 4, 2, 2], data: Float64Array.from({ length: 32 }, (_, i) => (i < 16 ? 0 : i)) };
  t.ok(
    renderRgb(batch, { sample: 1 }).data.some((x, i) => i % 4 !== 3 && x > 0),
    'sample 1 is rendered',
  );
  t.throws(() => renderRgb(batch, { sample: 2 }), { code: 'bad-argument' });
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const f = path.join(tmp.dir, 'x.png');
  writePreviewPng(f, ramp(8, 30), { sensor: 'WV3' });
  t.same([decode(fs.readFileSync(f)).width, decode(fs.readFileSync(f)).height], [30, 1]);
  writePreviewPng(f, p);
  t.equal(decode(fs.readFileSync(f)).width, p.width, 'an RgbaImage is written as is');
});

t.test('real images: MS colour + PAN gray before/after panel is a decodable PNG', { skip: hasRealData ? false : 'no real data' }, async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  for (const [file, sensor] of [
    ['wv2_vitale.mat', 'wv2'],
    ['ikonos_vitale.mat', 'ikonos'],
  ] as const) {
    const x = await loadPansharpeningInput(realMat(file));
    t.equal(x.sensor, sensor);
    const ms = renderRgb(x.ms!, { sensor: x.sensor });
    const pan = renderGray(x.pan);
    t.same([ms.width, ms.height, pan.width, pan.height], [320, 320, 1280, 1280]);
    // a real scene stretched 2–98 % uses most of the 8-bit range in every channel
    for (let c = 0; c < 3; c++) {
      let lo = 255,
        hi = 0;
      for (let i = c; i < ms.data.length; i += 4) {
        lo = Math.min(lo, ms.data[i]!);
        hi = Math.max(hi, ms.data[i]!);
      }
      t.ok(lo === 0 && hi === 255, `${file} channel ${c} spans 0..255`);
    }
    const out = path.join(tmp.dir, `${sensor}.png`);
    writePreviewPng(out, panel([ms, pan], { height: 320 }));
    const png = decode(fs.readFileSync(out));
    t.same([png.width, png.height], [8 + 320 + 8 + 320 + 8, 320 + 16]);
  }
});
