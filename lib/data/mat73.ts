/**
 * MATLAB v7.3 MAT-file reader (`save -v7.3`, what MATLAB needs for variables over 2 GB).
 *
 * A v7.3 file is an HDF5 file behind a 512-byte user block whose first 128 bytes are a MAT header
 * ('MATLAB 7.3 MAT-file', version 0x0200). Each variable is a root dataset carrying a MATLAB_class
 * attribute; MATLAB writes its column-major data as is, so HDF5 shows the dimensions reversed
 * (an H×W×C image is a C×W×H dataset). `read` undoes that and returns exactly what the v5 reader
 * (mat.ts) returns for the same variable: row-major, shape = MATLAB dims, the same dtypes.
 *
 * Read: real double/single/(u)int8..64 and logical arrays, empty arrays (MATLAB_empty: the
 * dataset holds the dims), char via readString. Listed but refused with 'unsupported': cell
 * (references into #refs#), struct (groups), sparse, complex (compound types), objects.
 */
import type { HostArray } from '../host.js';
import { numel } from '../host.js';
import { permute } from './arrays.js';
import { readHead } from './bytesource.js';
import { DataFormatError } from './format-errors.js';
import { type H5Dataset, type H5File, h5call, openHdf5ForReading } from './hdf5.js';
import { MATLAB_CLASS_DTYPE, MatVariables, type MatReadOptions, type MatReader, type MatVariableInfo, type Numeric, castNumbers, openMat } from './mat.js';

/** True when the first 128 bytes are a v7.3 MAT header (its text, or version 0x0200). */
export function isMat73Header(head: Uint8Array): boolean {
  const text = new TextDecoder('latin1').decode(head.subarray(0, 20));
  if (!text.startsWith('MATLAB')) return false;
  if (text.startsWith('MATLAB 7.3')) return true;
  if (head.length < 128) return false;
  const le = head[126] === 0x49 && head[127] === 0x4d;
  const version = le ? head[124]! | (head[125]! << 8) : (head[124]! << 8) | head[125]!;
  return version === 0x0200;
}

interface Entry {
  info: MatVariableInfo;
  ds?: H5Dataset;
  /** MATLAB_empty: the dataset's values are the dims, not data. */
  empty: boolean;
}

type H5Entity = ReturnType<H5File['get']>;

function attr(e: H5Entity, name: string): unknown {
  const attrs = (e as { attrs?: Record<string, { value: unknown }> }).attrs;
  return attrs && name in attrs ? attrs[name]!.value : undefined;
}

export class Mat73File extends MatVariables<Entry> implements MatReader {
  private closed = false;

  /** Use openMat73() or openMatFile(). */
  constructor(
    private readonly file: H5File,
    readonly path: string,
    private readonly H5T_COMPOUND: number,
  ) {
    super();
    const names = h5call('list the variables', path, () => file.keys());
    for (const name of names) {
      // '#refs#' holds the elements of cells and structs, '#subsystem#' MATLAB's object data.
      if (name.startsWith('#')) continue;
      this.entries.push(this.describe(name));
    }
  }

  protected get label(): string {
    return this.path;
  }

  /** One numeric or logical variable as a row-major HostArray with shape = MATLAB dims. */
  read(name: string, opts: MatReadOptions = {}): HostArray {
    void opts; // v7.3 stores values in their class type: there is no smaller stored type to keep
    this.checkOpen();
    const e = this.entry(name);
    const { info } = e;
    if (!info.numeric) {
      throw new DataFormatError(
        'unsupported',
        `variable '${name}' is a ${info.complex ? 'complex ' : ''}${info.class} array; only real numeric and logical arrays can be read`,
        { file: this.path, key: name },
      );
    }
    const dtype = MATLAB_CLASS_DTYPE[info.class]!;
    const n = numel(info.shape);
    if (e.empty || n === 0) return castEmpty(dtype, info);
    const raw = h5call(`read variable '${name}'`, this.path, () => e.ds!.value, name) as unknown;
    if (!ArrayBuffer.isView(raw) || (raw as unknown as ArrayLike<number>).length !== n) {
      throw new DataFormatError(
        'corrupt',
        `variable '${name}' has dims [${info.shape}] but reading it gave ${ArrayBuffer.isView(raw) ? (raw as unknown as ArrayLike<number>).length : typeof raw} values`,
        { file: this.path, key: name },
      );
    }
    const data = castNumbers(raw as Numeric, dtype, info, this.path);
    const dims = info.shape;
    // The dataset is the column-major data: row-major over the reversed dims; reverse the axes back.
    return permute(
      { dtype, shape: [...dims].reverse(), data },
      dims.map((_, i) => dims.length - 1 - i),
    );
  }

  /** A char variable as a string (rows of a multi-row char array joined with '\n'). */
  readString(name: string): string {
    this.checkOpen();
    const e = this.entry(name);
    if (e.info.class !== 'char') throw new DataFormatError('unsupported', `variable '${name}' is ${e.info.class}, not char`, { file: this.path, key: name });
    if (e.empty) return '';
    const units = h5call(`read variable '${name}'`, this.path, () => e.ds!.value, name) as unknown as ArrayLike<number>;
    const rows = e.info.shape[0] ?? 0;
    const cols = rows === 0 ? 0 : numel(e.info.shape) / rows;
    if (units.length !== rows * cols)
      throw new DataFormatError('corrupt', `char variable '${name}' has dims [${e.info.shape}] but ${units.length} characters`, { file: this.path, key: name });
    const lines: string[] = [];
    for (let r = 0; r < rows; r++) {
      let s = '';
      for (let k = 0; k < cols; k++) s += String.fromCharCode(Number(units[r + k * rows]!));
      lines.push(s);
    }
    return lines.join('\n');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    h5call('close the file', this.path, () => this.file.close());
  }

  private checkOpen(): void {
    if (this.closed) throw new DataFormatError('bad-argument', 'file is closed', { file: this.path });
  }

  /** Class, MATLAB dims and readability of one root object, from its attributes and metadata only. */
  private describe(name: string): Entry {
    const obj = h5call(`open variable '${name}'`, this.path, () => this.file.get(name), name);
    const kind = (obj as { type?: string } | null)?.type;
    const cls = String(attr(obj, 'MATLAB_class') ?? '');
    const base = { name, global: Boolean(Number(attr(obj, 'MATLAB_global') ?? 0)), offset: 0 };
    if (kind === 'Group') {
      // structs, sparse matrices and objects are groups; their shape is not one dataset's
      const sparse = cls !== '' && attr(obj, 'MATLAB_sparse') !== undefined;
      const info: MatVariableInfo = { ...base, class: sparse ? 'sparse' : cls || 'struct', shape: [], complex: false, compressed: false, numeric: false };
      if (sparse) {
        const rows = Number(attr(obj, 'MATLAB_sparse'));
        const jc = (obj as { get(n: string): H5Entity }).get('jc') as H5Dataset | null;
        const cols = jc?.shape?.[0] !== undefined ? jc.shape[0]! - 1 : 0;
        info.shape = [rows, cols];
      }
      return { info, empty: false };
    }
    if (kind !== 'Dataset')
      throw new DataFormatError('unsupported', `'${name}' is an HDF5 ${kind ?? 'link'}, not a MATLAB variable`, { file: this.path, key: name });
    const ds = obj as H5Dataset;
    const meta = h5call(`read the type of '${name}'`, this.path, () => ds.metadata, name);
    const h5shape = meta.shape ?? [];
    const empty = Number(attr(obj, 'MATLAB_empty') ?? 0) !== 0;
    let dims: number[];
    if (empty) {
      // The dataset holds the MATLAB dims themselves (e.g. [0, 3]), or is itself all-zero-sized.
      const v = h5call(`read the dims of empty '${name}'`, this.path, () => ds.value, name) as unknown;
      dims = ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number | bigint>, Number) : [0, 0];
    } else {
      dims = [...h5shape].reverse();
      if (dims.length === 1) dims.push(1); // MATLAB arrays have at least two dims: a vector is a column
      if (dims.length === 0) dims = [1, 1];
    }
    const complex = meta.type === this.H5T_COMPOUND;
    const decode = Number(attr(obj, 'MATLAB_object_decode') ?? 0);
    const numeric = !complex && decode === 0 && MATLAB_CLASS_DTYPE[cls] !== undefined && (cls !== 'logical' || meta.size === 1);
    const compressed = (ds as unknown as { filters?: unknown[] }).filters?.length ? true : false;
    return { info: { ...base, class: cls || 'unknown', shape: dims, complex, compressed, numeric }, ds, empty };
  }
}

function castEmpty(dtype: string, info: MatVariableInfo): HostArray {
  const empty = castNumbers(new Float64Array(0), dtype as HostArray['dtype'], info, '');
  return { dtype: dtype as HostArray['dtype'], shape: [...info.shape], data: empty };
}

/** Opens a MATLAB v7.3 MAT-file (the wasm HDF5 module loads on first call). */
export async function openMat73(path: string): Promise<Mat73File> {
  const { h5, file } = await openHdf5ForReading(path);
  try {
    return new Mat73File(file, path, h5.Module.H5T_class_t.H5T_COMPOUND.value);
  } catch (e) {
    h5call('close the file', path, () => file.close());
    throw e;
  }
}

/** Opens any MAT-file by path: v7.3 (HDF5) or v5 (Level 5), by its header. */
export async function openMatFile(path: string): Promise<MatReader> {
  return isMat73Header(readHead(path, 128)) ? openMat73(path) : openMat(path);
}

/** Every real numeric/logical variable of a MAT-file of either version, by name, in file order. */
export async function readMatFile(path: string, opts: MatReadOptions & { unsupported?: 'skip' | 'throw' } = {}): Promise<Map<string, HostArray>> {
  const f = await openMatFile(path);
  try {
    const out = new Map<string, HostArray>();
    for (const v of f.variables) {
      if (v.numeric) out.set(v.name, f.read(v.name, opts));
      else if (v.class !== 'char' && opts.unsupported === 'throw') f.read(v.name);
    }
    return out;
  } finally {
    f.close();
  }
}
