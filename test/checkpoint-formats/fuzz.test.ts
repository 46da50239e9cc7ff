import t from 'tap';
import type { Test } from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostArray } from '../../lib/host.js';
import {
  CheckpointError,
  ZipArchive,
  extractStateDict,
  loadCheckpoint,
  readSafetensors,
  unpickle,
  writeSafetensors,
} from '../../lib/checkpoint-formats/index.js';
import { torchGlobals } from '../../lib/checkpoint-formats/torch-globals.js';
import { StorageTable } from '../../lib/checkpoint-formats/torch-storages.js';
import { WEIGHTS, prng, pythonUnavailable, runPython, tempDir } from './fixtures/helpers.js';
import { PickleBuilder, f32Bytes, pushTensor, torchZip, writeZip } from './fixtures/builders.js';

const VARIANTS = 2000;
// No time budget: a duration depends on the machine and its load. A hang is caught by tap's timeout;
// a loader that trusts a hostile length would allocate, which the peak-memory bound below catches.
/** Bound on the resident-set growth while one corpus runs (the largest input here is ~650 KB). */
const CORPUS_RSS_BUDGET = 512 * 2 ** 20;

type Mutator = (rand: () => number) => Uint8Array;

/**
 * Truncations and byte mutations of `base`, biased towards `hot` (the structural bytes:
 * headers, pickles, directories), where a mutation is most likely to reach parsing code.
 */
function mutator(base: Uint8Array, hot: [number, number][]): Mutator {
  return (rand) => {
    const pick = (n: number): number => Math.floor(rand() * n);
    const pos = (): number => {
      if (rand() < 0.25) return pick(base.length);
      const [a, b] = hot[pick(hot.length)]!;
      return a + pick(Math.max(1, b - a));
    };
    const kind = pick(4);
    if (kind === 0) return base.slice(0, rand() < 0.5 ? pick(base.length) : pos());
    const out = base.slice();
    const n = 1 + pick(8);
    for (let i = 0; i < n; i++) {
      const p = Math.min(pos(), out.length - 1);
      if (kind === 1) out[p] = pick(256);
      else if (kind === 2) out[p] = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x2e, 0x28, 0x52][pick(8)]!;
      else for (let j = 0; j < 4 && p + j < out.length; j++) out[p + j] = 0xff; // saturate a length/offset
    }
    return out;
  };
}

interface Outcome {
  loaded: number;
  errors: Record<string, number>;
  failures: string[];
  slowest: number;
  total: number;
  rssGrowth: number;
}

function fuzz(seed: number, mutate: Mutator, load: (b: Uint8Array) => unknown): Outcome {
  const rand = prng(seed);
  const o: Outcome = { loaded: 0, errors: {}, failures: [], slowest: 0, total: 0, rssGrowth: 0 };
  const start = performance.now();
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < VARIANTS; i++) {
    const bytes = mutate(rand);
    const t0 = performance.now();
    try {
      load(bytes);
      o.loaded++;
    } catch (e) {
      if (e instanceof CheckpointError) o.errors[e.code] = (o.errors[e.code] ?? 0) + 1;
      else if (o.failures.length < 10) o.failures.push(`variant ${i}: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    }
    o.slowest = Math.max(o.slowest, performance.now() - t0);
    o.rssGrowth = Math.max(o.rssGrowth, process.memoryUsage().rss - rss0);
  }
  o.total = performance.now() - start;
  return o;
}

function report(t: Test, what: string, o: Outcome): void {
  t.same(o.failures, [], `${what}: every variant loads or throws CheckpointError`);
  t.ok(o.rssGrowth < CORPUS_RSS_BUDGET, `${what}: peak RSS growth ${(o.rssGrowth / 2 ** 20).toFixed(1)} MB`);
  t.comment(`${what}: ${o.loaded} loaded, errors ${JSON.stringify(o.errors)}, ${o.total.toFixed(0)} ms, slowest variant ${o.slowest.toFixed(1)} ms`);
}

/** A torch zip: the real PNN+ checkpoint if present, else a small hand-made one. */
function torchCorpus(): { bytes: Uint8Array; source: string } {
  const real = join(WEIGHTS, 'pnnplus/WV3_PNNplus_model.pth.tar');
  if (existsSync(real)) return { bytes: new Uint8Array(readFileSync(real)), source: 'PNN+ checkpoint' };
  const p = new PickleBuilder().proto(2).emptyDict().str('model_state').emptyDict().str('w');
  pushTensor(p, '0', 6, 0, [2, 3], [3, 1]).setitem().str('v');
  pushTensor(p, '0', 6, 1, [2], [2]).setitem().setitem().stop();
  return { bytes: torchZip(p.bytes(), { '0': f32Bytes([1, 2, 3, 4, 5, 6]) }), source: 'hand-made checkpoint' };
}

/** Byte ranges of a zip's local headers + pickle and of its central directory. */
function zipHotRanges(bytes: Uint8Array): [number, number][] {
  const zip = new ZipArchive(bytes);
  const ranges: [number, number][] = [];
  for (const e of zip.entries.values()) {
    const isPkl = e.name.endsWith('.pkl');
    ranges.push([e.localHeaderOffset, e.localHeaderOffset + 30 + e.name.length + 64 + (isPkl ? e.compressedSize : 0)]);
  }
  const cd = Buffer.from(bytes).lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  ranges.push([Math.max(0, cd - 100 * zip.entries.size), bytes.length]);
  return ranges;
}

t.test('fuzz: torch zip checkpoint', async (t) => {
  const { bytes, source } = torchCorpus();
  t.ok(loadCheckpoint(bytes).size > 0, `${source} loads unmutated`);
  report(
    t,
    `${source}, whole file`,
    fuzz(1, mutator(bytes, zipHotRanges(bytes)), (b) => loadCheckpoint(b)),
  );

  // Mutate only data.pkl and re-zip with a correct CRC, so the unpickler sees every variant.
  const zip = new ZipArchive(bytes);
  const entries = zip.names().map((name) => ({ name, data: zip.read(name).slice() }));
  const pkl = entries.find((e) => e.name.endsWith('/data.pkl'))!;
  const inner = mutator(pkl.data, [[0, pkl.data.length]]);
  const rewrap: Mutator = (rand) => writeZip(entries.map((e) => (e === pkl ? { name: e.name, data: inner(rand) } : e)));
  report(
    t,
    `${source}, data.pkl only`,
    fuzz(2, rewrap, (b) => loadCheckpoint(b)),
  );
});

t.test('fuzz: safetensors file', async (t) => {
  const tensors = new Map<string, HostArray>([
    ['conv.weight', { dtype: 'float32', shape: [8, 4, 3, 3], data: new Float32Array(288).map((_, i) => i / 7) }],
    ['conv.bias', { dtype: 'float16', shape: [8], data: new Uint16Array(8).fill(0x3c00) }],
    ['steps', { dtype: 'int64', shape: [], data: new BigInt64Array([5n]) }],
    ['mask', { dtype: 'bool', shape: [2, 3], data: new Uint8Array([1, 0, 1, 0, 1, 1]) }],
  ]);
  const bytes = writeSafetensors(tensors, { format: 'pt' });
  const headerEnd = 8 + Number(Buffer.from(bytes).readBigUInt64LE(0));
  report(
    t,
    'safetensors',
    fuzz(3, mutator(bytes, [[0, headerEnd]]), (b) => readSafetensors(b)),
  );
  report(
    t,
    'safetensors via loadCheckpoint',
    fuzz(4, mutator(bytes, [[0, 16]]), (b) => loadCheckpoint(b)),
  );
});

t.test('fuzz: legacy checkpoint', { skip: pythonUnavailable(['torch']) }, async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'legacy.pt');
  runPython([
    '-c',
    `import torch, collections; torch.manual_seed(0); sd = collections.OrderedDict(w=torch.randn(4, 3), b=torch.randn(3).to(torch.float16), n=torch.tensor(3)); sd['wt'] = sd['w'].T; torch.save({'state_dict': sd, 'epoch': 1}, ${JSON.stringify(file)}, _use_new_zipfile_serialization=False)`,
  ]);
  const bytes = new Uint8Array(readFileSync(file));
  t.equal(loadCheckpoint(bytes).size, 4, 'loads unmutated');
  report(
    t,
    'legacy',
    fuzz(5, mutator(bytes, [[0, bytes.length]]), (b) => loadCheckpoint(b)),
  );
});

t.test('fuzz: random opcode streams through the torch allow-list', async (t) => {
  // Grammar-aware: real opcodes with plausible operands and the globals torch files use, so
  // far more streams reach REDUCE/BUILD/persistent-load logic than random bytes would.
  const ops = [
    0x95, 0x28, 0x30, 0x31, 0x32, 0x4e, 0x88, 0x89, 0x4a, 0x4b, 0x4d, 0x8a, 0x47, 0x49, 0x58, 0x8c, 0x42, 0x43, 0x29, 0x85, 0x86, 0x87, 0x74, 0x5d, 0x6c, 0x7d,
    0x64, 0x8f, 0x91, 0x61, 0x65, 0x73, 0x75, 0x90, 0x71, 0x94, 0x68, 0x63, 0x93, 0x52, 0x81, 0x92, 0x69, 0x6f, 0x62, 0x51,
  ];
  const globals = [
    'collections\nOrderedDict\n',
    'torch._utils\n_rebuild_tensor_v2\n',
    'torch\nFloatStorage\n',
    'os\nsystem\n',
    'builtins\nset\n',
    'torch._utils\n_rebuild_parameter\n',
    'torch._tensor\n_rebuild_from_type_v2\n',
    'torch\nTensor\n',
    '_codecs\nencode\n',
    'torch\nSize\n',
    'torch._utils\n_rebuild_tensor_v3\n',
    'torch\nuint16\n',
  ];
  const strings = ['storage', 'cpu', '0', 'w', 'latin1', 'state_dict'];
  const mutate: Mutator = (rand) => {
    const pick = (n: number): number => Math.floor(rand() * n);
    const out: number[] = [0x80, 2];
    for (let j = 1 + pick(40); j > 0; j--) {
      const op = ops[pick(ops.length)]!;
      out.push(op);
      if (op === 0x63 || op === 0x69) out.push(...Buffer.from(globals[pick(globals.length)]!));
      else if (op === 0x49) out.push(...Buffer.from(`${pick(9)}\n`));
      else if (op === 0x8c || op === 0x43) {
        const s = strings[pick(strings.length)]!;
        out.push(s.length, ...Buffer.from(s));
      } else if (op === 0x4b || op === 0x71 || op === 0x68) out.push(pick(6));
      else for (let q = pick(3); q > 0; q--) out.push(pick(256));
    }
    out.push(0x2e);
    return Uint8Array.from(out);
  };
  const load = (b: Uint8Array): unknown => {
    const table = new StorageTable(() => new Uint8Array(12), true);
    return extractStateDict(unpickle(b, { globals: torchGlobals(), persistentLoad: table.persistentLoad }));
  };
  report(t, 'opcode streams', fuzz(6, mutate, load));
});
