import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CheckpointError,
  Opaque,
  PyDict,
  PyTuple,
  Refused,
  TorchTensor,
  extractStateDict,
  loadCheckpoint,
  readTorchCheckpoint,
  sniffCheckpoint,
  unpickle,
} from '../../lib/checkpoint-formats/index.js';
import type { PyValue } from '../../lib/checkpoint-formats/index.js';
import { torchGlobals as torchGlobalsForTest } from '../../lib/checkpoint-formats/torch-globals.js';
import { FIXTURES, diffExpected, pythonUnavailable, runPython, tempDir, bytesOf } from './fixtures/helpers.js';
import type { ExpectedTensor } from './fixtures/helpers.js';
import { PickleBuilder, f32Bytes, pushTensor, torchZip } from './fixtures/builders.js';

interface Case {
  file: string;
  tensors: Record<string, ExpectedTensor> | null;
  refused: string | null;
}

t.test('checkpoints written by the pinned PyTorch', { skip: pythonUnavailable(['torch']) }, async (t) => {
  const dir = tempDir(t);
  runPython([join(FIXTURES, 'torch_fixtures.py'), dir]);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, Case>;
  const bins = join(dir, 'bins');
  const load = (name: string): Uint8Array => readFileSync(join(dir, manifest[name]!.file));

  for (const [name, c] of Object.entries(manifest)) {
    t.test(name, async (t) => {
      const bytes = load(name);
      if (c.refused) {
        t.throws(() => loadCheckpoint(bytes), { name: 'CheckpointError', code: 'refused', message: new RegExp(c.refused.replace('.', '\\.')) });
        return;
      }
      const got = loadCheckpoint(bytes);
      t.same([...got.keys()], Object.keys(c.tensors!), 'names, in file order');
      for (const [k, want] of Object.entries(c.tensors!)) t.equal(diffExpected(got.get(k), want, bins), undefined, `${k} bit-exact`);
    });
  }

  t.test('formats are sniffed', async (t) => {
    t.equal(sniffCheckpoint(load('dtypes')), 'torch-zip');
    t.equal(sniffCheckpoint(load('dtypes_legacy')), 'torch-legacy');
    t.equal(readTorchCheckpoint(load('dtypes_legacy_p5')).format, 'legacy');
  });

  t.test('aliased entries are separate copies with equal data', async (t) => {
    for (const name of ['views', 'views_legacy']) {
      const sd = loadCheckpoint(load(name));
      const base = sd.get('base')!;
      const alias = sd.get('alias')!;
      t.not(base.data, alias.data, `${name}: no shared buffer`);
      t.same(bytesOf(base), bytesOf(alias));
      (base.data as Float32Array)[0] = 99;
      t.equal((alias.data as Float32Array)[0], 0, `${name}: mutating one leaves the other`);
    }
  });

  t.test('a whole pickled module beside model_state: tensors yes, module refused', async (t) => {
    const { root } = readTorchCheckpoint(load('model_state'));
    t.ok(root instanceof PyDict);
    const model = (root as PyDict).get('model');
    t.ok(model instanceof Refused, 'the module object is an inert Refused marker');
    t.equal((model as Refused).qualname, '__main__.Net');
    t.throws(() => extractStateDict(root, { keys: ['model'] }), { code: 'refused', message: /asks to instantiate __main__\.Net/ });
  });

  t.test('OrderedDict _metadata (BUILD state) is kept off the tensor map', async (t) => {
    const { root } = readTorchCheckpoint(load('ordered'));
    t.ok(root instanceof PyDict && root.ordered && root.state instanceof PyDict, 'state dict carries its _metadata');
    t.ok(loadCheckpoint(load('ordered')).has('bn.num_batches_tracked'));
  });
});

t.test('hand-made zip checkpoints', async (t) => {
  const storage = { '0': f32Bytes([1, 2, 3, 4, 5, 6]) };
  const one = (size: number[], stride: number[], offset = 0, numel = 6): Uint8Array => {
    const p = new PickleBuilder().proto(2).emptyDict().str('w');
    pushTensor(p, '0', numel, offset, size, stride);
    return torchZip(p.setitem().stop().bytes(), storage);
  };

  t.test('strided view with offset', async (t) => {
    const w = loadCheckpoint(one([2, 2], [1, 3], 1)).get('w')!;
    t.same(Array.from(w.data as Float32Array), [2, 5, 3, 6]);
    t.same(w.shape, [2, 2]);
  });
  t.test('geometry past the storage is refused before reading', async (t) => {
    t.throws(() => readTorchCheckpoint(one([7], [1])), { code: 'bounds' });
    t.throws(() => readTorchCheckpoint(one([2, 2], [3, 2], 1)), { code: 'bounds' });
    t.throws(() => readTorchCheckpoint(one([1], [1], 6)), { code: 'bounds' });
  });
  t.test('zero-size tensors may sit anywhere', async (t) => {
    t.same(loadCheckpoint(one([0, 5], [5, 1], 6)).get('w')!.shape, [0, 5]);
  });
  t.test('storage shorter than declared', async (t) => {
    t.throws(() => loadCheckpoint(one([6], [1], 0, 8)), { code: 'corrupt', message: /24 bytes stored, 32 declared/ });
  });
  t.test('missing storage entry', async (t) => {
    const p = new PickleBuilder().proto(2).emptyDict().str('w');
    pushTensor(p, '7', 6, 0, [6], [1]);
    t.throws(() => loadCheckpoint(torchZip(p.setitem().stop().bytes(), storage)), { code: 'corrupt', message: /storage 7/ });
  });
  t.test('expanded views are bounded by the output budget', async (t) => {
    const big = one([100000, 100000], [0, 0]);
    t.throws(() => loadCheckpoint(big), { code: 'limit', message: /output budget/ });
    t.equal(loadCheckpoint(one([3, 4], [0, 1])).get('w')!.data.length, 12, 'small expansions are fine');
    t.throws(() => loadCheckpoint(one([3, 4], [0, 1]), { maxOutputBytes: 40 }), { code: 'limit' });
  });
  t.test('a storage key reused with another size is corrupt', async (t) => {
    const p = new PickleBuilder().proto(2).emptyDict().str('a');
    pushTensor(p, '0', 6, 0, [6], [1]).setitem().str('b');
    pushTensor(p, '0', 5, 0, [5], [1]).setitem().stop();
    t.throws(() => readTorchCheckpoint(torchZip(p.bytes(), storage)), { code: 'corrupt' });
  });
  t.test('no state dict: the error lists what is there', async (t) => {
    const p = new PickleBuilder().proto(2).emptyDict().str('epoch').int(3).setitem().str('lr').int(1).setitem().stop();
    t.throws(() => loadCheckpoint(torchZip(p.bytes())), { code: 'no-state-dict', message: /"epoch", "lr"/ });
  });
  t.test('keys option chooses where to look', async (t) => {
    const p = new PickleBuilder().proto(2).emptyDict().str('ema');
    p.emptyDict().str('w');
    pushTensor(p, '0', 6, 0, [6], [1]).setitem().setitem().str('other').int(1).setitem().stop();
    const bytes = torchZip(p.bytes(), storage);
    t.same([...loadCheckpoint(bytes, { keys: ['ema'] }).keys()], ['w']);
    t.throws(() => loadCheckpoint(bytes), { code: 'no-state-dict' }, 'not a default key, and "other" is no tensor');
  });
  t.test('non-zip, non-pickle bytes', async (t) => {
    t.throws(() => loadCheckpoint(new Uint8Array([1, 2, 3, 4, 5])), CheckpointError);
    t.throws(() => readTorchCheckpoint(new Uint8Array(300)), { code: 'format' });
  });
  t.test('tensor values are TorchTensor until extracted', async (t) => {
    const { root } = readTorchCheckpoint(one([6], [1]));
    const w = (root as PyDict).get('w');
    t.ok(w instanceof TorchTensor);
    t.ok(!(w instanceof Opaque));
  });
});

/** magic, protocol version, sys_info, object, storage keys, then per storage: u64 count + bytes. */
function legacyFile(object: Uint8Array, keys: string[], data: Uint8Array[]): Uint8Array {
  const magic = new PickleBuilder().proto(2).op(0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19).stop().bytes();
  const version = new PickleBuilder().proto(2).op(0x4d, 0xe9, 0x03).stop().bytes();
  const sysInfo = new PickleBuilder().proto(2).emptyDict().str('little_endian').op(0x88).setitem().stop().bytes();
  const k = new PickleBuilder().proto(2).emptyList().mark();
  for (const key of keys) k.str(key);
  const parts = [magic, version, sysInfo, object, k.op(0x65).stop().bytes()];
  for (const d of data) {
    const n = Buffer.alloc(8);
    n.writeBigUInt64LE(BigInt(d.length / 4));
    parts.push(new Uint8Array(n), d);
  }
  return new Uint8Array(Buffer.concat(parts));
}

t.test('hand-made legacy checkpoints', async (t) => {
  // A pre-1.0 style storage view: ('storage', FloatStorage, 'v', 'cpu', 2, ('v', 1, 2)) is root[1:3].
  const tensor = (p: PickleBuilder, view: [string, number, number] | null, numel = 4): PickleBuilder => {
    p.global('torch._utils', '_rebuild_tensor_v2').mark().mark().str('storage').global('torch', 'FloatStorage').str('root').str('cpu').int(numel);
    if (view) p.mark().str(view[0]).int(view[1]).int(view[2]).tuple();
    else p.none();
    p.tuple()
      .binpersid()
      .int(0)
      .mark()
      .int(view ? view[2] : numel)
      .tuple()
      .mark()
      .int(1)
      .tuple()
      .newfalse()
      .global('collections', 'OrderedDict')
      .emptyTuple()
      .reduce()
      .tuple()
      .reduce();
    return p;
  };
  const object = (view: [string, number, number], numel = 4): Uint8Array => {
    const p = new PickleBuilder().proto(2).emptyDict().str('state_dict').emptyDict().str('all');
    tensor(p, null, numel).setitem().str('mid');
    tensor(p, view, numel)
      .setitem()
      .setitem()
      // A 'module' persistent id yields the (inert) class it names.
      .str('cls')
      .mark()
      .str('module')
      .global('mypkg', 'Net')
      .str('net.py')
      .str('class Net: ...')
      .tuple()
      .binpersid()
      .setitem();
    return p.stop().bytes();
  };
  const data = f32Bytes([1, 2, 3, 4]);
  const file = legacyFile(object(['v', 1, 2]), ['root'], [data]);
  t.equal(sniffCheckpoint(file), 'torch-legacy');
  const { root } = readTorchCheckpoint(file);
  const cls = (root as PyDict).get('cls');
  t.ok(cls instanceof Opaque && cls.qualname === 'mypkg.Net', "a 'module' record yields its class, inert");
  const sd = extractStateDict(root);
  t.same(Array.from(sd.get('all')!.data as Float32Array), [1, 2, 3, 4]);
  t.same(Array.from(sd.get('mid')!.data as Float32Array), [2, 3], 'storage view = root[1:3]');

  t.throws(() => readTorchCheckpoint(legacyFile(object(['v', 3, 2]), ['root'], [data])), { code: 'bounds' }, 'view outside its root');
  t.throws(() => readTorchCheckpoint(legacyFile(object(['v', 1, 2]), ['root'], [f32Bytes([1, 2, 3])])), { code: 'corrupt', message: /3 elements/ });
  t.throws(() => readTorchCheckpoint(legacyFile(object(['v', 1, 2]), ['root', 'other'], [data, data])), { code: 'corrupt', message: /never uses/ });
  t.throws(() => readTorchCheckpoint(legacyFile(object(['v', 1, 2]), ['root'], [data]).subarray(0, file.length - 2)), { code: 'truncated' });
  t.throws(() => loadCheckpoint(legacyFile(object(['v', 1, 2]), [], [])), { code: 'corrupt', message: /no data section/ });
  const badMagic = new Uint8Array(file);
  badMagic[5] = badMagic[5]! ^ 1;
  t.throws(() => readTorchCheckpoint(badMagic), { code: 'format', message: /magic/ });
  const badVersion = new Uint8Array(file);
  badVersion[badVersion.indexOf(0xe9)] = 0xea;
  t.throws(() => readTorchCheckpoint(badVersion), { code: 'unsupported', message: /torch\.save\(sd/ });
  const tar = new Uint8Array(1024);
  tar.set(Buffer.from('ustar'), 257);
  t.throws(() => readTorchCheckpoint(tar), { code: 'unsupported', message: /tar-based.*python -c/ });
});

t.test('torch globals used with odd arguments', async (t) => {
  const size = new PickleBuilder().proto(2).global('torch', 'Size').mark().int(2).int(3).tuple().op(0x85).reduce().stop();
  t.same((unpickle(size.bytes(), { globals: torchGlobalsForTest() }) as PyTuple).items, [2, 3], 'torch.Size is a tuple');
  // _rebuild_from_type_v2 to a user subclass, or via a non-allow-listed function, is refused.
  const fromType = (func: [string, string], type: [string, string]): PyValue =>
    unpickle(
      new PickleBuilder()
        .proto(2)
        .global('torch._tensor', '_rebuild_from_type_v2')
        .mark()
        .global(...func)
        .global(...type)
        .emptyTuple()
        .emptyDict()
        .tuple()
        .reduce()
        .stop()
        .bytes(),
      { globals: torchGlobalsForTest() },
    );
  t.match(fromType(['torch._utils', '_rebuild_tensor_v2'], ['mylib', 'Fancy']), { qualname: 'mylib.Fancy', action: 'instantiate' });
  t.match(fromType(['os', 'system'], ['torch', 'Tensor']), { qualname: 'os.system', action: 'call' });
  t.throws(() => fromType(['torch._utils', '_rebuild_tensor_v2'], ['torch', 'FloatStorage']), { code: 'pickle' });
  // NEWOBJ_EX with keyword arguments to an allow-listed class is not something we emulate.
  const ex = new PickleBuilder().proto(4).global('collections', 'OrderedDict').emptyTuple().emptyDict().str('a').int(1).setitem().op(0x92).stop();
  t.throws(() => unpickle(ex.bytes()), { code: 'unsupported', message: /keyword/ });
  const exOk = new PickleBuilder().proto(4).global('collections', 'OrderedDict').emptyTuple().emptyDict().op(0x92).stop();
  t.ok(unpickle(exOk.bytes()) instanceof PyDict);
});
