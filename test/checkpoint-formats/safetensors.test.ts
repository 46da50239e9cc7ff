import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DType, HostArray } from '../../lib/host.js';
import { CheckpointError, MAX_SAFETENSORS_HEADER, loadCheckpoint, readSafetensors, writeSafetensors } from '../../lib/checkpoint-formats/index.js';
import { FIXTURES, bytesOf, diffExpected, pythonUnavailable, runPython, tempDir } from './fixtures/helpers.js';
import type { ExpectedTensor } from './fixtures/helpers.js';

/** One tensor of each dtype, with edge values (NaN payloads, extremes, -0). */
function everyDtype(): Map<string, HostArray> {
  const f32bits = new Uint32Array([0x7fc00001, 0x7f800001, 0x80000000, 0x00000001, 0x3f800000, 0xff800000]);
  return new Map<string, HostArray>([
    ['float32', { dtype: 'float32', shape: [2, 3], data: new Float32Array(f32bits.buffer) }],
    ['float64', { dtype: 'float64', shape: [3], data: new Float64Array([-0, Number.MIN_VALUE, Number.MAX_VALUE]) }],
    ['float16', { dtype: 'float16', shape: [2, 2], data: new Uint16Array([0x7c01, 0x0001, 0xfc00, 0x3c00]) }],
    ['bfloat16', { dtype: 'bfloat16', shape: [4], data: new Uint16Array([0x7fc1, 0x3f80, 0x8000, 0x0001]) }],
    ['int64', { dtype: 'int64', shape: [3], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n]) }],
    ['int32', { dtype: 'int32', shape: [2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) }],
    ['int16', { dtype: 'int16', shape: [1, 2], data: new Int16Array([-32768, 32767]) }],
    ['int8', { dtype: 'int8', shape: [3], data: new Int8Array([-128, 127, 0]) }],
    ['uint8', { dtype: 'uint8', shape: [2, 2, 1], data: new Uint8Array([0, 255, 1, 2]) }],
    ['uint16', { dtype: 'uint16', shape: [2], data: new Uint16Array([0, 65535]) }],
    ['bool', { dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) }],
    ['scalar', { dtype: 'float32', shape: [], data: new Float32Array([2.5]) }],
    ['empty', { dtype: 'int64', shape: [0, 7], data: new BigInt64Array(0) }],
  ]);
}

/** A file from raw header JSON plus data bytes. */
function craft(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string | Uint8Array): Uint8Array {
  const json = typeof headerText === 'string' || headerText === undefined ? Buffer.from(headerText ?? JSON.stringify(header)) : Buffer.from(headerText);
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  out.set(data, 8 + json.length);
  return new Uint8Array(out);
}

t.test('round trip of every dtype, bit-exact', async (t) => {
  const tensors = everyDtype();
  const file = writeSafetensors(tensors, { format: 'pt', ünï: 'cödé' });
  const headerLen = Number(Buffer.from(file).readBigUInt64LE(0));
  t.equal(headerLen % 8, 0, 'header padded to 8 bytes');
  const back = readSafetensors(file);
  t.same(back.metadata, { format: 'pt', ünï: 'cödé' });
  t.same([...back.tensors.keys()], [...tensors.keys()]);
  for (const [k, v] of tensors) {
    const got = back.tensors.get(k)!;
    t.equal(got.dtype, v.dtype, `${k} dtype`);
    t.same(got.shape, v.shape, `${k} shape`);
    t.equal(got.data.constructor, v.data.constructor, `${k} typed array class`);
    t.same(bytesOf(got), bytesOf(v), `${k} bytes`);
  }
  t.equal(loadCheckpoint(file).size, tensors.size, 'loadCheckpoint sniffs safetensors');
});

t.test('shareBuffer: aligned tensors are views of the input, unaligned ones copies, the values the same', async (t) => {
  const file = writeSafetensors(everyDtype());
  const copied = readSafetensors(file).tensors;
  const shared = readSafetensors(file, { shareBuffer: true }).tensors;
  let views = 0;
  for (const [name, c] of copied) {
    const s = shared.get(name)!;
    t.same(bytesOf(s), bytesOf(c), `${name}: same bytes`);
    t.not(c.data.buffer, file.buffer, `${name}: the default is a copy`);
    if (s.data.buffer === file.buffer) views++;
  }
  t.ok(views >= 1, `${views} of ${copied.size} tensors viewed in place`);
  // one byte in front puts every multi-byte tensor off its alignment: those must be copies
  const shifted = new Uint8Array(file.length + 1).subarray(1);
  shifted.set(file);
  for (const [name, s] of readSafetensors(shifted, { shareBuffer: true }).tensors) {
    t.same(bytesOf(s), bytesOf(copied.get(name)!), `${name}: same bytes when misaligned`);
    if (shared.get(name)!.data.buffer === file.buffer && s.data.BYTES_PER_ELEMENT > 1) t.not(s.data.buffer, shifted.buffer, `${name}: copied when misaligned`);
  }
});

t.test('writer accepts records, odd names, no metadata', async (t) => {
  const rec = Object.create(null) as Record<string, HostArray>;
  rec['__proto__'] = { dtype: 'uint8', shape: [1], data: new Uint8Array([9]) };
  rec['a.b/c'] = { dtype: 'int8', shape: [1], data: new Int8Array([-1]) };
  const back = readSafetensors(writeSafetensors(rec));
  t.same([...back.tensors.keys()], ['__proto__', 'a.b/c']);
  t.same(back.metadata, {});
  t.same(readSafetensors(writeSafetensors(new Map())).tensors.size, 0, 'empty file');
});

t.test('writer validates its input', async (t) => {
  const bad = (h: Partial<HostArray>, m?: Record<string, string>): Uint8Array =>
    writeSafetensors({ x: { dtype: 'float32', shape: [2], data: new Float32Array(2), ...h } as HostArray }, m);
  t.throws(() => bad({ shape: [3] }), { code: 'invalid', message: /2 elements, shape needs 3/ });
  t.throws(() => bad({ data: new Float64Array(2) }), { code: 'invalid', message: /Float64Array/ });
  t.throws(() => bad({ dtype: 'complex64' as DType }), { code: 'invalid' });
  t.throws(() => bad({ shape: [-2] }), { code: 'invalid' });
  t.throws(() => bad({ shape: [1.5] }), { code: 'invalid' });
  t.throws(() => bad({}, { n: 3 as unknown as string }), { code: 'invalid' });
  t.throws(() => writeSafetensors({ __metadata__: { dtype: 'uint8', shape: [0], data: new Uint8Array(0) } }), { code: 'invalid' });
});

t.test('reader rejects malformed files with CheckpointError', async (t) => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const eight = new Uint8Array(8);
  const cases: [string, Uint8Array, string, RegExp?][] = [
    ['empty file', new Uint8Array(0), 'truncated'],
    ['7 bytes', new Uint8Array(7), 'truncated'],
    ['header past end', craft(ok, eight).subarray(0, 20), 'truncated'],
    [
      'header over the cap',
      (() => {
        const b = Buffer.alloc(16);
        b.writeBigUInt64LE(BigInt(MAX_SAFETENSORS_HEADER + 1));
        return new Uint8Array(b);
      })(),
      'limit',
      /cap/,
    ],
    ['header length >= 2^53', new Uint8Array([0, 0, 0, 0, 0, 0, 0x20, 0]), 'limit'],
    ['invalid JSON', craft(null, eight, '{"a": '), 'format', /JSON/],
    ['JSON array', craft([1, 2]), 'format', /not an object/],
    ['invalid UTF-8', craft(null, eight, Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), 'format', /UTF-8/],
    ['unknown dtype', craft({ a: { ...ok.a, dtype: 'Q7' } }, eight), 'unsupported', /Q7/],
    ['unsupported dtype', craft({ a: { dtype: 'F8_E4M3', shape: [8], data_offsets: [0, 8] } }, eight), 'unsupported'],
    ['negative dim', craft({ a: { ...ok.a, shape: [-2] } }, eight), 'format'],
    ['fractional dim', craft({ a: { ...ok.a, shape: [2.5] } }, eight), 'format'],
    ['string dim', craft({ a: { ...ok.a, shape: ['2'] } }, eight), 'format'],
    ['missing offsets', craft({ a: { dtype: 'F32', shape: [2] } }, eight), 'format'],
    ['begin > end', craft({ a: { ...ok.a, data_offsets: [8, 0] } }, eight), 'format'],
    ['end past data', craft({ a: { ...ok.a, data_offsets: [0, 8] } }, new Uint8Array(4)), 'bounds'],
    ['size mismatch', craft({ a: { ...ok.a, shape: [3] } }, eight), 'corrupt', /needs 12/],
    ['numel overflow', craft({ a: { ...ok.a, shape: [2 ** 40, 2 ** 40] } }, eight), 'limit'],
    ['overlap', craft({ a: ok.a, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, eight), 'corrupt', /overlaps/],
    ['hole', craft({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, eight), 'corrupt', /unindexed/],
    ['trailing bytes', craft(ok, new Uint8Array(12)), 'corrupt', /after the last tensor/],
    ['entry not an object', craft({ a: 5 }), 'format'],
    ['metadata not strings', craft({ ...ok, __metadata__: { a: 1 } }, eight), 'format'],
    ['metadata not an object', craft({ ...ok, __metadata__: [1] }, eight), 'format'],
    ['deep JSON', craft(null, eight, '{"a":' + '['.repeat(200000) + ']'.repeat(200000) + '}'), 'format'],
  ];
  for (const [what, bytes, code, message] of cases) {
    t.throws(() => readSafetensors(bytes), { name: 'CheckpointError', code, ...(message ? { message } : {}) }, what);
  }
  t.ok(readSafetensors(craft({ ...ok, __metadata__: null }, eight)), 'null metadata is allowed');
  t.ok(new CheckpointError('format', 'x') instanceof Error);
});

t.test('cross-check with the Python safetensors package', { skip: pythonUnavailable(['torch', 'safetensors']) }, async (t) => {
  const dir = tempDir(t);
  const script = join(FIXTURES, 'safetensors_fixtures.py');

  runPython([script, 'write', dir]);
  const manifest = JSON.parse(readFileSync(join(dir, 'py-manifest.json'), 'utf8')) as Record<string, ExpectedTensor>;
  const py = readSafetensors(readFileSync(join(dir, 'py.safetensors')));
  t.same(py.metadata, { format: 'pt', note: 'héllo' }, 'metadata written by Python');
  t.same([...py.tensors.keys()].sort(), Object.keys(manifest).sort(), 'names written by Python');
  for (const [k, want] of Object.entries(manifest)) t.equal(diffExpected(py.tensors.get(k), want, join(dir, 'py-bins')), undefined, `python -> ts: ${k}`);

  const tensors = everyDtype();
  mkdirSync(join(dir, 'js-bins'));
  const jsManifest: Record<string, ExpectedTensor> = {};
  for (const [k, v] of tensors) {
    writeFileSync(join(dir, 'js-bins', `${k}.bin`), bytesOf(v));
    jsManifest[k] = { dtype: v.dtype, shape: v.shape, bin: `${k}.bin` };
  }
  writeFileSync(join(dir, 'js-manifest.json'), JSON.stringify(jsManifest));
  writeFileSync(join(dir, 'js.safetensors'), writeSafetensors(tensors, { writer: 'specfuse', ünï: 'cödé' }));
  const report = JSON.parse(runPython([script, 'verify', dir])) as { problems: string[]; metadata: Record<string, string>; count: number };
  t.same(report.problems, [], 'ts -> python: every tensor bit-exact');
  t.equal(report.count, tensors.size);
  t.same(report.metadata, { writer: 'specfuse', ünï: 'cödé' }, 'ts -> python: metadata');
});
