/**
 * Spectral response functions (SRFs) that turn a hyperspectral cube into the HR-MSI of MS/HS
 * fusion: Z = R·X with R an s×S matrix whose rows sum to 1.
 *
 * NIKON_D700: the 3×31 table (400–700 nm in 10 nm steps; rows R, G, B; relative integer weights)
 * that the MHIF literature uses as the Nikon D700 response for CAVE/Harvard (INF's group simulates
 * its RGB with "the Nikon D700 camera response", inf.md §4). The numbers are the `create_P()` table
 * of public MHIF research code by Jiangtao Nie et al. (unsupervised/blind HSI super-resolution
 * scripts; found through the code search index, several files carry the same table), where each row
 * is divided by its sum. They are camera data, reproduced here as data; the repository of origin
 * could not be pinned down from the index, so treat the attribution as "the MHIF community table".
 */
import { tensor, type Tensor } from '../tensor.js';

/** Wavelengths (nm) of the columns of NIKON_D700. */
export const SRF_WAVELENGTHS: readonly number[] = Object.freeze(Array.from({ length: 31 }, (_, i) => 400 + 10 * i));

/** Rows R, G, B; columns 400, 410, …, 700 nm. Relative weights (rows are normalised on use). */
export const NIKON_D700: readonly (readonly number[])[] = Object.freeze([
  Object.freeze([2, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 6, 11, 17, 21, 22, 21, 20, 20, 19, 19, 18, 18, 17, 17]),
  Object.freeze([1, 1, 1, 1, 1, 1, 2, 4, 6, 8, 11, 16, 19, 21, 20, 18, 16, 14, 11, 7, 5, 3, 2, 2, 1, 1, 2, 2, 2, 2, 2]),
  Object.freeze([7, 10, 15, 19, 25, 29, 30, 29, 27, 22, 16, 9, 2, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
]);

export interface SrfOptions {
  /** The cube's band centres in nm (default 400, 410, …, 700: the 31 CAVE/Harvard-style bands). */
  wavelengths?: readonly number[];
  /** The s×31 response table on SRF_WAVELENGTHS (default NIKON_D700). */
  table?: readonly (readonly number[])[];
}

/**
 * The s×S response matrix for a cube with the given band centres: the table's columns at those
 * wavelengths (each must be one of 400, 410, …, 700 nm), every row renormalised to sum 1. A cube
 * that covers only part of the range (e.g. CAVE bands 1–20, 400–590 nm) so gets the camera's
 * response restricted to its bands, which keeps the MSI in [0, 1] for reflectance in [0, 1].
 */
export function spectralResponse(opts: SrfOptions = {}): number[][] {
  const wl = opts.wavelengths ?? SRF_WAVELENGTHS;
  const table = opts.table ?? NIKON_D700;
  if (!Array.isArray(wl) || wl.length === 0) throw new TypeError('wavelengths: expected a non-empty array of band centres in nm');
  if (!Array.isArray(table) || table.length === 0) throw new TypeError('table: expected an s×31 array of response rows');
  const cols = wl.map((w, i) => {
    const j = SRF_WAVELENGTHS.indexOf(w);
    if (j < 0) throw new RangeError(`wavelengths[${i}]: ${w} nm is not on the SRF grid 400, 410, …, 700 nm`);
    return j;
  });
  return table.map((row, r) => {
    if (!Array.isArray(row) || row.length !== SRF_WAVELENGTHS.length)
      throw new RangeError(`table[${r}]: expected ${SRF_WAVELENGTHS.length} values (400–700 nm)`);
    const picked = cols.map((j) => row[j]!);
    const sum = picked.reduce((a, b) => a + b, 0);
    if (!(sum > 0)) throw new RangeError(`table[${r}]: the response is zero over the cube's bands (${wl[0]}–${wl.at(-1)} nm)`);
    return picked.map((v) => v / sum);
  });
}

/** spectralResponse as an s×S float32 Tensor. */
export function spectralResponseTensor(opts: SrfOptions = {}): Tensor {
  const m = spectralResponse(opts);
  return tensor(new Float32Array(m.flat()), [m.length, m[0]!.length], 'float32');
}
