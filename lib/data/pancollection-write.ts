/**
 * PanCollection .h5 writer: same layout the reader expects (gt?, lms?, ms, pan; N×C×H×W,
 * float64 by default like the published files), readable by h5py and MATLAB's h5read.
 *
 * Datasets are chunked along N and extendible, so a large training set can be produced
 * incrementally: `append` adds samples and writes them straight to disk; memory holds one
 * batch at a time. The first `append` fixes the keys and the per-sample shapes.
 *
 * The file is written under a temporary name in the target folder and renamed into place by
 * close() once HDF5 closed it without error: a failed or killed write never leaves a partial file
 * under the final name (an existing file there survives until then).
 */
import fs from 'node:fs';
import { dirname } from 'node:path';
import type { HostArray } from '../host.js';
import { checkHostArray, quantize } from './arrays.js';
import { DataFormatError } from './format-errors.js';
import { type H5Dataset, type H5File, h5call, h5closeWritten, h5write, h5wasm } from './hdf5.js';
import { commit, removeStaleTemporaries, tempPathFor } from '../atomic.js';
import { PANCOLLECTION_KEYS, type PanKey } from './pancollection.js';

export type PanSamples = { gt?: HostArray; lms?: HostArray; ms: HostArray; pan: HostArray };

export interface PanWriterOptions {
  /** Element type on disk; PanCollection uses float64. */
  dtype?: 'float64' | 'float32' | 'uint16';
  /** Samples per HDF5 chunk (default 1: reads of any sample range touch no extra data). */
  chunkSamples?: number;
  /** gzip level 1–9; default none (the published files are uncompressed, and reads are faster). */
  gzip?: number;
  /** Overwrite an existing file (default false: refuse, so a typo cannot destroy a dataset). */
  overwrite?: boolean;
}

const H5_DTYPE = { float64: '<d', float32: '<f', uint16: '<H' } as const;

export class PanCollectionWriter {
  private readonly datasets = new Map<PanKey, { ds: H5Dataset; sample: number[] }>();
  private n = 0;
  private closed = false;
  private failed = false;

  /** Use PanCollectionWriter.create(). */
  private constructor(
    private readonly file: H5File,
    readonly path: string,
    private readonly tmp: string,
    private readonly opts: PanWriterOptions,
  ) {}

  static async create(path: string, opts: PanWriterOptions = {}): Promise<PanCollectionWriter> {
    if (opts.chunkSamples !== undefined && (!Number.isSafeInteger(opts.chunkSamples) || opts.chunkSamples < 1)) {
      throw new DataFormatError('bad-argument', `chunkSamples must be a positive integer, got ${opts.chunkSamples}`);
    }
    if (opts.gzip !== undefined && (!Number.isInteger(opts.gzip) || opts.gzip < 1 || opts.gzip > 9)) {
      throw new DataFormatError('bad-argument', `gzip level must be 1..9, got ${opts.gzip}`);
    }
    if (opts.dtype !== undefined && !(opts.dtype in H5_DTYPE))
      throw new DataFormatError('bad-argument', `dtype must be float64, float32 or uint16, got ${opts.dtype}`);
    if (!opts.overwrite && fs.existsSync(path)) throw new DataFormatError('bad-argument', 'file exists (pass overwrite: true to replace it)', { file: path });
    const h5 = await h5wasm();
    fs.mkdirSync(dirname(path), { recursive: true });
    removeStaleTemporaries(path);
    const tmp = tempPathFor(path);
    const file = h5call('create the file', path, () => {
      const f = new h5.File(tmp, 'w');
      if (f.file_id < 0n) throw new Error('create failed');
      return f;
    });
    return new PanCollectionWriter(file, path, tmp, opts);
  }

  /** Samples written so far. */
  get length(): number {
    return this.n;
  }

  /** Appends a batch: each key [n, C, H, W] (pan [n,1,H,W]) with the same n; any numeric dtype. */
  append(batch: PanSamples): void {
    if (this.closed) throw new DataFormatError('bad-argument', 'writer is closed', { file: this.path });
    const keys = PANCOLLECTION_KEYS.filter((k) => batch[k] !== undefined);
    const n = checkBatch(batch, keys);
    if (this.datasets.size > 0) {
      const have = [...this.datasets.keys()];
      if (keys.length !== have.length || keys.some((k) => !this.datasets.has(k))) {
        throw new DataFormatError('shape', `batch has keys ${keys.join(', ')} but the file was started with ${have.join(', ')}`, { file: this.path });
      }
      for (const k of keys) {
        const sample = this.datasets.get(k)!.sample,
          got = batch[k]!.shape.slice(1);
        if (got.join() !== sample.join()) {
          throw new DataFormatError('shape', `'${k}' samples are [${got}] but earlier ones were [${sample}]`, { file: this.path, key: k });
        }
      }
    }
    const dtype = this.opts.dtype ?? 'float64';
    // from here until every key is written, a failure leaves a half-appended batch: never committed
    this.failed = true;
    if (this.datasets.size === 0) this.createDatasets(batch, keys);
    for (const k of keys) {
      const d = this.datasets.get(k)!;
      // float → uint16 rounds and clamps; everything else converts exactly or by plain cast
      const data = quantize(batch[k]!, dtype).data;
      h5write('extend', this.path, () => d.ds.resize([this.n + n, ...d.sample]), k);
      if (n > 0) h5write('write', this.path, () => d.ds.write_slice([[this.n, this.n + n]], data), k);
    }
    this.failed = false;
    this.n += n;
  }

  /**
   * Flushes and closes the file, checks that HDF5 wrote it all, and renames it into place. After a
   * failed append it only discards the temporary file (the append's error is the one that counts).
   * A writer that wrote no sample leaves an empty (but valid) file.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.failed) {
        try {
          h5write('close the file', this.path, () => this.file.close());
        } catch {
          /* already failed */
        }
        fs.rmSync(this.tmp, { force: true });
        return;
      }
      h5closeWritten(this.file, this.path);
      commit(this.tmp, this.path);
    } catch (e) {
      fs.rmSync(this.tmp, { force: true });
      throw e;
    }
  }

  private createDatasets(batch: PanSamples, keys: PanKey[]): void {
    const dtype = this.opts.dtype ?? 'float64';
    for (const k of keys) {
      const sample = batch[k]!.shape.slice(1);
      const chunks = [this.opts.chunkSamples ?? 1, ...sample];
      const args: Parameters<H5File['create_dataset']>[0] = {
        name: k,
        data: new (dtype === 'float64' ? Float64Array : dtype === 'float32' ? Float32Array : Uint16Array)(0),
        shape: [0, ...sample],
        maxshape: [null, ...sample],
        chunks,
        dtype: H5_DTYPE[dtype],
      };
      if (this.opts.gzip) {
        args.compression = 'gzip';
        args.compression_opts = this.opts.gzip;
      }
      const ds = h5write('create dataset', this.path, () => this.file.create_dataset(args), k);
      this.datasets.set(k, { ds, sample });
    }
  }
}

/** Validates one batch's arrays against each other; returns its sample count. */
function checkBatch(batch: PanSamples, keys: PanKey[]): number {
  for (const need of ['ms', 'pan'] as const) {
    if (!batch[need]) throw new DataFormatError('missing-key', `batch has no '${need}'`, { key: need });
  }
  for (const k of keys) {
    checkHostArray(batch[k]!, `'${k}'`);
    if (batch[k]!.shape.length !== 4) throw new DataFormatError('shape', `'${k}' must be 4-D [N,C,H,W], got [${batch[k]!.shape}]`, { key: k });
  }
  const ms = batch.ms.shape,
    pan = batch.pan.shape,
    n = ms[0]!;
  for (const k of keys) {
    if (batch[k]!.shape[0] !== n) throw new DataFormatError('shape', `'${k}' has ${batch[k]!.shape[0]} samples but 'ms' has ${n}`, { key: k });
  }
  if (pan[1] !== 1) throw new DataFormatError('shape', `'pan' must have 1 channel, got [${pan}]`, { key: 'pan' });
  for (const k of ['lms', 'gt'] as const) {
    const s = batch[k]?.shape;
    if (!s) continue;
    if (s[1] !== ms[1] || s[2] !== pan[2] || s[3] !== pan[3]) {
      throw new DataFormatError('shape', `'${k}' is [${s}] but should be [${n},${ms[1]},${pan[2]},${pan[3]}] (ms channels, pan size)`, { key: k });
    }
  }
  const ry = pan[2]! / ms[2]!,
    rx = pan[3]! / ms[3]!;
  if (!(Number.isInteger(ry) && ry >= 1 && ry === rx)) {
    throw new DataFormatError('shape', `'pan' ${pan[2]}×${pan[3]} is not an integer multiple of 'ms' ${ms[2]}×${ms[3]}`, { key: 'ms' });
  }
  return n;
}

/** Writes a whole PanCollection file in one call (use PanCollectionWriter for large data). */
export async function writePanCollection(path: string, data: PanSamples, opts: PanWriterOptions = {}): Promise<void> {
  const w = await PanCollectionWriter.create(path, opts);
  try {
    w.append(data);
  } finally {
    w.close();
  }
}
