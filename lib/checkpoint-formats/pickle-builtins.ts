/**
 * The pure-data Python builtins the restricted unpickler may "call" (ordinary pickles, and
 * torch.save at protocol 2, use them for dicts, sets and bytes), and Python 3's fix_imports
 * renames for protocol < 3 streams. Each constructor here only builds one of our value types
 * from validated arguments.
 */
import { check } from './checkpoint-errors.js';
import { PyBytes, PyCallable, PyDict, PySet, argError, asSequence, typeName } from './py-values.js';
import type { PyValue } from './py-values.js';

/** Allow-listed globals, keyed "module.name" (after Python 2 -> 3 renames). */
export type GlobalTable = ReadonlyMap<string, PyValue>;

function bytesOfArgs(fn: string, args: readonly PyValue[]): PyBytes {
  if (args.length === 0) return new PyBytes(new Uint8Array(0), fn.endsWith('bytearray'));
  const [s, enc] = args;
  // Share, not copy: nothing mutates PyBytes data, and a copy per call would let a pickle
  // multiply one large payload by calling bytes() on it over and over.
  if (args.length === 1 && s instanceof PyBytes) return new PyBytes(s.data, fn.endsWith('bytearray'));
  if (typeof s === 'string' && typeof enc === 'string') {
    const e = enc.toLowerCase().replace('_', '-');
    if (e === 'latin1' || e === 'latin-1' || e === 'iso-8859-1') {
      const out = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 255) throw argError(fn, 'character outside latin-1');
        out[i] = c;
      }
      return new PyBytes(out, fn.endsWith('bytearray'));
    }
    if (e === 'utf-8' || e === 'utf8' || e === 'ascii') return new PyBytes(new TextEncoder().encode(s), fn.endsWith('bytearray'));
  }
  throw argError(fn, `unsupported arguments (${args.map(typeName).join(', ')})`);
}

function dictOfArgs(fn: string, ordered: boolean, args: readonly PyValue[]): PyDict {
  const d = new PyDict(ordered);
  if (args.length === 0) return d;
  check(args.length === 1, 'pickle', `${fn}: expected at most one argument`);
  const src = args[0];
  if (src instanceof PyDict) {
    for (const [k, v] of src.entries()) d.set(k, v);
    return d;
  }
  const seq = asSequence(src);
  if (!seq) throw argError(fn, `cannot build from ${typeName(src)}`);
  for (const pair of seq) {
    const kv = asSequence(pair);
    if (!kv || kv.length !== 2) throw argError(fn, 'items must be (key, value) pairs');
    d.set(kv[0]!, kv[1]!);
  }
  return d;
}

function setOfArgs(fn: string, frozen: boolean, args: readonly PyValue[]): PySet {
  const s = new PySet(frozen);
  if (args.length === 0) return s;
  const src = args[0];
  const items = src instanceof PySet ? [...src.values()] : asSequence(src);
  if (args.length !== 1 || !items) throw argError(fn, `cannot build from ${typeName(src)}`);
  for (const v of items) s.add(v);
  return s;
}

function builtin(module: string, name: string, make: (fn: string, args: readonly PyValue[]) => PyValue): [string, PyCallable] {
  const fn = `${module}.${name}`;
  const f = (args: readonly PyValue[]): PyValue => make(fn, args);
  return [fn, new PyCallable(module, name, f, f)];
}

/** Pure-data builtins that ordinary pickles (and torch.save at protocol 2) use. */
export const BUILTIN_GLOBALS: GlobalTable = new Map<string, PyValue>([
  builtin('collections', 'OrderedDict', (fn, a) => dictOfArgs(fn, true, a)),
  builtin('builtins', 'dict', (fn, a) => dictOfArgs(fn, false, a)),
  builtin('builtins', 'set', (fn, a) => setOfArgs(fn, false, a)),
  builtin('builtins', 'frozenset', (fn, a) => setOfArgs(fn, true, a)),
  builtin('builtins', 'bytes', bytesOfArgs),
  builtin('builtins', 'bytearray', bytesOfArgs),
  // Protocol < 3 pickles bytes as _codecs.encode(latin1_text, 'latin1').
  builtin('_codecs', 'encode', bytesOfArgs),
]);

/**
 * Python 2 names that Python 3's unpickler maps to their new homes for protocols < 3
 * (fix_imports). We apply the same mapping so the allow-list matches (`__builtin__.set`) and a
 * refusal names what Python would really have run (`commands.Popen` is subprocess.Popen).
 */
const MODULE_RENAMES: Record<string, string> = {
  __builtin__: 'builtins',
  exceptions: 'builtins',
  copy_reg: 'copyreg',
  commands: 'subprocess',
  cPickle: 'pickle',
  thread: '_thread',
  dummy_thread: '_dummy_thread',
  Queue: 'queue',
  SocketServer: 'socketserver',
  ConfigParser: 'configparser',
  repr: 'reprlib',
  httplib: 'http.client',
  urllib2: 'urllib.request',
  urlparse: 'urllib.parse',
  robotparser: 'urllib.robotparser',
  xmlrpclib: 'xmlrpc.client',
  SimpleXMLRPCServer: 'xmlrpc.server',
  DocXMLRPCServer: 'xmlrpc.server',
  BaseHTTPServer: 'http.server',
  SimpleHTTPServer: 'http.server',
  CGIHTTPServer: 'http.server',
  Cookie: 'http.cookies',
  cookielib: 'http.cookiejar',
  htmlentitydefs: 'html.entities',
  HTMLParser: 'html.parser',
  markupbase: '_markupbase',
  _winreg: 'winreg',
  anydbm: 'dbm',
  whichdb: 'dbm',
  dbhash: 'dbm.bsd',
  dumbdbm: 'dbm.dumb',
  dbm: 'dbm.ndbm',
  gdbm: 'dbm.gnu',
  UserDict: 'collections',
  UserList: 'collections',
  UserString: 'collections',
  _abcoll: 'collections.abc',
  StringIO: 'io',
  cStringIO: 'io',
  _elementtree: 'xml.etree.ElementTree',
  'test.test_support': 'test.support',
  Tkinter: 'tkinter',
  Tkconstants: 'tkinter.constants',
  ttk: 'tkinter.ttk',
  Tix: 'tkinter.tix',
  tkFont: 'tkinter.font',
  tkFileDialog: 'tkinter.filedialog',
  FileDialog: 'tkinter.filedialog',
  tkSimpleDialog: 'tkinter.simpledialog',
  SimpleDialog: 'tkinter.simpledialog',
  tkColorChooser: 'tkinter.colorchooser',
  tkCommonDialog: 'tkinter.commondialog',
  Dialog: 'tkinter.dialog',
  Tkdnd: 'tkinter.dnd',
  tkMessageBox: 'tkinter.messagebox',
  ScrolledText: 'tkinter.scrolledtext',
};
/** Individual Python 2 builtins that moved or were renamed. */
const NAME_RENAMES: Record<string, [string, string]> = {
  '__builtin__.xrange': ['builtins', 'range'],
  '__builtin__.reduce': ['functools', 'reduce'],
  '__builtin__.intern': ['sys', 'intern'],
  '__builtin__.unichr': ['builtins', 'chr'],
  '__builtin__.unicode': ['builtins', 'str'],
  '__builtin__.long': ['builtins', 'int'],
  '__builtin__.basestring': ['builtins', 'str'],
  '__builtin__.raw_input': ['builtins', 'input'],
  '__builtin__.execfile': ['builtins', 'exec'],
};

/** The (module, name) Python 3 would import for a GLOBAL, given the stream's protocol. */
export function fixImports(module: string, name: string, protocol: number): [string, string] {
  if (protocol >= 3) return [module, name];
  const renamed = NAME_RENAMES[`${module}.${name}`];
  if (renamed) return renamed;
  return [Object.prototype.hasOwnProperty.call(MODULE_RENAMES, module) ? MODULE_RENAMES[module]! : module, name];
}
