import t from 'tap';
import type { Test } from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CheckpointError,
  PyDict,
  Refused,
  Opaque,
  extractStateDict,
  loadCheckpoint,
  readTorchCheckpoint,
  unpickle,
} from '../../lib/checkpoint-formats/index.js';
import { FIXTURES, pythonUnavailable, runPython, tempDir } from './fixtures/helpers.js';
import { PickleBuilder, f32Bytes, pushTensor, torchZip } from './fixtures/builders.js';

/** Everything we try must fail with code 'refused' naming the global, and run nothing. */
function expectRefused(t: Test, f: () => unknown, qualname: string, what: string): void {
  try {
    f();
    t.fail(`${what}: loaded without error`);
  } catch (e) {
    t.ok(e instanceof CheckpointError && e.code === 'refused' && e.message.includes(qualname), `${what}: refused naming ${qualname}`, {
      error: e instanceof Error ? e.message : String(e),
    });
  }
}

const marker = (dir: string): string => join(dir, 'PWNED');

t.test('hand-built hostile pickles', async (t) => {
  const dir = tempDir(t);
  const cmd = `touch ${marker(dir)}`;
  const variants: [string, string, Uint8Array][] = [
    ['REDUCE os.system', 'os.system', new PickleBuilder().proto(2).global('os', 'system').str(cmd).op(0x85).reduce().stop().bytes()],
    ['REDUCE posix.system', 'posix.system', new PickleBuilder().proto(2).global('posix', 'system').str(cmd).op(0x85).reduce().stop().bytes()],
    [
      'STACK_GLOBAL builtins.eval',
      'builtins.eval',
      new PickleBuilder().proto(4).stackGlobal('builtins', 'eval').str(`__import__('os').system('${cmd}')`).op(0x85).reduce().stop().bytes(),
    ],
    ['py2 __builtin__.exec', 'builtins.exec', new PickleBuilder().proto(2).global('__builtin__', 'exec').str('import os').op(0x85).reduce().stop().bytes()],
    [
      'NEWOBJ subprocess.Popen',
      'subprocess.Popen',
      new PickleBuilder().proto(2).global('subprocess', 'Popen').mark().str('touch').str(marker(dir)).op(0x6c).op(0x85).newobj().stop().bytes(),
    ],
    ['INST os.system', 'os.system', new PickleBuilder().mark().str(cmd).op(0x69).raw(Buffer.from('os\nsystem\n')).stop().bytes()],
    ['OBJ subprocess.Popen', 'subprocess.Popen', new PickleBuilder().proto(2).mark().global('subprocess', 'Popen').str(cmd).op(0x6f).stop().bytes()],
    ['BUILD on a class', 'os.system', new PickleBuilder().proto(2).global('os', 'system').emptyDict().build().stop().bytes()],
    [
      'getattr chain',
      'builtins.getattr',
      new PickleBuilder().proto(2).global('builtins', 'getattr').global('os', 'path').str('system').op(0x86).reduce().str(cmd).op(0x85).reduce().stop().bytes(),
    ],
    [
      'copyreg._reconstructor',
      'copyreg._reconstructor',
      new PickleBuilder()
        .proto(2)
        .global('copy_reg', '_reconstructor')
        .global('os', 'system')
        .global('builtins', 'object')
        .none()
        .op(0x87)
        .reduce()
        .stop()
        .bytes(),
    ],
    ['EXT1 extension code', 'copyreg.extension_7', new PickleBuilder().proto(2).op(0x82, 7).str(cmd).op(0x85).reduce().stop().bytes()],
  ];
  for (const [what, qualname, pkl] of variants) {
    const root = unpickle(pkl);
    t.ok(root instanceof Refused || root instanceof Opaque, `${what}: yields an inert marker`);
    expectRefused(t, () => extractStateDict(root), qualname, `${what} (bare)`);
    expectRefused(t, () => loadCheckpoint(torchZip(pkl)), qualname, `${what} (as torch data.pkl)`);
  }

  // Hostile value inside an otherwise valid state dict: refused, not silently dropped.
  const p = new PickleBuilder().proto(2).emptyDict().str('state_dict').emptyDict().str('w');
  pushTensor(p, '0', 2, 0, [2], [1]).setitem().str('x').global('os', 'system').str(cmd).op(0x85).reduce().setitem().setitem().stop();
  expectRefused(t, () => loadCheckpoint(torchZip(p.bytes(), { '0': f32Bytes([1, 2]) })), 'os.system', 'entry of state_dict');

  // Refused values passed into allow-listed constructors stay refused (no crash, no call).
  const q = new PickleBuilder().proto(2).global('collections', 'OrderedDict').global('os', 'system').str(cmd).op(0x85).reduce().op(0x85).reduce().stop();
  expectRefused(t, () => extractStateDict(unpickle(q.bytes())), 'os.system', 'OrderedDict(os.system(...))');

  // ...but a state dict elsewhere in the same file still loads.
  const r = new PickleBuilder()
    .proto(2)
    .emptyDict()
    .str('model')
    .global('evil', 'Model')
    .emptyTuple()
    .newobj()
    .emptyDict()
    .build()
    .setitem()
    .str('model_state')
    .emptyDict()
    .str('w');
  pushTensor(r, '0', 2, 0, [2], [1]).setitem().setitem().stop();
  const sd = loadCheckpoint(torchZip(r.bytes(), { '0': f32Bytes([1, 2]) }));
  t.same([...sd.keys()], ['w'], 'model_state beside a refused module');
  const { root } = readTorchCheckpoint(torchZip(r.bytes(), { '0': f32Bytes([1, 2]) }));
  t.match(((root as PyDict).get('model') as Refused).reason, 'the pickle asks to instantiate evil.Model');

  t.notOk(existsSync(marker(dir)), 'the marker file never appeared');
});

t.test('hostile pickles written by Python', { skip: pythonUnavailable(['torch']) }, async (t) => {
  const dir = tempDir(t);
  runPython([join(FIXTURES, 'hostile_pickles.py'), dir, marker(dir)]);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, string>;
  for (const [name, qualname] of Object.entries(manifest)) {
    const file = (suffix: string): Uint8Array => readFileSync(join(dir, `${name}${suffix}`));
    expectRefused(t, () => extractStateDict(unpickle(file('.pkl'))), qualname, `${name}.pkl`);
    expectRefused(t, () => loadCheckpoint(file('.pt')), qualname, `${name}.pt`);
    expectRefused(t, () => loadCheckpoint(file('_root.pt')), qualname, `${name}_root.pt`);
    expectRefused(t, () => loadCheckpoint(file('_legacy.pt')), qualname, `${name}_legacy.pt`);
  }
  t.notOk(existsSync(marker(dir)), 'the marker file never appeared');
});
