// Every writer under faults: a full disk (`ulimit -f` in the child) is an error with a non-zero exit
// and the previous file survives byte for byte; SIGKILL at random moments of repeated overwrites
// leaves the previous or the new version, whole, never a truncated file under the final name.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pngjs from 'pngjs';
import { readGeoTiff, readMat, openPanCollection } from '../../lib/data/index.js';
import { h5wasm } from '../../lib/data/hdf5.js';
import { readSafetensors } from '../../lib/checkpoint-formats/index.js';
import { readCheckpoint } from '../../lib/index.js';
import { generator } from '../../lib/train/rng.js';

const child = fileURLToPath(new URL('./fixtures/writer-child.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'specfuse-faults-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

/** The version a file holds (the value the child filled it with), or throws when it is unreadable. */
const readers: Record<string, (path: string) => Promise<number>> = {
  tif: async (p) => (await readGeoTiff(p)).image.data[0] as number,
  h5: async (p) => {
    const h5 = await h5wasm();
    const f = new h5.File(p, 'r');
    try {
      return Number((f.get('sr') as { value: Float32Array }).value[0]);
    } finally {
      f.close();
    }
  },
  mat: async (p) => readMat(p).get('sr')!.data[0] as number,
  png: async (p) => {
    pngjs.PNG.sync.read(readFileSync(p));
    return 1;
  },
  pancollection: async (p) => {
    const f = await openPanCollection(p);
    try {
      return f.read('ms', 3, 4).data[0] as number;
    } finally {
      f.close();
    }
  },
  weights: async (p) => Number(readSafetensors(readFileSync(p)).metadata.version),
  checkpoint: async (p) => readCheckpoint(p)!.state.step,
};
const file = (kind: string) =>
  join(
    tmp,
    kind,
    {
      tif: 'fused.tif',
      h5: 'fused.h5',
      mat: 'fused.mat',
      png: 'preview.png',
      pancollection: 'train.h5',
      weights: 'final.safetensors',
      checkpoint: 'checkpoints',
    }[kind]!,
  );
const args = (kind: string, count: number) => ['--import=tsx', child, kind, file(kind), String(count)];
const temporaries = (kind: string) => {
  const dir = kind === 'checkpoint' ? file(kind) : join(tmp, kind);
  return readdirSync(dir).filter((n) => n.includes('.tmp-'));
};

/** Starts the child writing `count` versions, kills it `afterMs` after its first complete write. */
function killDuring(kind: string, afterMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args(kind, 1000), { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => {
      err += d;
    });
    p.stdout.once('data', () => setTimeout(() => p.kill('SIGKILL'), afterMs));
    p.once('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child ended on its own (${code}): ${err}`))));
  });
}

const rand = generator(18, 1, 0);
for (const kind of Object.keys(readers)) {
  t.test(kind, async (t) => {
    // SIGKILL mid-overwrite, twice: what is under the final name is always a whole version
    let last = 0;
    for (let k = 0; k < 2; k++) {
      await killDuring(kind, Math.floor(rand() * 250));
      const v = await readers[kind]!(file(kind));
      t.ok(v >= 1, `after SIGKILL ${k + 1}: a whole file under the final name (version ${v})`);
      last = v;
    }
    // full disk: 8 KB allowed, every version is larger
    const before = kind === 'checkpoint' ? null : readFileSync(file(kind));
    const r = spawnSync('bash', ['-c', `ulimit -f 16; exec "${process.execPath}" "$@"`, 'bash', ...args(kind, 2)], { encoding: 'utf8' });
    t.not(r.status, 0, `a failed write exits non-zero (status ${r.status}, signal ${r.signal})`);
    t.equal(r.signal, null, 'and is not killed by SIGXFSZ');
    t.match(r.stderr, /EFBIG|file size|disk full|could not write/i, 'and says why');
    t.notMatch(r.stdout, /wrote/, 'nothing reported as written');
    if (before) t.same(readFileSync(file(kind)), before, 'the previous file survives byte for byte');
    t.equal(await readers[kind]!(file(kind)), last, 'and still reads as the previous version');
    t.same(temporaries(kind), [], "no temporary file is left (killed writers' ones removed too)");
    t.ok(existsSync(file(kind)));
  });
}
