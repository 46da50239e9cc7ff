/**
 * The torch globals the restricted unpickler may resolve: tensor rebuild functions, storage
 * classes and dtype objects. Each "call" here only assembles a TorchTensor description from
 * its arguments (validated); nothing of torch is imported or imitated beyond that.
 * Everything else torch-related (nn.Module classes, numpy scalars, devices...) stays opaque.
 */
import { BYTES_PER_ELEMENT } from '../host.js';
import { CheckpointError, check } from './checkpoint-errors.js';
import type { GlobalTable } from './pickle.js';
import { PyBytes, PyCallable, PyTuple, Opaque, Refused, argError, asInt, asSequence, typeName } from './py-values.js';
import type { PyValue } from './py-values.js';
import { STORAGE_TYPES, TORCH_DTYPES, TorchDType, TorchStorage, TorchStorageType, TorchTensor } from './torch-tensor.js';

function intList(fn: string, what: string, v: PyValue | undefined): number[] {
  const seq = asSequence(v);
  if (!seq) throw argError(fn, `${what} must be a tuple of ints, got ${typeName(v)}`);
  return seq.map((x) => {
    const n = asInt(x);
    if (n === undefined) throw argError(fn, `${what} must be a tuple of ints, contains ${typeName(x)}`);
    return n;
  });
}

function storageArg(fn: string, v: PyValue | undefined): TorchStorage {
  if (!(v instanceof TorchStorage)) throw argError(fn, `expected a storage, got ${typeName(v)}`);
  return v;
}

function offsetArg(fn: string, v: PyValue | undefined): number {
  const n = asInt(v);
  if (n === undefined || n < 0) throw argError(fn, `storage offset must be a non-negative int, got ${typeName(v)}`);
  return n;
}

/** _rebuild_tensor(storage, offset, size, stride) and _rebuild_tensor_v2(..., requires_grad, hooks[, metadata]). */
function rebuildTensor(fn: string, args: readonly PyValue[], min: number, max: number): TorchTensor {
  check(args.length >= min && args.length <= max, 'pickle', `${fn}: expected ${min}-${max} arguments, got ${args.length}`);
  const storage = storageArg(fn, args[0]);
  const info = storage.type.info;
  return new TorchTensor(
    storage,
    info.torchName,
    info.dtype,
    info.itemsize,
    offsetArg(fn, args[1]),
    intList(fn, 'size', args[2]),
    intList(fn, 'stride', args[3]),
  );
}

/** _rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype[, metadata]): untyped storage + dtype. */
function rebuildTensorV3(fn: string, args: readonly PyValue[]): TorchTensor {
  check(args.length === 7 || args.length === 8, 'pickle', `${fn}: expected 7-8 arguments, got ${args.length}`);
  const storage = storageArg(fn, args[0]);
  const dt = args[6];
  if (!(dt instanceof TorchDType)) throw argError(fn, `dtype must be a torch dtype, got ${typeName(dt)}`);
  // Unsupported dtypes keep itemsize 1 so the tensor can exist (and error only if extracted).
  const itemsize = dt.dtype ? BYTES_PER_ELEMENT[dt.dtype] : 1;
  return new TorchTensor(storage, dt.torchName, dt.dtype, itemsize, offsetArg(fn, args[1]), intList(fn, 'size', args[2]), intList(fn, 'stride', args[3]));
}

/** _rebuild_parameter(data, requires_grad, hooks) / _with_state(..., state): a Parameter is its tensor for us. */
function rebuildParameter(fn: string, args: readonly PyValue[], n: number): PyValue {
  check(args.length === n, 'pickle', `${fn}: expected ${n} arguments, got ${args.length}`);
  const data = args[0];
  if (!(data instanceof TorchTensor)) throw argError(fn, `expected a tensor, got ${typeName(data)}`);
  return data;
}

/** Tensor classes _rebuild_from_type_v2 may "convert" to without changing what we read. */
const PLAIN_TENSOR_TYPES = new Set(['torch.Tensor', 'torch._tensor.Tensor', 'torch.nn.parameter.Parameter']);

/** _rebuild_from_type_v2(func, new_type, args, state): allowed only for plain Tensor/Parameter. */
function rebuildFromType(fn: string, args: readonly PyValue[]): PyValue {
  check(args.length === 4, 'pickle', `${fn}: expected 4 arguments, got ${args.length}`);
  const [func, newType, inner] = args;
  if (newType instanceof Opaque || newType instanceof Refused) return new Refused(newType.module, newType.name, 'instantiate');
  if (!(newType instanceof PyCallable) || !PLAIN_TENSOR_TYPES.has(newType.qualname)) throw argError(fn, `unsupported tensor type ${typeName(newType)}`);
  if (func instanceof Opaque || func instanceof Refused) return new Refused(func.module, func.name, 'call');
  if (!(func instanceof PyCallable) || !func.call) throw argError(fn, `cannot call ${typeName(func)}`);
  if (!(inner instanceof PyTuple)) throw argError(fn, `args must be a tuple, got ${typeName(inner)}`);
  const result = func.call(inner.items);
  if (!(result instanceof TorchTensor)) throw argError(fn, `${func.qualname} did not produce a tensor`);
  return result;
}

function fn(module: string, name: string, impl: (fn: string, args: readonly PyValue[]) => PyValue): [string, PyValue] {
  const q = `${module}.${name}`;
  return [q, new PyCallable(module, name, (a) => impl(q, a))];
}

/** The allow-list for torch checkpoints, merged over the builtin one by the checkpoint readers. */
export function torchGlobals(): GlobalTable {
  const table = new Map<string, PyValue>([
    fn('torch._utils', '_rebuild_tensor', (f, a) => rebuildTensor(f, a, 4, 4)),
    fn('torch._utils', '_rebuild_tensor_v2', (f, a) => rebuildTensor(f, a, 6, 7)),
    fn('torch._utils', '_rebuild_tensor_v3', rebuildTensorV3),
    fn('torch._utils', '_rebuild_parameter', (f, a) => rebuildParameter(f, a, 3)),
    fn('torch._utils', '_rebuild_parameter_with_state', (f, a) => rebuildParameter(f, a, 4)),
    fn('torch._tensor', '_rebuild_from_type_v2', rebuildFromType),
    // torch.Size(tuple) is plain data.
    fn('torch', 'Size', (f, a) => {
      check(a.length <= 1, 'pickle', `${f}: expected one argument`);
      return new PyTuple(a.length ? intList(f, 'size', a[0]) : []);
    }),
    // Referenced (never called) by _rebuild_from_type_v2.
    ['torch.Tensor', new PyCallable('torch', 'Tensor')],
    ['torch._tensor.Tensor', new PyCallable('torch._tensor', 'Tensor')],
    ['torch.nn.parameter.Parameter', new PyCallable('torch.nn.parameter', 'Parameter')],
  ]);
  for (const name of Object.keys(STORAGE_TYPES)) {
    const t = new TorchStorageType(name);
    table.set(`torch.${name}`, t);
    table.set(`torch.storage.${name}`, t);
    table.set(`torch.cuda.${name}`, t); // very old files name the CUDA class; the bytes are the same
  }
  for (const [name, dtype] of Object.entries(TORCH_DTYPES)) table.set(`torch.${name}`, new TorchDType(name, dtype));
  return table;
}

/** Persistent-id tuples carry strings, or bytes in files written by Python 2. */
export function pidString(v: PyValue | undefined, what: string): string {
  if (typeof v === 'string') return v;
  if (v instanceof PyBytes && v.data.length <= 4096) return String.fromCharCode(...v.data);
  throw new CheckpointError('pickle', `persistent id: ${what} must be a string, got ${typeName(v)}`);
}
