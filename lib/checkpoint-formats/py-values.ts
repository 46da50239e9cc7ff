/**
 * The values a restricted unpickle produces. Python scalars map onto JS primitives
 * (None -> null, bool, int -> number or bigint when beyond 2^53, float -> number, str -> string);
 * everything else is a PyObj subclass so code can tell containers, bytes, globals we know and
 * globals we refused apart with instanceof.
 *
 * Nothing here ever runs code named by a pickle: an unknown global stays an Opaque marker, and
 * any request to call or instantiate it yields a Refused marker instead.
 */
import { CheckpointError } from './checkpoint-errors.js';

export type PyValue = null | boolean | number | bigint | string | PyObj;

/** Base of all non-scalar values. `state` holds what a BUILD opcode set (Python's __dict__/__setstate__ data). */
export abstract class PyObj {
  state: PyValue | undefined = undefined;
  abstract describe(): string;
}

export class PyBytes extends PyObj {
  constructor(
    readonly data: Uint8Array,
    readonly mutable = false,
  ) {
    super();
  }
  describe(): string {
    return this.mutable ? 'bytearray' : 'bytes';
  }
}

export class PyTuple extends PyObj {
  /** Cached dict-key form; tuples are immutable so it never goes stale. */
  keyCache: string | null | undefined = undefined;
  constructor(readonly items: readonly PyValue[]) {
    super();
  }
  describe(): string {
    return 'tuple';
  }
}

export class PyList extends PyObj {
  constructor(readonly items: PyValue[] = []) {
    super();
  }
  describe(): string {
    return 'list';
  }
}

/**
 * Hashable-key form of a value for dict/set lookups: scalars, bytes and tuples of those get a
 * canonical string; anything else (lists, dicts, opaque objects) is keyed by identity, which
 * is all we need - Python would reject those as keys anyway. Depth-limited so a crafted,
 * deeply nested tuple cannot blow the JS stack.
 */
function keyOf(v: PyValue, depth = 0): string | null {
  switch (typeof v) {
    case 'string':
      return `s${v}`;
    // Python treats 1, 1.0 and True as the same key; mirror that.
    case 'number':
      return `n${v}`;
    case 'boolean':
      return `n${v ? 1 : 0}`;
    case 'bigint':
      return `n${v}`;
    default:
      break;
  }
  if (v === null) return 'N';
  // Short bytes keys by value; long ones by identity (never seen in checkpoints, and hashing them is costly).
  if (v instanceof PyBytes && !v.mutable && v.data.length <= 4096) return `b${Array.from(v.data).join(',')}`;
  if (v instanceof PyTuple) {
    if (v.keyCache !== undefined) return v.keyCache;
    let key: string | null = null;
    if (depth < 16 && v.items.length <= 4096) {
      const parts: string[] = [];
      for (const item of v.items) {
        const k = keyOf(item, depth + 1);
        if (k === null) {
          parts.length = 0;
          break;
        }
        parts.push(JSON.stringify(k));
      }
      if (parts.length === v.items.length) key = `t[${parts.join(',')}]`;
    }
    v.keyCache = key;
    return key;
  }
  return null;
}

function mapKey(v: PyValue): unknown {
  return keyOf(v) ?? v;
}

export class PyDict extends PyObj {
  private readonly map = new Map<unknown, [PyValue, PyValue]>();
  /** True when built as collections.OrderedDict (informational only). */
  constructor(readonly ordered = false) {
    super();
  }
  describe(): string {
    return this.ordered ? 'OrderedDict' : 'dict';
  }
  get size(): number {
    return this.map.size;
  }
  set(k: PyValue, v: PyValue): void {
    const mk = mapKey(k);
    const prev = this.map.get(mk);
    // Python keeps the first key object and its position, replacing only the value.
    this.map.set(mk, [prev ? prev[0] : k, v]);
  }
  get(k: PyValue): PyValue | undefined {
    return this.map.get(mapKey(k))?.[1];
  }
  has(k: PyValue): boolean {
    return this.map.has(mapKey(k));
  }
  *entries(): IterableIterator<[PyValue, PyValue]> {
    yield* this.map.values();
  }
  *keys(): IterableIterator<PyValue> {
    for (const [k] of this.map.values()) yield k;
  }
}

export class PySet extends PyObj {
  private readonly map = new Map<unknown, PyValue>();
  constructor(readonly frozen = false) {
    super();
  }
  describe(): string {
    return this.frozen ? 'frozenset' : 'set';
  }
  get size(): number {
    return this.map.size;
  }
  add(v: PyValue): void {
    const k = mapKey(v);
    if (!this.map.has(k)) this.map.set(k, v);
  }
  values(): IterableIterator<PyValue> {
    return this.map.values();
  }
}

/** A global outside the allow-list, as referenced (not called). */
export class Opaque extends PyObj {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {
    super();
  }
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
  describe(): string {
    return `reference to ${this.qualname}`;
  }
}

export type RefusedAction = 'call' | 'instantiate' | 'restore state of';

/** What the pickle would have produced by calling/instantiating something we do not run. */
export class Refused extends PyObj {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly action: RefusedAction,
  ) {
    super();
  }
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
  describe(): string {
    return `object made by ${this.qualname}`;
  }
  /** The sentence used in errors, e.g. "the pickle asks to call os.system". */
  get reason(): string {
    return `the pickle asks to ${this.action} ${this.qualname}`;
  }
}

/**
 * An allow-listed global. `call` implements REDUCE, `instantiate` NEWOBJ; both are plain data
 * constructors written here, never a lookup into anything the pickle names.
 */
export class PyCallable extends PyObj {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly call?: (args: readonly PyValue[]) => PyValue,
    readonly instantiate?: (args: readonly PyValue[]) => PyValue,
  ) {
    super();
  }
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
  describe(): string {
    return this.qualname;
  }
}

/** Short type name for error messages. */
export function typeName(v: PyValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float';
    case 'bigint':
      return 'int';
    case 'string':
      return 'str';
    default:
      return v.describe();
  }
}

/** Python int as a JS number, when it is one and fits. */
export function asInt(v: PyValue | undefined): number | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

/** Items of a tuple or list, for argument checks. */
export function asSequence(v: PyValue | undefined): readonly PyValue[] | undefined {
  if (v instanceof PyTuple || v instanceof PyList) return v.items;
  return undefined;
}

/** The first Opaque/Refused found in a value, searched breadth-first with cycle and size guards. */
export function findRefused(root: PyValue, limit = 100_000): Opaque | Refused | undefined {
  const seen = new Set<PyObj>();
  const queue: PyValue[] = [root];
  const push = (x: PyValue): void => {
    if (queue.length < limit) queue.push(x);
  };
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i];
    if (!(v instanceof PyObj) || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof Opaque || v instanceof Refused) return v;
    if (v instanceof PyTuple || v instanceof PyList) for (const x of v.items) push(x);
    else if (v instanceof PyDict)
      for (const [k, x] of v.entries()) {
        push(k);
        push(x);
      }
    else if (v instanceof PySet) for (const x of v.values()) push(x);
  }
  return undefined;
}

export function argError(fn: string, msg: string): CheckpointError {
  return new CheckpointError('pickle', `${fn}: ${msg}`);
}
