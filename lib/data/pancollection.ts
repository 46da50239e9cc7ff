/**
 * PanCollection .h5 reader (train_wv3.h5, test_gf2_multiExm1.h5, ...): datasets `gt`, `lms`,
 * `ms`, `pan`, each N×C×H×W row-major as h5py shows them (pan N×1×H×W; `gt` absent in
 * full-resolution test files). Values are raw DN (divide by `sensorScale`).
 *
 * The file is opened lazily and read by sample ranges: `read('gt', i0, i1)` pulls exactly those
 * samples from disk (a hyperslab), never the whole dataset, so files larger than memory work.
 */
import { BYTES_PER_ELEMENT, type DType, type HostArray, type HostData, numel } from '../host.js';
import { convertDType } from './arrays.js';
import { DataFormatError } from './format-errors.js';
import { type H5Dataset, type H5File, h5call, openHdf5ForReading } from './hdf5.js';
import { type Sensor, sensorFromPath, sensorScale } from './sensors.js';

export const PANCOLLECTION_KEYS = ['gt', 'lms', 'ms', 'pan'] as const;

/** Largest single read; h5wasm's wasm heap tops out at 2 GiB and needs room for HDF5 itself. */
export const MAX_READ_BYTES = 1024 ** 3;
export type PanKey = (typeof PANCOLLECTION_KEYS)[number];

/** One batch: every key present in the file, each [n, C, H, W]. */
export interface PanBatch {
  /** Index of the first sample. */
  start: number;
  gt?: HostArray;
  lms?: HostArray;
  ms: HostArray;
  pan: HostArray;
}

export interface PanReadOptions {
  /** Output dtype: 'float32' converts (the usual model input), default keeps the stored type. */
  dtype?: 'float32' | 'float64';
}

export interface PanDatasetInfo {
  /** Always 4-D: [N, C, H, W] (a 3-D N×H×W pan is presented as N×1×H×W). */
  shape: number[];
  /** Element type the file stores. */
  dtype: DType;
}

/** Maps HDF5 integer/float metadata to the HostArray dtype that holds it exactly. */
function dtypeOf(meta: { type: number; size: number; signed: boolean }, H5T_INTEGER: number, H5T_FLOAT: number): DType | undefined {
  if (meta.type === H5T_FLOAT) return meta.size === 8 ? 'float64' : meta.size === 4 ? 'float32' : undefined;
  if (meta.type !== H5T_INTEGER) return undefined;
  if (meta.signed) return ({ 1: 'int8', 2: 'int16', 4: 'int32', 8: 'int64' } as const)[meta.size as 1 | 2 | 4 | 8];
  // Unsigned 32-bit has no HostArray dtype: it widens to int64 after reading.
  return ({ 1: 'uint8', 2: 'uint16', 4: 'int64' } as const)[meta.size as 1 | 2 | 4];
}

export class PanCollectionFile {
  /** Number of samples (N). */
  readonly length: number;
  /** Keys present, in PANCOLLECTION_KEYS order. */
  readonly keys: PanKey[];
  /** Sensor guessed from the file name, if any (train_wv3.h5 → 'wv3'). */
  readonly sensor: Sensor | undefined;
  private readonly datasets = new Map<PanKey, { ds: H5Dataset; info: PanDatasetInfo; unsigned32: boolean }>();
  private closed = false;

  /** Use openPanCollection(). */
  constructor(
    private readonly file: H5File,
    readonly path: string,
    H5T_INTEGER: number,
    H5T_FLOAT: number,
  ) {
    const names = h5call('list the datasets', path, () => file.keys());
    const keys: PanKey[] = [];
    for (const key of PANCOLLECTION_KEYS) {
      if (!names.includes(key)) continue;
      const ds = h5call(`open dataset '${key}'`, path, () => file.get(key), key);
      if (!ds || (ds as { type?: string }).type !== 'Dataset') throw new DataFormatError('shape', `'${key}' is not a dataset`, { file: path, key });
      const d = ds as H5Dataset;
      const meta = h5call(`read the type of '${key}'`, path, () => d.metadata, key);
      const dtype = dtypeOf(meta, H5T_INTEGER, H5T_FLOAT);
      if (!dtype)
        throw new DataFormatError(
          'unsupported',
          `'${key}' has an HDF5 type (class ${meta.type}, ${meta.size} bytes) that is not an integer or float32/float64`,
          { file: path, key },
        );
      let shape = meta.shape ?? [];
      if (key === 'pan' && shape.length === 3) shape = [shape[0]!, 1, shape[1]!, shape[2]!];
      if (shape.length !== 4) throw new DataFormatError('shape', `'${key}' has shape [${shape}], expected 4-D N×C×H×W`, { file: path, key });
      // (h5wasm converts big-endian data to native order itself)
      this.datasets.set(key, { ds: d, info: { shape, dtype }, unsigned32: meta.type === H5T_INTEGER && !meta.signed && meta.size === 4 });
      keys.push(key);
    }
    for (const need of ['ms', 'pan'] as const) {
      if (!keys.includes(need))
        throw new DataFormatError('missing-key', `no '${need}' dataset (datasets present: ${names.join(', ') || 'none'})`, { file: path, key: need });
    }
    this.keys = keys;
    this.length = this.validateShapes();
    this.sensor = sensorFromPath(path);
  }

  /** Shape [N, C, H, W] and stored dtype of one key. */
  info(key: PanKey): PanDatasetInfo {
    const d = this.dataset(key);
    return { shape: [...d.info.shape], dtype: d.info.dtype };
  }

  has(key: PanKey): boolean {
    return this.datasets.has(key);
  }

  /** Channel count of the MS bands. */
  get channels(): number {
    return this.dataset('ms').info.shape[1]!;
  }

  /** PanCollection divisor for this file's sensor (from its name); undefined when the name does not say. */
  get scale(): number | undefined {
    return this.sensor ? sensorScale(this.sensor) : undefined;
  }

  /** Samples [i0, i1) of one key as a HostArray [i1-i0, C, H, W]; reads only those samples. */
  read(key: PanKey, i0: number, i1: number, opts: PanReadOptions = {}): HostArray {
    this.checkOpen();
    const d = this.dataset(key);
    if (!Number.isSafeInteger(i0) || !Number.isSafeInteger(i1) || i0 < 0 || i1 < i0 || i1 > this.length) {
      throw new DataFormatError('bad-argument', `sample range [${i0}, ${i1}) is outside [0, ${this.length})`, { file: this.path, key });
    }
    const shape = [i1 - i0, ...d.info.shape.slice(1)];
    // Every read passes through h5wasm's heap, which cannot grow past 2 GiB.
    const bytes = numel(shape) * BYTES_PER_ELEMENT[d.info.dtype];
    if (bytes > MAX_READ_BYTES) {
      throw new DataFormatError(
        'bad-argument',
        `reading samples [${i0}, ${i1}) of '${key}' needs ${(bytes / 2 ** 20).toFixed(0)} MiB; read smaller ranges (batches) instead`,
        { file: this.path, key },
      );
    }
    let data: HostData;
    if (i1 === i0) {
      data = new Float64Array(0);
      return convertDType({ dtype: 'float64', shape, data }, opts.dtype ?? d.info.dtype);
    }
    const out = h5call(`read samples [${i0}, ${i1}) of '${key}'`, this.path, () => d.ds.slice([[i0, i1]]), key);
    if (!ArrayBuffer.isView(out) || (out as ArrayLike<number>).length !== numel(shape)) {
      throw new DataFormatError(
        'corrupt',
        `reading '${key}' returned ${ArrayBuffer.isView(out) ? (out as ArrayLike<number>).length : typeof out} values, expected ${numel(shape)}`,
        { file: this.path, key },
      );
    }
    let a: HostArray;
    if (d.unsigned32) {
      // widen uint32 (no HostArray dtype) to int64 exactly
      const u = out as unknown as Uint32Array;
      const w = new BigInt64Array(u.length);
      for (let i = 0; i < u.length; i++) w[i] = BigInt(u[i]!);
      a = { dtype: 'int64', shape, data: w };
    } else {
      a = { dtype: d.info.dtype, shape, data: out as unknown as HostData };
    }
    return opts.dtype ? convertDType(a, opts.dtype) : a;
  }

  /** Samples [i0, i1) of every key present. */
  readBatch(i0: number, i1: number, opts: PanReadOptions = {}): PanBatch {
    const b: Partial<PanBatch> = { start: i0 };
    for (const key of this.keys) b[key] = this.read(key, i0, i1, opts);
    return b as PanBatch;
  }

  /**
   * Consecutive batches of `batchSize` samples over [start, end) (the last may be shorter).
   * Each batch is read when the iterator asks for it; nothing is kept between batches.
   */
  *batches(batchSize: number, opts: PanReadOptions & { start?: number; end?: number } = {}): Generator<PanBatch> {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new DataFormatError('bad-argument', `batch size must be a positive integer, got ${batchSize}`);
    const start = opts.start ?? 0,
      end = opts.end ?? this.length;
    for (let i = start; i < end; i += batchSize) yield this.readBatch(i, Math.min(end, i + batchSize), opts);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    h5call('close the file', this.path, () => this.file.close());
  }

  private dataset(key: PanKey) {
    const d = this.datasets.get(key);
    if (!d) throw new DataFormatError('missing-key', `no '${key}' dataset (present: ${this.keys.join(', ')})`, { file: this.path, key });
    return d;
  }

  private checkOpen(): void {
    if (this.closed) throw new DataFormatError('bad-argument', 'file is closed', { file: this.path });
  }

  /** The four arrays must describe the same N samples of one scene at two resolutions. */
  private validateShapes(): number {
    const shape = (k: PanKey) => this.datasets.get(k)?.info.shape;
    const ms = shape('ms')!,
      pan = shape('pan')!;
    const fail = (msg: string, key: PanKey) => new DataFormatError('shape', msg, { file: this.path, key });
    const n = ms[0]!;
    for (const k of this.keys) {
      if (shape(k)![0] !== n) throw fail(`'${k}' has ${shape(k)![0]} samples but 'ms' has ${n}`, k);
    }
    if (pan[1] !== 1) throw fail(`'pan' must have 1 channel, has shape [${pan}]`, 'pan');
    for (const k of ['lms', 'gt'] as const) {
      const s = shape(k);
      if (!s) continue;
      if (s[1] !== ms[1]) throw fail(`'${k}' has ${s[1]} channels but 'ms' has ${ms[1]}`, k);
      if (s[2] !== pan[2] || s[3] !== pan[3]) throw fail(`'${k}' is ${s[2]}×${s[3]} but 'pan' is ${pan[2]}×${pan[3]}`, k);
    }
    const ry = pan[2]! / ms[2]!,
      rx = pan[3]! / ms[3]!;
    if (!(ry >= 1 && Number.isInteger(ry) && ry === rx)) throw fail(`'pan' ${pan[2]}×${pan[3]} is not an integer multiple of 'ms' ${ms[2]}×${ms[3]}`, 'ms');
    return n;
  }
}

/** Opens a PanCollection .h5 for sample-range reads (the wasm module loads on first call). */
export async function openPanCollection(path: string): Promise<PanCollectionFile> {
  const { h5, file } = await openHdf5ForReading(path);
  try {
    const { Module } = h5;
    return new PanCollectionFile(file, path, Module.H5T_class_t.H5T_INTEGER.value, Module.H5T_class_t.H5T_FLOAT.value);
  } catch (e) {
    h5call('close the file', path, () => file.close());
    throw e;
  }
}
