/**
 * Torch storages and tensors as the restricted unpickler sees them, and their materialisation
 * into contiguous row-major HostArrays. Geometry (size/stride/offset) is checked against the
 * storage size when the tensor is created, so a crafted checkpoint cannot make us read outside
 * a storage; the copy itself is bit-exact (it moves whole words, never floats, so NaN payloads
 * survive) and is charged to a per-extraction output budget, because expanded or aliased views
 * of one storage could otherwise ask for far more memory than the file holds.
 */
import type { DType, HostArray } from '../host.js';
import { BYTES_PER_ELEMENT } from '../host.js';
import { CheckpointError, check } from './checkpoint-errors.js';
import { HOST_LITTLE_ENDIAN, byteSwapInPlace, copyBytes, checkedNumel, hostDataFromBytes, isDimList, safeMul } from './bytes.js';
import { PyObj } from './py-values.js';

/** torch dtype names (as in `torch.float32`) and their HostArray dtype where we have one. */
export const TORCH_DTYPES: Record<string, DType | undefined> = {
  float32: 'float32',
  float: 'float32',
  float64: 'float64',
  double: 'float64',
  float16: 'float16',
  half: 'float16',
  bfloat16: 'bfloat16',
  int64: 'int64',
  long: 'int64',
  int32: 'int32',
  int: 'int32',
  int16: 'int16',
  short: 'int16',
  int8: 'int8',
  uint8: 'uint8',
  uint16: 'uint16',
  bool: 'bool',
  // Known to torch, not representable as a HostArray: reading a tensor of these is an 'unsupported' error.
  complex64: undefined,
  complex128: undefined,
  cfloat: undefined,
  cdouble: undefined,
  complex32: undefined,
  uint32: undefined,
  uint64: undefined,
  float8_e4m3fn: undefined,
  float8_e5m2: undefined,
  float8_e4m3fnuz: undefined,
  float8_e5m2fnuz: undefined,
  qint8: undefined,
  quint8: undefined,
  qint32: undefined,
};

/** Legacy typed storage classes (what torch.save writes in persistent ids) -> element dtype. */
export const STORAGE_TYPES: Record<string, { dtype: DType | undefined; torchName: string; itemsize: number }> = {
  FloatStorage: { dtype: 'float32', torchName: 'float32', itemsize: 4 },
  DoubleStorage: { dtype: 'float64', torchName: 'float64', itemsize: 8 },
  HalfStorage: { dtype: 'float16', torchName: 'float16', itemsize: 2 },
  BFloat16Storage: { dtype: 'bfloat16', torchName: 'bfloat16', itemsize: 2 },
  LongStorage: { dtype: 'int64', torchName: 'int64', itemsize: 8 },
  IntStorage: { dtype: 'int32', torchName: 'int32', itemsize: 4 },
  ShortStorage: { dtype: 'int16', torchName: 'int16', itemsize: 2 },
  CharStorage: { dtype: 'int8', torchName: 'int8', itemsize: 1 },
  ByteStorage: { dtype: 'uint8', torchName: 'uint8', itemsize: 1 },
  BoolStorage: { dtype: 'bool', torchName: 'bool', itemsize: 1 },
  // Untyped storage: bytes, reinterpreted by _rebuild_tensor_v3's dtype argument.
  UntypedStorage: { dtype: 'uint8', torchName: 'uint8', itemsize: 1 },
  ComplexFloatStorage: { dtype: undefined, torchName: 'complex64', itemsize: 8 },
  ComplexDoubleStorage: { dtype: undefined, torchName: 'complex128', itemsize: 16 },
  QInt8Storage: { dtype: undefined, torchName: 'qint8', itemsize: 1 },
  QUInt8Storage: { dtype: undefined, torchName: 'quint8', itemsize: 1 },
  QInt32Storage: { dtype: undefined, torchName: 'qint32', itemsize: 4 },
};

/** A `torch.<dtype>` global. */
export class TorchDType extends PyObj {
  constructor(
    readonly torchName: string,
    readonly dtype: DType | undefined,
  ) {
    super();
  }
  describe(): string {
    return `torch.${this.torchName}`;
  }
}

/** A `torch.<X>Storage` class global, as it appears inside persistent ids. */
export class TorchStorageType extends PyObj {
  constructor(readonly name: string) {
    super();
  }
  get info(): { dtype: DType | undefined; torchName: string; itemsize: number } {
    return STORAGE_TYPES[this.name]!;
  }
  describe(): string {
    return `torch.${this.name}`;
  }
}

/** Caps the bytes one extraction may allocate for materialised tensors. */
export class OutputBudget {
  constructor(public remaining: number) {}
  take(bytes: number, what: string): void {
    check(
      bytes <= this.remaining,
      'limit',
      `${what} needs ${bytes} bytes but only ${this.remaining} are left in the output budget (raise maxOutputBytes if the file is trusted to be this large)`,
    );
    this.remaining -= bytes;
  }
}

/**
 * One storage record. `load` fetches its raw bytes lazily (zip entry or legacy file section);
 * they are checked against the size the persistent id declared before anything reads them.
 */
export class TorchStorage extends PyObj {
  private cached: Uint8Array | undefined;
  constructor(
    readonly key: string,
    readonly type: TorchStorageType,
    /** Elements of the storage type, as declared in the persistent id. */
    readonly numel: number,
    readonly nbytes: number,
    private readonly load: () => Uint8Array,
    /** Byte order of the stored data. */
    readonly littleEndian: boolean,
  ) {
    super();
  }
  describe(): string {
    return `${this.type.describe()} ${this.key}`;
  }

  /** The storage bytes, 8-byte aligned so word views over them are legal. */
  bytes(): Uint8Array {
    if (this.cached) return this.cached;
    const raw = this.load();
    check(raw.length === this.nbytes, 'corrupt', `storage ${this.key}: ${raw.length} bytes stored, ${this.nbytes} declared`);
    this.cached = raw.byteOffset % 8 === 0 ? raw : copyBytes(raw);
    return this.cached;
  }
}

type Words = Uint8Array | Uint16Array | Uint32Array;
function words(bytes: Uint8Array, itemsize: number): { view: Words; per: number } {
  const { buffer, byteOffset, byteLength } = bytes;
  if (itemsize === 1) return { view: new Uint8Array(buffer, byteOffset, byteLength), per: 1 };
  // Floor: an untyped storage need not be a whole number of elements; bounds were checked already.
  if (itemsize === 2) return { view: new Uint16Array(buffer, byteOffset, Math.floor(byteLength / 2)), per: 1 };
  return { view: new Uint32Array(buffer, byteOffset, Math.floor(byteLength / 4)), per: itemsize / 4 };
}

/** Copy a strided view (in element units) into a dense row-major destination, word by word. */
function stridedCopy(src: Words, dst: Words, per: number, shape: readonly number[], stride: readonly number[], offset: number): void {
  const nd = shape.length;
  if (nd === 0) {
    for (let w = 0; w < per; w++) dst[w] = src[offset * per + w]!;
    return;
  }
  const inner = shape[nd - 1]!;
  const innerStride = stride[nd - 1]!;
  const rows = dst.length / per / inner;
  const idx = new Array<number>(nd).fill(0);
  let base = offset;
  let o = 0;
  for (let r = 0; r < rows; r++) {
    if (innerStride === 1) {
      dst.set(src.subarray(base * per, (base + inner) * per), o);
      o += inner * per;
    } else {
      for (let j = 0, s = base * per; j < inner; j++, s += innerStride * per) {
        for (let w = 0; w < per; w++) dst[o++] = src[s + w]!;
      }
    }
    // Advance the odometer over the outer dimensions.
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]!++;
      base += stride[d]!;
      if (idx[d]! < shape[d]!) break;
      base -= stride[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

export class TorchTensor extends PyObj {
  readonly shape: number[];
  readonly stride: number[];
  readonly numel: number;

  constructor(
    readonly storage: TorchStorage,
    /** torch dtype name of the elements (may differ from the storage's for untyped storages). */
    readonly torchName: string,
    readonly dtype: DType | undefined,
    readonly itemsize: number,
    readonly storageOffset: number,
    shape: unknown,
    stride: unknown,
  ) {
    super();
    const what = `tensor on storage ${storage.key}`;
    check(isDimList(shape), 'pickle', `${what}: size must be non-negative integers`);
    check(isDimList(stride) && stride.length === shape.length, 'pickle', `${what}: stride must be ${shape.length} non-negative integers`);
    check(Number.isSafeInteger(storageOffset) && storageOffset >= 0, 'pickle', `${what}: bad storage offset`);
    this.shape = [...shape];
    this.stride = [...stride];
    this.numel = checkedNumel(shape, what);
    if (this.numel > 0) {
      // Highest element index the view touches must lie inside the storage.
      let last = storageOffset;
      for (let d = 0; d < shape.length; d++) last += safeMul(shape[d]! - 1, stride[d]!, what);
      check(Number.isSafeInteger(last), 'limit', `${what}: extent overflows`);
      const needBytes = safeMul(last + 1, itemsize, what);
      check(
        needBytes <= storage.nbytes,
        'bounds',
        `${what}: size [${shape.join(', ')}] stride [${stride.join(', ')}] offset ${storageOffset} reaches byte ${needBytes} of a ${storage.nbytes}-byte storage`,
      );
    }
  }

  describe(): string {
    return `tensor(${this.torchName}, [${this.shape.join(', ')}])`;
  }

  /**
   * A fresh contiguous row-major copy. Not cached: two state-dict entries that alias one tensor
   * must not share (and so mutate) one HostArray. The storage is loaded and size-checked before
   * the output is allocated, so declared sizes are verified before they cost memory.
   */
  toHostArray(budget?: OutputBudget): HostArray {
    const dtype = this.dtype;
    check(dtype !== undefined, 'unsupported', `tensor dtype torch.${this.torchName} has no HostArray equivalent`);
    check(BYTES_PER_ELEMENT[dtype] === this.itemsize, 'corrupt', `tensor itemsize mismatch for ${dtype}`);
    const storageBytes = this.storage.bytes();
    const nbytes = this.numel * this.itemsize;
    budget?.take(nbytes, `tensor ${this.describe()}`);
    let out: Uint8Array;
    try {
      out = new Uint8Array(nbytes);
    } catch {
      throw new CheckpointError('limit', `cannot allocate ${nbytes} bytes for ${this.describe()}`);
    }
    if (this.numel > 0) {
      const src = words(storageBytes, this.itemsize);
      const dst = words(out, this.itemsize);
      stridedCopy(src.view, dst.view, src.per, this.shape, this.stride, this.storageOffset);
    }
    if (this.storage.littleEndian !== HOST_LITTLE_ENDIAN) byteSwapInPlace(out, this.itemsize);
    return { dtype, shape: [...this.shape], data: reinterpret(dtype, out) };
  }
}

function reinterpret(dtype: DType, bytes: Uint8Array): HostArray['data'] {
  // `bytes` is a fresh, exactly-sized, offset-0 buffer in host order.
  if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) return hostDataFromBytes(dtype, bytes, HOST_LITTLE_ENDIAN);
  const n = bytes.length / BYTES_PER_ELEMENT[dtype];
  switch (dtype) {
    case 'float32':
      return new Float32Array(bytes.buffer, 0, n);
    case 'float64':
      return new Float64Array(bytes.buffer, 0, n);
    case 'int64':
      return new BigInt64Array(bytes.buffer, 0, n);
    case 'int32':
      return new Int32Array(bytes.buffer, 0, n);
    case 'int16':
      return new Int16Array(bytes.buffer, 0, n);
    case 'int8':
      return new Int8Array(bytes.buffer, 0, n);
    case 'float16':
    case 'bfloat16':
    case 'uint16':
      return new Uint16Array(bytes.buffer, 0, n);
    case 'uint8':
    case 'bool':
      return bytes;
    default:
      throw new CheckpointError('unsupported', `dtype ${String(dtype)}`);
  }
}
