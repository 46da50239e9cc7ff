import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { HostArray } from '../../lib/host.js';
import { encodeGeoTiff, readGeoTiff, writeGeoTiff, type GeoReference } from '../../lib/data/index.js';
import { PY_DUMP, cutPoints, dumpedValues, formatError, parseDumps, pythonWith, rng, runPython, tempDir, values } from './fixtures/helpers.js';

const tifffile = pythonWith('tifffile', 'numpy');
const skipTifffile = tifffile ? false : 'python with tifffile not available';

/** A UTM georeference as GDAL writes it (EPSG:32633, 0.5 m pixels). */
const UTM: GeoReference = {
  tags: {
    33550: [0.5, 0.5, 0],
    33922: [0, 0, 0, 500000.25, 4649776.75, 0],
    34735: [1, 1, 0, 4, 1024, 0, 1, 1, 1025, 0, 1, 1, 1026, 34737, 25, 0, 3072, 0, 1, 32633],
    34737: 'WGS 84 / UTM zone 33N|',
  },
  geoKeys: null,
  noData: null,
};

function image(dtype: HostArray['dtype'], C: number, H: number, W: number): HostArray {
  const r = rng(C * 1000 + H);
  const n = C * H * W;
  const data =
    dtype === 'float32'
      ? new Float32Array(n)
      : dtype === 'float64'
        ? new Float64Array(n)
        : dtype === 'uint16'
          ? new Uint16Array(n)
          : dtype === 'uint8'
            ? new Uint8Array(n)
            : dtype === 'int16'
              ? new Int16Array(n)
              : new Int32Array(n);
  for (let i = 0; i < n; i++)
    data[i] = dtype.startsWith('float') ? (r() - 0.3) * 3000 : Math.floor(r() * (dtype === 'uint8' ? 256 : 2048)) - (dtype.startsWith('int') ? 1000 : 0);
  return { dtype, shape: [C, H, W], data };
}

t.test('write → read round trip: dtypes × planar/chunky × deflate, georeference kept', async (t) => {
  for (const dtype of ['uint16', 'float32', 'uint8', 'int16', 'int32', 'float64'] as const) {
    for (const interleave of ['band', 'pixel'] as const) {
      for (const compression of ['none', 'deflate'] as const) {
        const img = image(dtype, 5, 37, 301); // odd sizes: several strips, last one short
        const bytes = encodeGeoTiff(img, { georef: UTM, interleave, compression, noData: -9999 });
        const r = await readGeoTiff(bytes);
        const label = `${dtype} ${interleave} ${compression}`;
        t.same(r.image.shape, [5, 37, 301], `${label} shape`);
        t.equal(r.image.dtype, dtype, `${label} dtype`);
        t.same(values(r.image), values(img), `${label} values`);
        t.same(r.georef.tags[33550], UTM.tags[33550], `${label} pixel scale`);
        t.same(r.georef.tags[33922], UTM.tags[33922]);
        t.same(r.georef.tags[34735], UTM.tags[34735]);
        t.equal(r.georef.tags[34737], UTM.tags[34737]);
        t.equal(r.georef.noData, -9999);
        t.equal(r.georef.geoKeys?.ProjectedCSTypeGeoKey, 32633, `${label} geokeys parsed`);
      }
    }
  }
});

t.test('file round trip, float → uint16 rounding/clamping, georef copied from a read', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const a = path.join(tmp.dir, 'a.tif'),
    b = path.join(tmp.dir, 'b.tif');
  const f: HostArray = { dtype: 'float32', shape: [2, 2, 3], data: new Float32Array([-5, 0.4, 0.6, 1.5, 2047.49, 70000, NaN, 1, 2, 3, 4, 65535.4]) };
  writeGeoTiff(a, f, { georef: UTM, dtype: 'uint16' });
  const ra = await readGeoTiff(a);
  t.same(values(ra.image), [0, 0, 1, 2, 2047, 65535, 0, 1, 2, 3, 4, 65535]);
  writeGeoTiff(b, ra.image, { georef: ra.georef }); // what a pipeline does: keep the input's georeference
  const rb = await readGeoTiff(b);
  t.same(rb.georef.tags, ra.georef.tags);
  t.equal(rb.image.dtype, 'uint16');
  const single = path.join(tmp.dir, 'pan.tif');
  writeGeoTiff(single, { dtype: 'uint16', shape: [4, 5], data: new Uint16Array(20).map((_, i) => i) });
  const rs = await readGeoTiff(single);
  t.same(rs.image.shape, [1, 4, 5], '[H,W] input becomes one band');
  t.same(rs.georef.tags, {}, 'no georeference invented');
  t.equal(rs.georef.noData, null);
  t.throws(() => writeGeoTiff(path.join(tmp.dir, 'x.tif'), { dtype: 'uint16', shape: [2, 2, 2, 2], data: new Uint16Array(16) }), { code: 'shape' });
  t.notOk(fs.existsSync(path.join(tmp.dir, 'x.tif')), 'a failed write leaves no partial file');
  t.throws(() => encodeGeoTiff(f, { dtype: 'int8' as never }), { code: 'bad-argument' });
  t.throws(() => encodeGeoTiff(f, { georef: { tags: { 34737: [1, 2] }, geoKeys: null, noData: null } }), { code: 'bad-argument' });
  const nd = await readGeoTiff(encodeGeoTiff(f, { georef: { ...UTM, tags: { ...UTM.tags, 42113: '0' } }, noData: null }));
  t.equal(nd.georef.noData, null, 'noData: null removes it');
});

t.test("tifffile reads ours; we read tifffile's tiled/striped/compressed/planar files", { skip: skipTifffile }, async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const ours = path.join(tmp.dir, 'ours.tif');
  const img = image('uint16', 4, 50, 60);
  writeGeoTiff(ours, img, { georef: UTM, compression: 'deflate' });
  const out = path.join(tmp.dir, 'dump');
  fs.mkdirSync(out);
  const info = runPython(
    tifffile!,
    `${PY_DUMP}
import tifffile
with tifffile.TiffFile(sys.argv[1]) as f:
    p = f.pages[0]
    dump('img', p.asarray(), sys.argv[2])
    tags = {str(k): (list(v.value) if isinstance(v.value, tuple) else v.value) for k, v in ((t.code, t) for t in p.tags.values()) if k in (33550, 33922, 34735, 34737)}
    print('TAGS' + json.dumps(tags))
`,
    [ours, out],
  );
  const d = parseDumps(info).get('img')!;
  t.same(d.shape, [4, 50, 60], 'tifffile sees planar C×H×W');
  t.same(dumpedValues(d), values(img), 'tifffile reads identical values');
  const tags = JSON.parse(
    info
      .split('\n')
      .find((l) => l.startsWith('TAGS'))!
      .slice(4),
  ) as Record<string, unknown>;
  t.same(tags['33550'], UTM.tags[33550]);
  t.same(tags['34735'], UTM.tags[34735]);
  t.equal(tags['34737'], UTM.tags[34737]);

  // Layouts real products come in, written by tifffile.
  const variants: [string, string][] = [
    [
      'tiled-deflate-chunky-u16',
      `tifffile.imwrite(p, a16.transpose(1, 2, 0), tile=(32, 32), compression='zlib', photometric='minisblack', planarconfig='contig', extratags=geo)`,
    ],
    ['tiled-planar-f32', `tifffile.imwrite(p, a16.astype('f4') / 7, tile=(16, 48), photometric='minisblack', planarconfig='separate', extratags=geo)`],
    [
      'strips-chunky-i16-bigendian',
      `tifffile.imwrite(p, (a16.astype('i2') - 1000).transpose(1, 2, 0), byteorder='>', rowsperstrip=7, photometric='minisblack', planarconfig='contig', extratags=geo)`,
    ],
    ['strips-planar-u8', `tifffile.imwrite(p, (a16 % 256).astype('u1'), rowsperstrip=5, photometric='minisblack', planarconfig='separate', extratags=geo)`],
    ['single-band-f64', `tifffile.imwrite(p, a16[0].astype('f8') * 1.5, extratags=geo)`],
  ];
  // LZW and packbits (common in delivered products) need imagecodecs on the Python side.
  if (pythonWith('tifffile', 'imagecodecs')) {
    variants.push(
      [
        'strips-lzw-predictor-chunky-u16',
        `tifffile.imwrite(p, a16.transpose(1, 2, 0), compression='lzw', predictor=True, rowsperstrip=8, photometric='minisblack', planarconfig='contig', extratags=geo)`,
      ],
      [
        'tiled-lzw-planar-f32-predictor',
        `tifffile.imwrite(p, a16.astype('f4') / 3, compression='lzw', predictor=3, tile=(16, 16), photometric='minisblack', planarconfig='separate', extratags=geo)`,
      ],
      [
        'strips-packbits-u8',
        `tifffile.imwrite(p, (a16 % 256).astype('u1'), compression='packbits', rowsperstrip=5, photometric='minisblack', planarconfig='separate', extratags=geo)`,
      ],
    );
  } else {
    t.comment('imagecodecs not installed: LZW/packbits variants not generated');
  }
  for (const [name, write] of variants) {
    const p = path.join(tmp.dir, `${name}.tif`);
    const dumps = parseDumps(
      runPython(
        tifffile!,
        `${PY_DUMP}
import tifffile, numpy as np
p = sys.argv[1]
rng = np.random.default_rng(1)
a16 = rng.integers(0, 2048, (3, 45, 70)).astype('u2')
geo = [(33550, 'd', 3, (0.5, 0.5, 0.0), True), (33922, 'd', 6, (0, 0, 0, 500000.25, 4649776.75, 0), True), (42113, 's', 0, '-1', True)]
${write}
with tifffile.TiffFile(p) as f:
    x = f.pages[0].asarray()
    if x.ndim == 3 and f.pages[0].planarconfig == 1: x = x.transpose(2, 0, 1)
    dump('x', x, sys.argv[2])
`,
        [p, out],
      ),
    );
    const ref = dumps.get('x')!;
    const r = await readGeoTiff(p);
    const expectShape = ref.shape.length === 2 ? [1, ...ref.shape] : ref.shape;
    t.same(r.image.shape, expectShape, `${name}: shape`);
    t.same(values(r.image), dumpedValues(ref), `${name}: values`);
    t.same(r.georef.tags[33922], [0, 0, 0, 500000.25, 4649776.75, 0], `${name}: tiepoint`);
    t.equal(r.georef.noData, -1, `${name}: GDAL nodata`);
  }
});

t.test('bad TIFFs: truncated at many cut points, wrong magic, BigTIFF, broken structure', async (t) => {
  const r = rng(11);
  for (const compression of ['none', 'deflate'] as const) {
    const bytes = encodeGeoTiff(image('uint16', 3, 40, 50), { georef: UTM, compression });
    const codes = new Map<string, number>();
    const full = await readGeoTiff(bytes);
    for (const cut of cutPoints(bytes.length, 64, 200, compression === 'none' ? 1 : 2)) {
      let result: Awaited<ReturnType<typeof readGeoTiff>> | undefined;
      const e = await formatError(async () => {
        result = await readGeoTiff(bytes.subarray(0, cut));
      });
      // Reading a cut file is only acceptable when nothing but trailing padding was lost.
      const intact = result && t.same(values(result.image), values(full.image)) && t.same(result.georef, full.georef);
      const c = e?.code ?? (intact ? 'intact (padding cut)' : 'WRONG RESULT');
      codes.set(c, (codes.get(c) ?? 0) + 1);
    }
    t.notOk(codes.has('WRONG RESULT'), `${compression}: no cut file reads as something else ${JSON.stringify(Object.fromEntries(codes))}`);
    t.ok(codes.has('truncated'));
    // random damage: DataFormatError or a decoded image, never another error or a hang
    let rejected = 0;
    for (let i = 0; i < 300; i++) {
      const b = Uint8Array.from(bytes);
      for (let k = 0; k < 3; k++) b[r() < 0.5 ? Math.floor(r() * 64) : b.length - 1 - Math.floor(r() * 300)] = Math.floor(r() * 256);
      if (await formatError(() => readGeoTiff(b))) rejected++;
    }
    t.pass(`${compression}: 300 damaged files handled (${rejected} rejected)`);
  }
  t.equal((await formatError(() => readGeoTiff(new TextEncoder().encode('GIF89a not a tiff at all'))))?.code, 'bad-magic');
  t.equal((await formatError(() => readGeoTiff(new Uint8Array([0x49, 0x49, 42]))))?.code, 'truncated');
  t.equal((await formatError(() => readGeoTiff(new Uint8Array([0x49, 0x49, 43, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))))?.code, 'unsupported');
  const good = encodeGeoTiff(image('uint16', 2, 10, 10));
  const lying = Uint8Array.from(good);
  // StripByteCounts of an uncompressed strip made too small: must be caught before decoding
  const dv = new DataView(lying.buffer);
  const ifd = dv.getUint32(4, true);
  const n = dv.getUint16(ifd, true);
  for (let i = 0; i < n; i++) {
    const p = ifd + 2 + i * 12;
    if (dv.getUint16(p, true) === 279) {
      const off = dv.getUint32(p + 8, true);
      dv.setUint32(off, 3, true);
    }
  }
  t.equal((await formatError(() => readGeoTiff(lying)))?.code, 'corrupt');
  const huge = Uint8Array.from(encodeGeoTiff(image('uint16', 1, 10, 10), { compression: 'deflate' }));
  const hv = new DataView(huge.buffer);
  const hifd = hv.getUint32(4, true);
  for (let i = 0; i < hv.getUint16(hifd, true); i++) {
    const p = hifd + 2 + i * 12;
    if (hv.getUint16(p, true) === 256) hv.setUint32(p + 8, 60000, true); // width 60000 with 1 strip of ~200 bytes
  }
  t.equal((await formatError(() => readGeoTiff(huge)))?.code, 'corrupt', 'implausible size rejected before allocating');
  await t.rejects(readGeoTiff('/nonexistent.tif'), { code: 'ENOENT' });
});
