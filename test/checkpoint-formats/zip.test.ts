import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZipArchive, isZip } from '../../lib/checkpoint-formats/index.js';
import { FIXTURES, pythonUnavailable, runPython, tempDir } from './fixtures/helpers.js';
import { writeZip } from './fixtures/builders.js';

const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
const entries = [
  { name: 'x/one', data: enc('first entry') },
  { name: 'x/two', data: new Uint8Array(1000).map((_, i) => i & 0xff) },
  { name: 'x/empty', data: new Uint8Array(0) },
];

t.test('reads stored entries, with and without ZIP64 records', async (t) => {
  for (const zip64 of [false, true]) {
    const zip = new ZipArchive(writeZip(entries, { zip64, comment: 'trailing comment' }));
    t.same(
      zip.names(),
      entries.map((e) => e.name),
      `zip64=${zip64}: names`,
    );
    for (const e of entries) t.same(zip.read(e.name), e.data, `zip64=${zip64}: ${e.name}`);
    t.equal(zip.entries.get('x/two')!.uncompressedSize, 1000);
  }
  t.ok(isZip(writeZip([])), 'an empty archive is a zip');
  t.same(new ZipArchive(writeZip([])).names(), []);
});

t.test('malformed archives', async (t) => {
  const good = writeZip(entries);
  const mutate = (f: (b: Buffer) => void, src: Uint8Array = good): Uint8Array => {
    const b = Buffer.from(src);
    f(b);
    return new Uint8Array(b);
  };
  const eocd = good.length - 22;
  const cd = Buffer.from(good).readUInt32LE(eocd + 16);
  t.throws(() => new ZipArchive(new Uint8Array(10)), { code: 'truncated' });
  t.throws(() => new ZipArchive(good.subarray(0, good.length - 5)), { code: 'format', message: /end-of-central-directory/ });
  t.throws(() => new ZipArchive(mutate((b) => b.writeUInt32LE(good.length, eocd + 16))), { code: 'bounds' }, 'directory offset past the end');
  t.throws(() => new ZipArchive(mutate((b) => b.writeUInt16LE(60000, eocd + 10))), /entries|multi-disk/, 'entry count too large');
  t.throws(() => new ZipArchive(mutate((b) => b.writeUInt16LE(1, eocd + 4))), { code: 'unsupported', message: /multi-disk/ });
  t.throws(() => new ZipArchive(mutate((b) => b.writeUInt32LE(0xdeadbeef, cd))), { code: 'format', message: /central header signature/ });
  t.throws(() => new ZipArchive(mutate((b) => b.writeUInt32LE(good.length - 10, cd + 42))), { code: 'bounds' }, 'local header offset out of range');
  const dup = writeZip([entries[0]!, entries[0]!]);
  t.throws(() => new ZipArchive(dup), { code: 'corrupt', message: /duplicate/ });

  const zipWith = (f: (b: Buffer) => void): ZipArchive => new ZipArchive(mutate(f));
  t.throws(
    () =>
      zipWith((b) => {
        b[30] = 0x58;
      }).read('x/one'),
    { code: 'corrupt', message: /name differs/ },
  );
  t.throws(
    () =>
      zipWith((b) => {
        b.writeUInt8(b.readUInt8(37) ^ 1, 37);
      }).read('x/one'),
    { code: 'corrupt', message: /CRC-32/ },
  );
  t.throws(
    () =>
      zipWith((b) => {
        b.writeUInt16LE(1, cd + 8);
      }).read('x/one'),
    { code: 'unsupported', message: /encrypted/ },
  );
  t.throws(
    () =>
      zipWith((b) => {
        b.writeUInt16LE(14, cd + 10);
      }).read('x/one'),
    { code: 'unsupported', message: /method 14/ },
  );
  t.throws(
    () =>
      zipWith((b) => {
        b.writeUInt16LE(8, cd + 10);
      }).read('x/one'),
    { code: 'corrupt' },
    'stored bytes are not deflate',
  );
  t.throws(
    () =>
      zipWith((b) => {
        b.writeUInt32LE(100, cd + 20);
      }).read('x/one'),
    { code: 'corrupt', message: /differing sizes/ },
  );
  t.throws(() => new ZipArchive(good).read('nope'), { code: 'format' });
  // ZIP64 extra field that lacks the value the saturated fixed field promises.
  const z64 = writeZip([entries[0]!], { zip64: true });
  const z64cd = Buffer.from(z64).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  t.throws(() => new ZipArchive(mutate((b) => b.writeUInt16LE(8, z64cd + 46 + 5 + 2), z64)), { code: 'corrupt', message: /zip64/ });
  t.throws(() => new ZipArchive(mutate((b) => b.writeUInt32LE(0, z64.length - 22 - 20 - 56), z64)), { code: 'format', message: /zip64/ });
});

t.test('archives written by Python zipfile', { skip: pythonUnavailable([]) }, async (t) => {
  const dir = tempDir(t);
  const script = join(FIXTURES, 'zip_fixtures.py');
  runPython([script, 'write', dir]);

  const names = JSON.parse(readFileSync(join(dir, 'plain.json'), 'utf8')) as string[];
  const plain = new ZipArchive(readFileSync(join(dir, 'plain.zip')));
  t.same(plain.names(), names, 'names, including UTF-8');
  names.forEach((n, i) => t.same(plain.read(n), new Uint8Array(readFileSync(join(dir, 'contents', String(i)))), `content of ${n}`));
  t.equal(plain.entries.get('dir/b.bin')!.method, 8, 'deflated entry');

  const many = new ZipArchive(readFileSync(join(dir, 'many.zip')));
  t.equal(many.names().length, 70000, '70,000 entries via the ZIP64 end records');
  t.equal(new TextDecoder().decode(many.read('e/69999')), '69999');

  t.throws(() => new ZipArchive(readFileSync(join(dir, 'bzip2.zip'))).read('x'), { code: 'unsupported', message: /method 12/ });
  const zeros = readFileSync(join(dir, 'zeros.zip'));
  t.equal(new ZipArchive(zeros).read('zeros').length, 8 * 1024 * 1024);
  t.throws(() => new ZipArchive(zeros, { maxInflatedBytes: 1 << 20 }).read('zeros'), { code: 'limit' }, 'inflate bound');
  t.throws(() => new ZipArchive(readFileSync(join(dir, 'many.zip')), { maxEntries: 1000 }), { code: 'limit' });

  // Our ZIP64 test builder produces archives Python accepts, so the ZIP64 test above is honest.
  writeFileSync(join(dir, 'ts64.zip'), writeZip(entries, { zip64: true }));
  const seen = JSON.parse(runPython([script, 'read', join(dir, 'ts64.zip')])) as Record<string, string>;
  t.same(seen, Object.fromEntries(entries.map((e) => [e.name, Buffer.from(e.data).toString('hex')])));
});
