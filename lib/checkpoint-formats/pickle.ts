/**
 * A restricted unpickler. It interprets the pickle opcode stream (protocols 0-5) as data only:
 *   - GLOBAL / STACK_GLOBAL resolve against an allow-list of constructors implemented here (or
 *     passed in by the caller, e.g. the torch rebuild functions); every other global becomes an
 *     inert `Opaque` marker.
 *   - REDUCE / NEWOBJ / BUILD / INST / OBJ on anything not allow-listed yield a `Refused` marker:
 *     nothing is imported, called or instantiated. Consumers decide later whether a refused
 *     value matters (a state dict that contains one is an error naming the global).
 *   - Every read is bounds-checked and the memo, stack, mark depth, string sizes and object
 *     count are capped, so no input can hang the reader or exhaust memory.
 *
 * Python ints become numbers (or bigints beyond 2^53); floats become numbers too, so a float
 * 3.0 and an int 3 are indistinguishable here - harmless for checkpoint metadata.
 */
import { CheckpointError, check } from './checkpoint-errors.js';
import { copyBytes, plainBytes } from './bytes.js';
import { BUILTIN_GLOBALS, fixImports } from './pickle-builtins.js';
import type { GlobalTable } from './pickle-builtins.js';
import { decodeLong, decodeRawUnicodeEscape, decodeStringLiteral, latin1, parseIntText, utf8 } from './pickle-text.js';
import { Opaque, PyBytes, PyCallable, PyDict, PyList, PyObj, PySet, PyTuple, Refused, findRefused, typeName } from './py-values.js';
import type { PyValue, RefusedAction } from './py-values.js';

export { BUILTIN_GLOBALS, fixImports } from './pickle-builtins.js';
export type { GlobalTable } from './pickle-builtins.js';

export interface UnpickleOptions {
  /** Extra allow-listed globals, merged over the builtin ones. */
  globals?: GlobalTable;
  /** Resolves persistent ids (BINPERSID/PERSID); without it they are an error. */
  persistentLoad?: (pid: PyValue) => PyValue;
  maxMemo?: number;
  maxStack?: number;
  maxMarkDepth?: number;
  /** Largest single str/bytes payload. */
  maxStringBytes?: number;
  /** Largest LONG1/LONG4 payload (arbitrary-precision ints). */
  maxLongBytes?: number;
  /**
   * Cap on values created (containers, strings, markers) over the whole stream, plus elements
   * (or 16-byte units of str/bytes) copied by allow-listed constructors. Default 16M.
   */
  maxObjects?: number;
}

export interface UnpickleResult {
  value: PyValue;
  /** Offset just past the STOP opcode (legacy torch files hold several pickles back to back). */
  end: number;
}

const DEFAULTS = {
  maxMemo: 1 << 22,
  maxStack: 1 << 22,
  maxMarkDepth: 1 << 16,
  maxStringBytes: 1 << 30,
  maxLongBytes: 1 << 20,
  maxObjects: 1 << 24,
};

class Machine {
  private pos: number;
  private readonly view: DataView;
  private stack: PyValue[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PyValue>();
  private objects = 0;
  /** From PROTO; streams without it are protocol 0/1. */
  private protocol = 0;
  private readonly lim: typeof DEFAULTS;
  private readonly globals: GlobalTable;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly opts: UnpickleOptions,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.lim = { ...DEFAULTS };
    for (const k of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
      const v = opts[k];
      if (v !== undefined) this.lim[k] = v;
    }
    this.globals = opts.globals ? new Map([...BUILTIN_GLOBALS, ...opts.globals]) : BUILTIN_GLOBALS;
  }

  // ---- input ----
  private take(n: number, what: string): Uint8Array {
    check(n >= 0 && this.pos + n <= this.bytes.length, 'truncated', `pickle: ${what} runs past the end of the data (offset ${this.pos})`);
    const b = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  private u8(): number {
    return this.take(1, 'operand')[0]!;
  }
  private u16(): number {
    const p = this.pos;
    this.take(2, 'operand');
    return this.view.getUint16(p, true);
  }
  private u32(): number {
    const p = this.pos;
    this.take(4, 'operand');
    return this.view.getUint32(p, true);
  }
  private i32(): number {
    const p = this.pos;
    this.take(4, 'operand');
    return this.view.getInt32(p, true);
  }
  private u64(): number {
    const p = this.pos;
    this.take(8, 'operand');
    const hi = this.view.getUint32(p + 4, true);
    check(hi < 0x200000, 'limit', 'pickle: 64-bit length too large');
    return hi * 0x100000000 + this.view.getUint32(p, true);
  }
  private line(what: string): string {
    const nl = this.bytes.indexOf(0x0a, this.pos);
    check(nl >= 0, 'truncated', `pickle: ${what} has no terminating newline`);
    const s = latin1(this.bytes.subarray(this.pos, nl));
    this.pos = nl + 1;
    return s;
  }
  private payload(n: number, what: string): Uint8Array {
    check(n <= this.lim.maxStringBytes, 'limit', `pickle: ${what} of ${n} bytes exceeds the limit`);
    return this.take(n, what);
  }

  // ---- stack ----
  private count(): void {
    check(++this.objects <= this.lim.maxObjects, 'limit', `pickle: more than ${this.lim.maxObjects} objects`);
  }
  private push(v: PyValue): void {
    check(this.stack.length < this.lim.maxStack, 'limit', `pickle: stack deeper than ${this.lim.maxStack}`);
    this.stack.push(v);
  }
  private fence(): number {
    return this.marks.length ? this.marks[this.marks.length - 1]! : 0;
  }
  private pop(): PyValue {
    check(this.stack.length > this.fence(), 'pickle', 'pickle: stack underflow');
    return this.stack.pop()!;
  }
  private top(): PyValue {
    check(this.stack.length > this.fence(), 'pickle', 'pickle: stack underflow');
    return this.stack[this.stack.length - 1]!;
  }
  private popMark(): PyValue[] {
    check(this.marks.length > 0, 'pickle', 'pickle: no MARK on the stack');
    return this.stack.splice(this.marks.pop()!);
  }
  private put(i: number): void {
    check(this.memo.has(i) || this.memo.size < this.lim.maxMemo, 'limit', `pickle: memo larger than ${this.lim.maxMemo}`);
    this.memo.set(i, this.top());
  }
  private get(i: number): void {
    check(this.memo.has(i), 'pickle', `pickle: memo key ${i} is not set`);
    this.push(this.memo.get(i)!);
  }
  private obj<T extends PyValue>(v: T): T {
    this.count();
    return v;
  }
  /** Charge the size of a value about to be copied against the object budget. */
  private charge(v: PyValue): void {
    let units = 0;
    if (typeof v === 'string') units = v.length >> 4;
    else if (v instanceof PyBytes) units = v.data.length >> 4;
    else if (v instanceof PyTuple || v instanceof PyList) units = v.items.length;
    else if (v instanceof PyDict || v instanceof PySet) units = v.size;
    this.objects += units;
    check(this.objects <= this.lim.maxObjects, 'limit', `pickle: more than ${this.lim.maxObjects} objects`);
  }

  // ---- semantics ----
  private global(rawModule: string, rawName: string): PyValue {
    const [module, name] = fixImports(rawModule, rawName, this.protocol);
    return this.globals.get(`${module}.${name}`) ?? this.obj(new Opaque(module, name));
  }

  /** REDUCE/NEWOBJ/INST/OBJ: run an allow-listed data constructor, or refuse. */
  private invoke(fn: PyValue, args: readonly PyValue[], action: RefusedAction): PyValue {
    if (fn instanceof Opaque || fn instanceof Refused) return this.obj(new Refused(fn.module, fn.name, action));
    if (!(fn instanceof PyCallable)) throw new CheckpointError('pickle', `pickle: cannot ${action} a ${typeName(fn)}`);
    const impl = action === 'call' ? fn.call : fn.instantiate;
    if (!impl) return this.obj(new Refused(fn.module, fn.name, action));
    // Constructors copy their arguments (OrderedDict(d), _codecs.encode(s)), so charge that work:
    // otherwise a pickle could call one on the same large memoised value again and again.
    for (const a of args) this.charge(a);
    try {
      return this.obj(impl(args));
    } catch (e) {
      // Bad arguments that come from something we refused: carry the refusal instead of
      // failing the whole file (the state dict may live elsewhere in it). The search is
      // capped so that many failing calls cannot each walk a large structure.
      const r = e instanceof CheckpointError ? findRefused(new PyTuple(args), 256) : undefined;
      if (r) return this.obj(r instanceof Refused ? r : new Refused(r.module, r.name, 'call'));
      throw e;
    }
  }

  private argsTuple(v: PyValue, op: string): readonly PyValue[] {
    check(v instanceof PyTuple, 'pickle', `pickle: ${op} arguments must be a tuple, got ${typeName(v)}`);
    return v.items;
  }

  private build(state: PyValue): void {
    const inst = this.top();
    if (inst instanceof Opaque || inst instanceof PyCallable) {
      this.stack[this.stack.length - 1] = this.obj(new Refused(inst.module, inst.name, 'restore state of'));
    } else if (inst instanceof Refused) {
      // Stays refused; the state is dropped rather than applied to anything.
    } else if (inst instanceof PyObj && !(inst instanceof PyTuple)) {
      inst.state = state;
    } else {
      throw new CheckpointError('pickle', `pickle: BUILD on a ${typeName(inst)}`);
    }
  }

  private appendTo(items: PyValue[]): void {
    const target = this.top();
    if (target instanceof PyList) {
      for (const v of items) target.items.push(v);
    } else if (!(target instanceof Refused)) {
      // Refused objects swallow appends (Python would call their .append); anything else is malformed.
      throw new CheckpointError('pickle', `pickle: APPEND to a ${typeName(target)}`);
    }
  }

  private setItems(items: PyValue[]): void {
    check(items.length % 2 === 0, 'pickle', 'pickle: SETITEMS with an odd number of items');
    const target = this.top();
    if (target instanceof PyDict) {
      for (let i = 0; i < items.length; i += 2) target.set(items[i]!, items[i + 1]!);
    } else if (!(target instanceof Refused)) {
      throw new CheckpointError('pickle', `pickle: SETITEM on a ${typeName(target)}`);
    }
  }

  private persistent(pid: PyValue): PyValue {
    const load = this.opts.persistentLoad;
    if (!load) throw new CheckpointError('unsupported', 'pickle: persistent id without a persistent_load handler');
    return load(pid);
  }

  run(): UnpickleResult {
    for (;;) {
      const op = this.u8();
      switch (op) {
        case 0x80: {
          const v = this.u8();
          check(v <= 5, 'unsupported', `pickle: protocol ${v} is newer than 5`);
          this.protocol = v;
          break;
        } // PROTO
        case 0x95: {
          const n = this.u64();
          check(this.pos + n <= this.bytes.length, 'truncated', 'pickle: FRAME runs past the end');
          break;
        } // FRAME
        case 0x2e:
          return { value: this.pop(), end: this.pos }; // STOP
        case 0x28: // MARK
          check(this.marks.length < this.lim.maxMarkDepth, 'limit', 'pickle: MARKs nested too deeply');
          this.marks.push(this.stack.length);
          break;
        case 0x30:
          if (this.stack.length > this.fence()) this.stack.pop();
          else this.popMark();
          break; // POP
        case 0x31:
          this.popMark();
          break; // POP_MARK
        case 0x32:
          this.push(this.top());
          break; // DUP
        // ---- scalars ----
        case 0x4e:
          this.push(null);
          break; // NONE
        case 0x88:
          this.push(true);
          break; // NEWTRUE
        case 0x89:
          this.push(false);
          break; // NEWFALSE
        case 0x4a:
          this.push(this.i32());
          break; // BININT
        case 0x4b:
          this.push(this.u8());
          break; // BININT1
        case 0x4d:
          this.push(this.u16());
          break; // BININT2
        case 0x8a:
          this.push(decodeLong(this.take(this.u8(), 'LONG1')));
          break; // LONG1
        case 0x8b: {
          // LONG4
          const n = this.i32();
          check(n >= 0 && n <= this.lim.maxLongBytes, 'limit', `pickle: LONG4 of ${n} bytes`);
          this.push(decodeLong(this.take(n, 'LONG4')));
          break;
        }
        case 0x47: {
          const p = this.pos;
          this.take(8, 'BINFLOAT');
          this.push(this.view.getFloat64(p, false));
          break;
        } // BINFLOAT
        case 0x49: {
          // INT
          const t = this.line('INT');
          this.push(t === '00' ? false : t === '01' ? true : parseIntText(t, 'INT'));
          break;
        }
        case 0x4c:
          this.push(parseIntText(this.line('LONG').replace(/L$/, ''), 'LONG'));
          break; // LONG
        case 0x46: {
          // FLOAT
          const t = this.line('FLOAT').trim();
          const specials: Record<string, number> = { inf: Infinity, '-inf': -Infinity, nan: NaN, '+inf': Infinity };
          const v = t.toLowerCase() in specials ? specials[t.toLowerCase()]! : Number(t);
          check(t !== '' && (!Number.isNaN(v) || t.toLowerCase() === 'nan'), 'pickle', 'pickle: bad FLOAT literal');
          this.push(v);
          break;
        }
        // ---- strings and bytes ----
        case 0x58:
          this.push(this.obj(utf8.decode(this.payload(this.u32(), 'BINUNICODE'))));
          break;
        case 0x8c:
          this.push(this.obj(utf8.decode(this.payload(this.u8(), 'SHORT_BINUNICODE'))));
          break;
        case 0x8d:
          this.push(this.obj(utf8.decode(this.payload(this.u64(), 'BINUNICODE8'))));
          break;
        case 0x56:
          this.push(this.obj(decodeRawUnicodeEscape(this.line('UNICODE'))));
          break;
        case 0x53:
          this.push(this.obj(decodeStringLiteral(this.line('STRING'))));
          break;
        case 0x54: {
          // BINSTRING
          const n = this.i32();
          check(n >= 0, 'pickle', 'pickle: negative BINSTRING length');
          this.push(this.obj(latin1(this.payload(n, 'BINSTRING'))));
          break;
        }
        case 0x55:
          this.push(this.obj(latin1(this.payload(this.u8(), 'SHORT_BINSTRING'))));
          break;
        case 0x42:
          this.push(this.obj(new PyBytes(copyBytes(this.payload(this.u32(), 'BINBYTES')))));
          break;
        case 0x43:
          this.push(this.obj(new PyBytes(copyBytes(this.payload(this.u8(), 'SHORT_BINBYTES')))));
          break;
        case 0x8e:
          this.push(this.obj(new PyBytes(copyBytes(this.payload(this.u64(), 'BINBYTES8')))));
          break;
        case 0x96:
          this.push(this.obj(new PyBytes(copyBytes(this.payload(this.u64(), 'BYTEARRAY8')), true)));
          break;
        case 0x97:
          throw new CheckpointError('unsupported', 'pickle: out-of-band buffers (NEXT_BUFFER) are not supported');
        case 0x98:
          this.top();
          break; // READONLY_BUFFER: no-op on our copies
        // ---- containers ----
        case 0x29:
          this.push(this.obj(new PyTuple([])));
          break; // EMPTY_TUPLE
        case 0x85: {
          const a = this.pop();
          this.push(this.obj(new PyTuple([a])));
          break;
        } // TUPLE1
        case 0x86: {
          const b = this.pop();
          const a = this.pop();
          this.push(this.obj(new PyTuple([a, b])));
          break;
        }
        case 0x87: {
          const c = this.pop();
          const b = this.pop();
          const a = this.pop();
          this.push(this.obj(new PyTuple([a, b, c])));
          break;
        }
        case 0x74:
          this.push(this.obj(new PyTuple(this.popMark())));
          break; // TUPLE
        case 0x5d:
          this.push(this.obj(new PyList()));
          break; // EMPTY_LIST
        case 0x6c:
          this.push(this.obj(new PyList(this.popMark())));
          break; // LIST
        case 0x7d:
          this.push(this.obj(new PyDict()));
          break; // EMPTY_DICT
        case 0x64: {
          const d = this.obj(new PyDict());
          const items = this.popMark();
          this.push(d);
          this.setItems(items);
          break;
        } // DICT
        case 0x8f:
          this.push(this.obj(new PySet()));
          break; // EMPTY_SET
        case 0x91: {
          const s = this.obj(new PySet(true));
          for (const v of this.popMark()) s.add(v);
          this.push(s);
          break;
        } // FROZENSET
        case 0x61: {
          const v = this.pop();
          this.appendTo([v]);
          break;
        } // APPEND
        case 0x65: {
          const items = this.popMark();
          this.appendTo(items);
          break;
        } // APPENDS
        case 0x73: {
          const v = this.pop();
          const k = this.pop();
          this.setItems([k, v]);
          break;
        } // SETITEM
        case 0x75:
          this.setItems(this.popMark());
          break; // SETITEMS
        case 0x90: {
          // ADDITEMS
          const items = this.popMark();
          const s = this.top();
          if (s instanceof PySet && !s.frozen) for (const v of items) s.add(v);
          else check(s instanceof Refused, 'pickle', `pickle: ADDITEMS on a ${typeName(s)}`);
          break;
        }
        // ---- memo ----
        case 0x71:
          this.put(this.u8());
          break; // BINPUT
        case 0x72:
          this.put(this.u32());
          break; // LONG_BINPUT
        case 0x70:
          this.put(Number(parseIntText(this.line('PUT'), 'PUT')));
          break; // PUT
        case 0x94:
          this.put(this.memo.size);
          break; // MEMOIZE
        case 0x68:
          this.get(this.u8());
          break; // BINGET
        case 0x6a:
          this.get(this.u32());
          break; // LONG_BINGET
        case 0x67:
          this.get(Number(parseIntText(this.line('GET'), 'GET')));
          break; // GET
        // ---- globals and object construction ----
        case 0x63: {
          const m = this.line('GLOBAL');
          const n = this.line('GLOBAL');
          this.push(this.global(m, n));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const n = this.pop();
          const m = this.pop();
          check(typeof m === 'string' && typeof n === 'string', 'pickle', 'pickle: STACK_GLOBAL needs two strings');
          this.push(this.global(m, n));
          break;
        }
        case 0x82:
        case 0x83:
        case 0x84: {
          // EXT1/2/4: copyreg extension registry, never consulted
          const code = op === 0x82 ? this.u8() : op === 0x83 ? this.u16() : this.i32();
          this.push(this.obj(new Opaque('copyreg', `extension_${code}`)));
          break;
        }
        case 0x52: {
          const args = this.pop();
          const fn = this.pop();
          this.push(this.invoke(fn, this.argsTuple(args, 'REDUCE'), 'call'));
          break;
        }
        case 0x81: {
          const args = this.pop();
          const cls = this.pop();
          this.push(this.invoke(cls, this.argsTuple(args, 'NEWOBJ'), 'instantiate'));
          break;
        }
        case 0x92: {
          // NEWOBJ_EX
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          check(kwargs instanceof PyDict, 'pickle', 'pickle: NEWOBJ_EX kwargs must be a dict');
          if (kwargs.size > 0 && cls instanceof PyCallable) throw new CheckpointError('unsupported', `pickle: keyword arguments to ${cls.qualname}`);
          this.push(this.invoke(cls, this.argsTuple(args, 'NEWOBJ_EX'), 'instantiate'));
          break;
        }
        case 0x69: {
          // INST
          const m = this.line('INST');
          const n = this.line('INST');
          const args = this.popMark();
          this.push(this.invoke(this.global(m, n), args, 'instantiate'));
          break;
        }
        case 0x6f: {
          // OBJ
          const items = this.popMark();
          check(items.length >= 1, 'pickle', 'pickle: OBJ without a class');
          this.push(this.invoke(items[0]!, items.slice(1), 'instantiate'));
          break;
        }
        case 0x62:
          this.build(this.pop());
          break; // BUILD
        case 0x51:
          this.push(this.persistent(this.pop()));
          break; // BINPERSID
        case 0x50:
          this.push(this.persistent(this.obj(this.line('PERSID'))));
          break; // PERSID
        default:
          throw new CheckpointError('pickle', `pickle: unknown opcode 0x${op.toString(16).padStart(2, '0')} at offset ${this.pos - 1}`);
      }
    }
  }
}

/** Unpickle one object starting at `offset`; returns it and where its STOP ended. */
export function unpickleAt(bytes: Uint8Array, offset: number, options: UnpickleOptions = {}): UnpickleResult {
  try {
    return new Machine(plainBytes(bytes), offset, options).run();
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    // Defence in depth: a bug or an engine limit (e.g. RangeError) must still surface as ours.
    throw new CheckpointError('pickle', `pickle: ${(e as Error).message}`);
  }
}

export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): PyValue {
  return unpickleAt(bytes, 0, options).value;
}
