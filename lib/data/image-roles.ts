/**
 * Images by role (fused, gt, ms, lms, pan) from any file the toolbox workflows meet: .mat
 * (H×W×C or N×H×W×C), .h5 (C×H×W or N×C×H×W, as h5py shows them) or GeoTIFF, with the one table
 * of the variable names each role goes by (loadPansharpeningInput reads the same names).
 */
import type { HostArray } from '../host.js';
import { convertDType, permute } from './arrays.js';
import { DataFormatError } from './format-errors.js';
import { readGeoTiff } from './geotiff.js';
import { checkHdf5File, h5call, h5wasm, type H5Dataset } from './hdf5.js';
import { loadPansharpeningInput, sniffFormat } from './load.js';
import { openMatFile } from './mat73.js';
import { IMAGE_ROLE_NAMES, type ImageRole } from './role-names.js';

export type { ImageRole } from './role-names.js';

/** The names a role is looked for under: the table's, and the ambiguous I_MS for the MS roles (told apart by size elsewhere). */
const namesOf = (role: ImageRole): readonly string[] => (role === 'lms' ? ['lms', 'I_MS', ...IMAGE_ROLE_NAMES.lms.slice(1)] : IMAGE_ROLE_NAMES[role]);

/**
 * One image of a role from a file, as N×C×H×W float64 DN. .mat arrays are H×W×C (N×H×W×C),
 * .h5 datasets C×H×W (N×C×H×W) as h5py shows them, GeoTIFFs one C×H×W image. Files with the
 * standard pansharpening keys go through loadPansharpeningInput (which tells I_MS apart).
 */
export async function readImageRole(path: string, role: ImageRole): Promise<HostArray> {
  const format = sniffFormat(path);
  let image: HostArray;
  if (format === 'tif') {
    image = (await readGeoTiff(path)).image;
  } else {
    image =
      (role === 'fused' ? undefined : await fromPansharpeningFile(path, role)) ??
      (format === 'mat' ? await readMatRole(path, role) : await readH5Role(path, role));
  }
  const s = image.shape;
  const nchw: HostArray = s.length === 4 ? image : s.length === 3 ? { ...image, shape: [1, ...s] } : s.length === 2 ? { ...image, shape: [1, 1, ...s] } : image;
  if (nchw.shape.length !== 4) throw new DataFormatError('shape', `${role}: expected a 2-, 3- or 4-D image, got shape [${s}]`, { file: path });
  return convertDType(nchw, 'float64');
}

async function fromPansharpeningFile(path: string, role: Exclude<ImageRole, 'fused'>): Promise<HostArray | undefined> {
  try {
    const d = await loadPansharpeningInput(path);
    return d[role];
  } catch (e) {
    // files without a PAN + MS pair (a lone gt, say) are read below by variable name
    if (e instanceof DataFormatError && (e.code === 'missing-key' || e.code === 'shape')) return undefined;
    throw e;
  }
}

function pickName(names: string[], role: ImageRole, file: string, numeric: (n: string) => boolean): string {
  const candidates = namesOf(role);
  const hit = candidates.find((n) => names.includes(n));
  if (hit) return hit;
  const arrays = names.filter(numeric);
  if (arrays.length === 1) return arrays[0]!;
  throw new DataFormatError(
    'missing-key',
    `no ${role} image (looked for ${candidates.join(', ')}, or a file with a single array; found: ${names.join(', ') || 'nothing'})`,
    { file },
  );
}

async function readMatRole(path: string, role: ImageRole): Promise<HostArray> {
  const f = await openMatFile(path);
  try {
    const name = pickName(f.names(), role, path, (n) => f.info(n).class !== 'char' && f.info(n).class !== 'struct' && f.info(n).class !== 'cell');
    const a = f.read(name);
    if (a.shape.length === 3) return permute(a, [2, 0, 1]); // H×W×C -> C×H×W
    if (a.shape.length === 4) return permute(a, [0, 3, 1, 2]); // N×H×W×C -> N×C×H×W
    return a;
  } finally {
    f.close();
  }
}

async function readH5Role(path: string, role: ImageRole): Promise<HostArray> {
  checkHdf5File(path);
  const h5 = await h5wasm();
  const file = h5call('open the file', path, () => new h5.File(path, 'r'));
  try {
    const keys = h5call('list the datasets', path, () => file.keys());
    const isDataset = (k: string) => (file.get(k) as { type?: string } | null)?.type === 'Dataset';
    const name = pickName(keys, role, path, isDataset);
    const ds = file.get(name) as H5Dataset;
    const shape = h5call(`read the shape of '${name}'`, path, () => ds.shape ?? [], name);
    const value = h5call(`read '${name}'`, path, () => ds.value, name) as unknown;
    const dtypes: [new (...a: never[]) => unknown, HostArray['dtype']][] = [
      [Float32Array, 'float32'],
      [Float64Array, 'float64'],
      [Uint16Array, 'uint16'],
      [Int16Array, 'int16'],
      [Uint8Array, 'uint8'],
      [Int8Array, 'int8'],
      [Int32Array, 'int32'],
      [BigInt64Array, 'int64'],
    ];
    const hit = dtypes.find(([ctor]) => value instanceof ctor);
    if (!hit) throw new DataFormatError('unsupported', `'${name}' does not hold integer or float samples`, { file: path, key: name });
    return { dtype: hit[1], shape: [...shape], data: value as HostArray['data'] };
  } finally {
    h5call('close the file', path, () => file.close());
  }
}
