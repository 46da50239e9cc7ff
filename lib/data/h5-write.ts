/** One array as an HDF5 dataset (e.g. a fused image, `sr`), C-order as PanCollection files are. */
import type { HostArray } from '../host.js';
import { DataFormatError } from './format-errors.js';
import { h5closeWritten, h5write, h5wasm } from './hdf5.js';
import { writeAtomicallyAsync } from '../atomic.js';

const TYPES: Partial<Record<HostArray['dtype'], string>> = { float64: '<d', float32: '<f', uint16: '<H' };

/** Writes atomically: a temporary file, HDF5's close status checked, fsynced, renamed over `path`. */
export async function writeH5Array(path: string, name: string, array: HostArray): Promise<void> {
  const dtype = TYPES[array.dtype];
  if (!dtype) throw new DataFormatError('bad-argument', `writeH5Array: dtype must be float64, float32 or uint16, got ${array.dtype}`);
  const h5 = await h5wasm();
  await writeAtomicallyAsync(path, async (tmp) => {
    const file = h5write('create the file', path, () => new h5.File(tmp, 'w'));
    let closed = false;
    try {
      h5write('write', path, () => file.create_dataset({ name, data: array.data as Float32Array, shape: array.shape, dtype }), name);
      closed = true;
      h5closeWritten(file, path);
    } finally {
      if (!closed) {
        try {
          h5write('close the file', path, () => file.close());
        } catch {
          /* the write already failed: that error is the one to report */
        }
      }
    }
  });
}
