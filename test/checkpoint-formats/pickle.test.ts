import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CheckpointError,
  Opaque,
  PyBytes,
  PyDict,
  PyList,
  PySet,
  PyTuple,
  Refused,
  extractStateDict,
  unpickle,
  unpickleAt,
} from '../../lib/checkpoint-formats/index.js';
import type { PyValue } from '../../lib/checkpoint-formats/index.js';
import { FIXTURES, pythonUnavailable, runPython, tempDir } from './fixtures/helpers.js';
import { PickleBuilder } from './fixtures/builders.js';

type Tagged = null | boolean | string | Tagged[] | { [k: string]: unknown };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The same tagged form pickle_fixtures.py writes. Python float vs int is told apart as well as JS allows. */
function tag(v: PyValue): Tagged {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return { int: v.toString() };
  if (typeof v === 'number') {
    if (Number.isInteger(v) && !Object.is(v, -0) && Math.abs(v) < 2 ** 53) return { int: String(v) };
    return { float: Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : v };
  }
  if (v instanceof PyBytes) return v.mutable ? { bytearray: hex(v.data) } : { bytes: hex(v.data) };
  if (v instanceof PyList) return v.items.map(tag);
  if (v instanceof PyTuple) return { tuple: v.items.map(tag) };
  if (v instanceof PyDict) return { dict: [...v.entries()].map(([k, x]) => [tag(k), tag(x)]) };
  if (v instanceof PySet)
    return { [v.frozen ? 'frozenset' : 'set']: [...v.values()].map(tag).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) };
  return { other: v.describe() };
}

t.test('ordinary pickles at protocols 0-5 match what Python pickled', { skip: pythonUnavailable([]) }, async (t) => {
  const dir = tempDir(t);
  runPython([join(FIXTURES, 'pickle_fixtures.py'), dir]);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Tagged;
  for (let p = 0; p <= 5; p++) {
    // Python sorts set members by json.dumps; do the same on our side (in tag()) with JSON.stringify.
    t.same(tag(unpickle(readFileSync(join(dir, `p${p}.pkl`)))), expected, `protocol ${p}`);
  }
});

t.test('memo sharing and self-reference', async (t) => {
  // l = []; l.append(l); pickle.dumps([l, l], 2)
  const p = new PickleBuilder().proto(2).emptyList().binput(0).mark().emptyList().binput(1).binget(1).op(0x61).binget(1).op(0x65).stop();
  const outer = unpickle(p.bytes()) as PyList;
  const inner = outer.items[0] as PyList;
  t.equal(outer.items[1], inner, 'memoised object is shared');
  t.equal(inner.items[0], inner, 'a list can contain itself');
  t.throws(() => extractStateDict(outer), { code: 'no-state-dict' });
  // d = {}; d['x'] = d; {'state_dict': d}
  const q = new PickleBuilder().proto(2).emptyDict().str('state_dict').emptyDict().binput(0).str('x').binget(0).setitem().setitem().stop();
  t.throws(() => extractStateDict(unpickle(q.bytes())), { code: 'no-state-dict', message: /contains itself/ });
});

t.test('opcodes Python 3 no longer writes', async (t) => {
  const b = (...parts: (number | string)[]): Uint8Array => Uint8Array.from(parts.flatMap((x) => (typeof x === 'number' ? [x] : [...Buffer.from(x, 'latin1')])));
  t.equal(unpickle(b("S'a\\nb\\x41\\101\\'\"'\n.")), 'a\nbAA\'"', 'STRING with escapes');
  t.equal(unpickle(b('T', 3, 0, 0, 0, 'a\xffc', '.')), 'a\xffc', 'BINSTRING is latin-1');
  t.equal(unpickle(b('U', 2, 'hi', '.')), 'hi', 'SHORT_BINSTRING');
  t.equal(unpickle(b('I01\n.')), true, 'INT 01 is True');
  t.equal(unpickle(b('I-42\n.')), -42);
  t.equal(unpickle(b('L123456789012345678901234567890L\n.')), 123456789012345678901234567890n, 'LONG text');
  t.equal(unpickle(b('F-1.5e3\n.')), -1500);
  t.ok(Number.isNaN(unpickle(b('Fnan\n.')) as number));
  t.equal(unpickle(b('Vcaf\\u00e9 \\U0001f600\n.')), 'café 😀', 'UNICODE raw-unicode-escape');
  t.same(tag(unpickle(b("(I1\nI2\nl(dp0\nS'k'\np1\ng1\ns."))), { dict: [['k', 'k']] }, 'LIST, DICT, PUT, GET, SETITEM (STOP returns the top: the dict)');
  t.equal(unpickle(b('N', 'N', '0', '.')), null, 'POP');
  t.equal(unpickle(b('N', '(', 'N', 'N', '1', '.')), null, 'POP_MARK');
  t.same(tag(unpickle(b(0x80, 2, 'K', 5, '2', 0x86, '.'))), { tuple: [{ int: '5' }, { int: '5' }] }, 'DUP');
  t.same(tag(unpickle(b(0x80, 4, 0x8f, '(', 'K', 1, 0x90, '.'))), { set: [{ int: '1' }] }, 'EMPTY_SET/ADDITEMS');
  t.same(unpickle(b(0x80, 2, 0x8a, 0, '.')), 0, 'LONG1 of zero length');
  t.equal(unpickle(b(0x80, 2, 0x8a, 2, 0xff, 0x7f, '.')), 32767);
  t.equal(unpickle(b(0x80, 2, 0x8a, 1, 0xff, '.')), -1);
  t.equal(unpickle(b(0x80, 2, 'P', 'id7\n', '.'), { persistentLoad: (pid) => `got ${String(pid)}` }), 'got id7', 'PERSID');
  t.throws(() => unpickle(b(0x80, 2, 'P', 'id7\n', '.')), { code: 'unsupported' }, 'persistent ids need a handler');
  t.throws(() => unpickle(b(0x80, 5, 0x97, '.')), { code: 'unsupported', message: /out-of-band/ });
  t.ok(unpickle(b(0x80, 2, 0x82, 9, '.')) instanceof Opaque, 'EXT1 stays opaque');
  t.ok(unpickle(b(0x80, 2, 'c', 'torch\nFloatStorage\n', '.')) instanceof Opaque, 'no torch globals unless the caller allows them');
});

t.test('consecutive pickles', async (t) => {
  const one = new PickleBuilder().proto(2).int(1).stop().bytes();
  const two = new PickleBuilder().proto(2).str('two').stop().bytes();
  const both = new Uint8Array([...one, ...two]);
  const r1 = unpickleAt(both, 0);
  t.same([r1.value, r1.end], [1, one.length]);
  t.equal(unpickleAt(both, r1.end).value, 'two');
});

t.test('malformed streams', async (t) => {
  const cases: [string, number[], string][] = [
    ['empty', [], 'truncated'],
    ['no STOP', [0x80, 2, 0x4e], 'truncated'],
    ['STOP on empty stack', [0x2e], 'pickle'],
    ['unknown opcode', [0x80, 2, 0xff], 'pickle'],
    ['protocol 6', [0x80, 6], 'unsupported'],
    ['BINGET unset', [0x68, 3, 0x2e], 'pickle'],
    ['TUPLE without MARK', [0x4e, 0x74, 0x2e], 'pickle'],
    ['pop through a MARK', [0x4e, 0x28, 0x85, 0x2e], 'pickle'],
    ['SETITEMS odd', [0x7d, 0x28, 0x4e, 0x75, 0x2e], 'pickle'],
    ['SETITEM on a list', [0x5d, 0x4e, 0x4e, 0x73, 0x2e], 'pickle'],
    ['APPEND to a dict', [0x7d, 0x4e, 0x61, 0x2e], 'pickle'],
    ['REDUCE non-tuple args', [0x80, 2, 0x63, ...Buffer.from('collections\nOrderedDict\n'), 0x4e, 0x52, 0x2e], 'pickle'],
    ['REDUCE on a string', [0x80, 2, 0x58, 1, 0, 0, 0, 0x61, 0x29, 0x52, 0x2e], 'pickle'],
    ['BUILD on an int', [0x4b, 1, 0x4e, 0x62, 0x2e], 'pickle'],
    ['BINUNICODE past the end', [0x58, 0xff, 0, 0, 0, 0x61], 'truncated'],
    ['BINUNICODE8 over 2^53', [0x8d, 0, 0, 0, 0, 0, 0, 0x40, 0], 'limit'],
    ['negative BINSTRING', [0x54, 0xff, 0xff, 0xff, 0xff], 'pickle'],
    ['negative LONG4', [0x8b, 0xff, 0xff, 0xff, 0xff], 'limit'],
    ['huge LONG4', [0x8b, 0, 0, 0, 0x10], 'limit'],
    ['bad INT text', [0x49, ...Buffer.from('12x\n.')], 'pickle'],
    ['INT without newline', [0x49, 0x31], 'truncated'],
    ['FRAME past the end', [0x80, 4, 0x95, 0xff, 0, 0, 0, 0, 0, 0, 0], 'truncated'],
    ['STACK_GLOBAL of ints', [0x80, 4, 0x4b, 1, 0x4b, 2, 0x93, 0x2e], 'pickle'],
    ['OrderedDict of garbage', [0x80, 2, 0x63, ...Buffer.from('collections\nOrderedDict\n'), 0x4b, 1, 0x85, 0x52, 0x2e], 'pickle'],
  ];
  for (const [what, bytes, code] of cases) t.throws(() => unpickle(Uint8Array.from(bytes)), { name: 'CheckpointError', code }, what);
});

t.test('resource limits', async (t) => {
  const rep = (n: number, ...op: number[]): number[] => Array.from({ length: n }, () => op).flat();
  const run = (bytes: number[], opts: object): unknown => unpickle(Uint8Array.from(bytes), opts);
  t.throws(() => run([0x4e, ...Array.from({ length: 20 }, (_, i) => [0x71, i]).flat(), 0x2e], { maxMemo: 10 }), { code: 'limit', message: /memo/ });
  t.throws(() => run([...rep(100, 0x4e), 0x2e], { maxStack: 50 }), { code: 'limit', message: /stack/ });
  t.throws(() => run([...rep(100, 0x28), 0x2e], { maxMarkDepth: 10 }), { code: 'limit', message: /MARK/ });
  t.throws(() => run([0x8c, 20, ...rep(20, 0x61), 0x2e], { maxStringBytes: 10 }), { code: 'limit' });
  t.throws(() => run([...rep(100, 0x5d, 0x30), 0x4e, 0x2e], { maxObjects: 50 }), { code: 'limit', message: /objects/ });

  // Calling an allow-listed constructor on one big memoised list over and over is charged per
  // element copied, so it hits the limit quickly instead of doing 2000 x 100,000 copies.
  const bigList = [0x80, 2, 0x28, ...rep(100000, 0x4e), 0x6c, 0x71, 0, 0x63, ...Buffer.from('builtins\nset\n'), 0x71, 1];
  const amplify = [...bigList, ...rep(2000, 0x68, 1, 0x68, 0, 0x85, 0x52, 0x30), 0x4e, 0x2e];
  const t0 = performance.now();
  t.throws(() => run(amplify, {}), { code: 'limit' }, 'repeated set(big_list) is bounded');
  t.ok(performance.now() - t0 < 2000, 'and fails fast');

  // A dict shared at both keys of its parent, 40 levels deep: 2^40 paths if flattened naively.
  const dag = [0x80, 2, 0x7d, 0x71, 0];
  for (let i = 1; i <= 40; i++) dag.push(0x7d, 0x71, i, 0x8c, 1, 0x61, 0x68, i - 1, 0x73, 0x8c, 1, 0x62, 0x68, i - 1, 0x73);
  dag.push(0x2e);
  const t1 = performance.now();
  t.throws(() => extractStateDict(unpickle(Uint8Array.from(dag))), { code: 'no-state-dict', message: /entries/ }, 'shared sub-dicts');
  t.ok(performance.now() - t1 < 5000, 'without exploring every path');

  // 200,000 nested TUPLE1s: no recursion anywhere, including when the tuple becomes a dict key.
  const deep = [0x80, 2, 0x7d, 0x4e, ...rep(200000, 0x85), 0x4e, 0x73, 0x2e];
  const d = unpickle(Uint8Array.from(deep)) as PyDict;
  t.equal(d.size, 1);
  t.throws(() => extractStateDict(d), { code: 'no-state-dict' });
});

t.test('refusal markers', async (t) => {
  const v = unpickle(new PickleBuilder().proto(2).global('os', 'system').str('x').op(0x85).reduce().stop().bytes());
  t.ok(v instanceof Refused);
  t.equal((v as Refused).reason, 'the pickle asks to call os.system');
  t.ok(new CheckpointError('refused', 'x').code === 'refused');
});
