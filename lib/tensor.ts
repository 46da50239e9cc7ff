/**
 * Tensor: a typed JS handle on one libtorch tensor.
 *
 * Data is copied in (from TypedArrays or scijs ndarrays, strided views included) and copied out
 * (`data()` off the JS thread, `dataSync()` on it). Free a tensor with `dispose()` or `using`;
 * `scope()` frees everything a block created except what it returns. The GC finalizer is only a
 * safety net: native memory is reported to V8, but prompt disposal is what keeps RSS flat.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import ndarray, { type NdArray } from 'ndarray';
import { native, type NativeTensor } from './native.js';
import type { DType, HostArray, HostData } from './host.js';

export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Int16Array | Int8Array | Uint8Array | Uint16Array;

const scopes = new AsyncLocalStorage<Set<Tensor>>();

function track(t: Tensor): Tensor {
  scopes.getStore()?.add(t);
  return t;
}

export class Tensor implements Disposable {
  /** @internal */
  readonly native: NativeTensor;

  /** @internal Use tensor(), fromNdarray(), zeros() ... */
  constructor(n: NativeTensor) {
    this.native = n;
    track(this);
  }

  get shape(): number[] {
    return this.native.shape;
  }
  /** Element strides per dimension (torch's `stride()`): e.g. [C*H*W, 1, W*C, C] for a channels-last 4-D tensor. */
  get strides(): number[] {
    return this.native.strides;
  }
  get dtype(): DType {
    return this.native.dtype;
  }
  get device(): string {
    return this.native.device;
  }
  get numel(): number {
    return this.native.numel;
  }
  get ndim(): number {
    return this.native.shape.length;
  }
  get disposed(): boolean {
    return this.native.disposed;
  }
  get requiresGrad(): boolean {
    return this.native.requiresGrad;
  }
  /** True while pending async work (data(), a *Async op, a forward) uses this tensor: dispose() throws until it settles. */
  get busy(): boolean {
    return this.native.busy;
  }

  /** Copies the values out on a worker thread. float16/bfloat16 come back as raw Uint16Array bits. */
  data(): Promise<TensorData> {
    return this.native.data() as Promise<TensorData>;
  }
  /** Copies the values out on the JS thread (blocks it for large tensors: prefer data()). */
  dataSync(): TensorData {
    return this.native.dataSync() as TensorData;
  }
  item(): number | bigint | boolean {
    return this.native.item();
  }
  async toHost(): Promise<HostArray> {
    return { dtype: this.dtype, shape: this.shape, data: (await this.data()) as HostData };
  }
  toNdarray(): NdArray {
    return ndarray(this.dataSync() as unknown as number[], this.shape) as unknown as NdArray;
  }

  /** A copy on another device ('cpu', 'cuda', 'cuda:1') or with another dtype. */
  to(target: string): Tensor {
    return new Tensor(this.native.to(target));
  }
  clone(): Tensor {
    return new Tensor(this.native.clone());
  }
  contiguous(): Tensor {
    return new Tensor(this.native.contiguous());
  }
  reshape(shape: number[]): Tensor {
    return new Tensor(this.native.reshape(shape));
  }
  permute(dims: number[]): Tensor {
    return new Tensor(this.native.permute(dims));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return new Tensor(this.native.transpose(dim0, dim1));
  }
  slice(dim: number, start?: number, end?: number, step?: number): Tensor {
    return new Tensor(this.native.slice(dim, start, end, step));
  }
  select(dim: number, index: number): Tensor {
    return new Tensor(this.native.select(dim, index));
  }
  flip(dims: number | number[]): Tensor {
    return new Tensor(this.native.flip(dims));
  }
  squeeze(dim?: number): Tensor {
    return new Tensor(this.native.squeeze(dim));
  }
  unsqueeze(dim: number): Tensor {
    return new Tensor(this.native.unsqueeze(dim));
  }

  add(other: Tensor | number): Tensor {
    return new Tensor(this.native.add(operand(other)));
  }
  sub(other: Tensor | number): Tensor {
    return new Tensor(this.native.sub(operand(other)));
  }
  mul(other: Tensor | number): Tensor {
    return new Tensor(this.native.mul(operand(other)));
  }
  div(other: Tensor | number): Tensor {
    return new Tensor(this.native.div(operand(other)));
  }
  matmul(other: Tensor): Tensor {
    return new Tensor(this.native.matmul(operand(other) as NativeTensor));
  }
  neg(): Tensor {
    return new Tensor(this.native.neg());
  }
  abs(): Tensor {
    return new Tensor(this.native.abs());
  }
  sqrt(): Tensor {
    return new Tensor(this.native.sqrt());
  }
  exp(): Tensor {
    return new Tensor(this.native.exp());
  }
  log(): Tensor {
    return new Tensor(this.native.log());
  }
  pow(exponent: number): Tensor {
    return new Tensor(this.native.pow(exponent));
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return new Tensor(this.native.clamp(min, max));
  }
  sum(dims?: number | number[] | null, keepdim?: boolean): Tensor {
    return new Tensor(this.native.sum(dims, keepdim));
  }
  mean(dims?: number | number[] | null, keepdim?: boolean): Tensor {
    return new Tensor(this.native.mean(dims, keepdim));
  }
  max(dim?: number | null, keepdim?: boolean): Tensor {
    return new Tensor(this.native.max(dim, keepdim));
  }
  min(dim?: number | null, keepdim?: boolean): Tensor {
    return new Tensor(this.native.min(dim, keepdim));
  }

  // The *Async forms run the same op on the addon's compute thread, so the event loop keeps turning
  // while a large one runs. Arguments are checked (and throw) before anything is queued; the inputs
  // cannot be disposed until the Promise settles. Results equal the sync forms' bit for bit.
  /** matmul() off the JS thread. */
  async matmulAsync(other: Tensor): Promise<Tensor> {
    return new Tensor(await this.native.matmulAsync(operand(other) as NativeTensor));
  }
  /** sum() off the JS thread. */
  async sumAsync(dims?: number | number[] | null, keepdim?: boolean): Promise<Tensor> {
    return new Tensor(await this.native.sumAsync(dims, keepdim));
  }
  /** mean() off the JS thread. */
  async meanAsync(dims?: number | number[] | null, keepdim?: boolean): Promise<Tensor> {
    return new Tensor(await this.native.meanAsync(dims, keepdim));
  }
  /** max() off the JS thread. */
  async maxAsync(dim?: number | null, keepdim?: boolean): Promise<Tensor> {
    return new Tensor(await this.native.maxAsync(dim, keepdim));
  }
  /** min() off the JS thread. */
  async minAsync(dim?: number | null, keepdim?: boolean): Promise<Tensor> {
    return new Tensor(await this.native.minAsync(dim, keepdim));
  }
  /** Same shape, dtype, device and values (bit for bit). */
  equal(other: Tensor): boolean {
    return this.native.equal(operand(other) as NativeTensor);
  }
  allclose(other: Tensor, rtol?: number, atol?: number): boolean {
    return this.native.allclose(operand(other) as NativeTensor, rtol, atol);
  }

  /** Frees the native memory now. Throws while an async operation still uses the tensor. Idempotent. */
  dispose(): void {
    this.native.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return this.disposed ? 'Tensor(disposed)' : `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device})`;
  }
}

function operand(x: Tensor | number): NativeTensor | number {
  if (typeof x === 'number') return x;
  if (!(x instanceof Tensor)) throw new TypeError('other: expected a Tensor or a number');
  return x.native;
}

/** A tensor holding a copy of `data` with `shape` (default: 1-D). The dtype follows the array kind
 *  unless given: 'bool' takes a Uint8Array, 'float16'/'bfloat16' take raw Uint16Array bits. */
export function tensor(data: TensorData | number[], shape?: number[], dtype?: DType): Tensor {
  if (Array.isArray(data)) {
    if (!data.every((v) => typeof v === 'number')) throw new TypeError('data: a plain array must hold numbers');
    data = new Float32Array(data);
  }
  return new Tensor(native.fromTypedArray(data, shape ?? [data.length], dtype));
}

export function fromHost(h: HostArray): Tensor {
  return tensor(h.data, h.shape, h.dtype);
}

/** A contiguous copy of a scijs ndarray, including transposed, stepped and offset views. */
export function fromNdarray(nd: NdArray, dtype?: DType): Tensor {
  if (!nd || !ArrayBuffer.isView(nd.data)) throw new TypeError('ndarray: expected an ndarray backed by a TypedArray');
  return new Tensor(native.fromStrided(nd.data as ArrayBufferView, nd.shape, nd.stride, nd.offset, dtype));
}

export const zeros = (shape: number[], dtype?: DType, device?: string) => new Tensor(native.zeros(shape, dtype, device));
export const ones = (shape: number[], dtype?: DType, device?: string) => new Tensor(native.ones(shape, dtype, device));
export const full = (shape: number[], value: number, dtype?: DType, device?: string) => new Tensor(native.full(shape, value, dtype, device));
export const rand = (shape: number[], dtype?: DType, device?: string) => new Tensor(native.rand(shape, dtype, device));
export const randn = (shape: number[], dtype?: DType, device?: string) => new Tensor(native.randn(shape, dtype, device));
export const cat = (tensors: Tensor[], dim = 0) =>
  new Tensor(
    native.cat(
      tensors.map((t) => operand(t) as NativeTensor),
      dim,
    ),
  );
export const stack = (tensors: Tensor[], dim = 0) =>
  new Tensor(
    native.stack(
      tensors.map((t) => operand(t) as NativeTensor),
      dim,
    ),
  );
/** Seeds libtorch's global CPU (and CUDA) generators. */
export const manualSeed = (seed: number) => native.manualSeed(seed);

function collectKept(value: unknown, kept: Set<Tensor>, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (value instanceof Tensor) {
    kept.add(value);
    return;
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) collectKept(v, kept, depth + 1);
}

function release(created: Set<Tensor>, result: unknown): void {
  const kept = new Set<Tensor>();
  collectKept(result, kept);
  for (const t of created) {
    if (kept.has(t) || t.disposed) continue;
    // A tensor still pinned by async work it was handed to is left to the GC rather than torn away.
    if (t.busy) continue;
    t.dispose();
  }
}

/**
 * Runs `fn` and disposes every tensor created while it ran (in its async continuations too),
 * except the ones it returns (directly, or inside arrays / plain objects).
 */
export function scope<T>(fn: () => T): T {
  const created = new Set<Tensor>();
  const outer = scopes.getStore();
  let result: T;
  try {
    result = scopes.run(created, fn);
  } catch (e) {
    release(created, undefined);
    throw e;
  }
  const hand = (r: unknown) => {
    release(created, r);
    if (outer) {
      const kept = new Set<Tensor>();
      collectKept(r, kept);
      for (const t of kept) outer.add(t);
    }
  };
  if (result instanceof Promise) {
    return result.then(
      (r) => {
        hand(r);
        return r;
      },
      (e) => {
        release(created, undefined);
        throw e;
      },
    ) as T;
  }
  hand(result);
  return result;
}

/** Live tensors and their bytes (this thread), and live modules. */
export function memory(): { tensors: number; bytes: number; modules: number } {
  return native.memory();
}
