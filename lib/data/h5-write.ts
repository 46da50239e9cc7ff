/** One array as an HDF5 dataset (e.g. a fused image, `sr`), C-order as PanCollection files are. */
import type { HostArray } from '../host.js';
import { DataFormatError } from './errors.js';
import { h5call, h5wasm } from './hdf5.js';

const TYPES: Partial<Record<HostArray['dtype'], string>> = { float64: '<d', float32: '<f', uint16: '<H' };

export async function writeH5Array(path: string, name: string, array: HostArray): Promise<void> {
  const dtype = TYPES[array.dtype];
  if (!dtype) throw new DataFormatError('bad-argument', `writeH5Array: dtype must be float64, float32 or uint16, got ${array.dtype}`);
  const h5 = await h5wasm();
  const file = h5call('create the file', path, () => new h5.File(path, 'w'));
  try {
    h5call(`write '${name}'`, path, () => file.create_dataset({ name, data: array.data as Float32Array, shape: array.shape, dtype }), name);
  } finally {
    file.close();
  }
}
