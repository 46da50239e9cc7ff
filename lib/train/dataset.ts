/**
 * Training data as the loop sees it: a number of samples, and batches of named host arrays
 * (N×C×H×W: 'lms', 'pan', 'ms', and the target 'gt'), fetched by index list.
 */
import type { HostArray, HostData } from '../host.js';
import { numel } from '../host.js';
import { openPanCollection, type PanCollectionFile } from '../data/index.js';

export interface FusionDataset {
  readonly length: number;
  /** Keys each batch holds (e.g. ['gt', 'lms', 'ms', 'pan']). */
  readonly keys: readonly string[];
  batch(indices: readonly number[]): Promise<Record<string, HostArray>>;
  close?(): void;
}

type Ctor = new (n: number) => HostData;

/** Gathers samples `indices` of an N×... array into a new contiguous array. */
export function gather(a: HostArray, indices: readonly number[]): HostArray {
  const per = numel(a.shape.slice(1));
  const Out = a.data.constructor as Ctor;
  const out = new Out(per * indices.length);
  indices.forEach((idx, i) => {
    if (!Number.isInteger(idx) || idx < 0 || idx >= a.shape[0]!) throw new RangeError(`index ${idx} out of range [0, ${a.shape[0]})`);
    (out as unknown as { set(x: ArrayLike<number | bigint>, o: number): void }).set(
      (a.data as unknown as { subarray(b: number, e: number): ArrayLike<number | bigint> }).subarray(idx * per, (idx + 1) * per),
      i * per,
    );
  });
  return { dtype: a.dtype, shape: [indices.length, ...a.shape.slice(1)], data: out };
}

/** Samples held in memory, all keys with the same N. */
export class ArrayDataset implements FusionDataset {
  readonly keys: readonly string[];
  readonly length: number;
  constructor(private readonly arrays: Record<string, HostArray>) {
    const entries = Object.entries(arrays);
    if (entries.length === 0) throw new RangeError('dataset: no arrays');
    this.length = entries[0]![1].shape[0]!;
    for (const [k, a] of entries) {
      if (a.shape.length !== 4) throw new RangeError(`dataset.${k}: expected N×C×H×W, got [${a.shape.join(', ')}]`);
      if (a.shape[0] !== this.length) throw new RangeError(`dataset.${k}: ${a.shape[0]} samples, others have ${this.length}`);
    }
    this.keys = entries.map(([k]) => k);
  }
  async batch(indices: readonly number[]): Promise<Record<string, HostArray>> {
    const out: Record<string, HostArray> = {};
    for (const k of this.keys) out[k] = gather(this.arrays[k]!, indices);
    return out;
  }
  /** A dataset of a subset of the samples (e.g. a train/validation split). */
  subset(indices: readonly number[]): ArrayDataset {
    const out: Record<string, HostArray> = {};
    for (const k of this.keys) out[k] = gather(this.arrays[k]!, indices);
    return new ArrayDataset(out);
  }
}

/** A PanCollection .h5 file, read sample by sample (never loaded whole), as float32. */
export class PanCollectionDataset implements FusionDataset {
  readonly keys: readonly string[];
  readonly length: number;
  private constructor(private readonly file: PanCollectionFile) {
    this.keys = file.keys;
    this.length = file.length;
  }
  static async open(path: string): Promise<PanCollectionDataset> {
    return new PanCollectionDataset(await openPanCollection(path));
  }
  async batch(indices: readonly number[]): Promise<Record<string, HostArray>> {
    const parts: Record<string, HostArray[]> = {};
    for (const i of indices) {
      for (const k of this.file.keys) (parts[k] ??= []).push(this.file.read(k, i, i + 1, { dtype: 'float32' }));
    }
    const out: Record<string, HostArray> = {};
    for (const k of this.keys) {
      const list = parts[k]!;
      const per = list[0]!.data.length;
      const data = new Float32Array(per * list.length);
      list.forEach((a, i) => data.set(a.data as Float32Array, i * per));
      out[k] = { dtype: 'float32', shape: [list.length, ...list[0]!.shape.slice(1)], data };
    }
    return out;
  }
  close(): void {
    this.file.close();
  }
}
