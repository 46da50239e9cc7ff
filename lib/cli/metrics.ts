/** `specfuse metrics`: the toolbox quality indices of a fused image read from a file (.mat, .h5, GeoTIFF). */
import { performance } from 'node:perf_hooks';
import type { HostArray } from '../host.js';
import { fromHost, type Tensor } from '../tensor.js';
import { fullResolutionMetricsBatch, reducedResolutionMetricsBatch, summarize } from '../metrics/index.js';
import { DataFormatError, convertDType, loadPansharpeningInput, openMatFile, permute, readGeoTiff, sensorFromPath, sniffFormat } from '../data/index.js';
import { checkHdf5File, h5call, h5wasm } from '../data/hdf5.js';
import { intOption, parse, UsageError } from './args.js';

export const metricsHelp = `specfuse metrics --fused FILE (--gt FILE | --ms FILE --pan FILE) [options]

Computes the pansharpening quality indices of a fused image as the reference MATLAB toolbox does,
on digital numbers (DN): reduced resolution against a ground truth (Q, SAM, ERGAS, SCC, Q2n, PSNR,
SSIM), or full resolution from the MS and PAN (D_lambda, D_s, QNR, D_lambda_K, HQNR).
  --fused    the fused image: .mat (variable sr, fused, I_F, output, or the only array; H×W×C or
             N×H×W×C), .h5 (dataset sr, fused, output or the only one; C×H×W or N×C×H×W), GeoTIFF
  --gt       reference: .mat/.h5 with gt / I_GT (PanCollection or toolbox layout), or a GeoTIFF
  --ms       full resolution: the low-resolution MS (.mat/.h5 with ms / I_MS_LR, or a GeoTIFF)
  --lms      ... or the MS already upsampled to the PAN grid (lms / I_MS), instead of --ms
  --pan      full resolution: the PAN (.mat/.h5 with pan / I_PAN, or a GeoTIFF)
  --sensor   MTF of the full-resolution indices (WV3, WV2, QB, GF2, IKONOS, GeoEye1, WV4, none);
             default: what the file names say
  --sample   with files holding N > 1 images: use image I (0-based) of each (a file of one image
             is taken as that image, e.g. the output of 'specfuse eval --sample I')
  --ratio    PAN/MS scale ratio (default 4)
  --bits     radiometric resolution in bits (default 11)
  --cut      border cut dim_cut of the reduced-resolution indices (default 0: none; DLPan uses 21)
  --scale    multiply every image by this first (default 1: the files are in DN)
  --json     machine-readable output: {"kind", "count", "metrics": {...}, "perImage": [...], "conventions"}`;

export type ImageRole = 'fused' | 'gt' | 'ms' | 'lms' | 'pan';

const NAMES: Record<ImageRole, string[]> = {
  fused: ['sr', 'fused', 'I_F', 'I_Fus', 'output', 'out'],
  gt: ['gt', 'I_GT', 'GT'],
  ms: ['ms', 'I_MS_LR', 'MS'],
  lms: ['lms', 'I_MS', 'I_MS_UP', 'LMS'],
  pan: ['pan', 'I_PAN', 'PAN'],
};

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
    image = (role === 'fused' ? undefined : await fromPansharpeningFile(path, role)) ??
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
  const hit = NAMES[role].find((n) => names.includes(n));
  if (hit) return hit;
  const arrays = names.filter(numeric);
  if (arrays.length === 1) return arrays[0]!;
  throw new DataFormatError('missing-key', `no ${role} image (looked for ${NAMES[role].join(', ')}, or a file with a single array; found: ${names.join(', ') || 'nothing'})`, { file });
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
    const ds = file.get(name) as import('../data/hdf5.js').H5Dataset;
    const shape = h5call(`read the shape of '${name}'`, path, () => ds.shape ?? [], name);
    const value = h5call(`read '${name}'`, path, () => ds.value, name) as unknown;
    const dtypes: [new (...a: never[]) => unknown, HostArray['dtype']][] = [
      [Float32Array, 'float32'], [Float64Array, 'float64'], [Uint16Array, 'uint16'], [Int16Array, 'int16'],
      [Uint8Array, 'uint8'], [Int8Array, 'int8'], [Int32Array, 'int32'], [BigInt64Array, 'int64'],
    ];
    const hit = dtypes.find(([ctor]) => value instanceof ctor);
    if (!hit) throw new DataFormatError('unsupported', `'${name}' does not hold integer or float samples`, { file: path, key: name });
    return { dtype: hit[1], shape: [...shape], data: value as HostArray['data'] };
  } finally {
    h5call('close the file', path, () => file.close());
  }
}

/** Picks image `sample` of an N×C×H×W array holding several; a file of one image is that image. */
export function selectSample(a: HostArray, sample: number | undefined, what: string): HostArray {
  const [n, c, h, w] = a.shape as [number, number, number, number];
  if (sample === undefined || n === 1) return a;
  if (sample < 0 || sample >= n) throw new UsageError(`--sample: ${what} holds ${n} images; ${sample} is out of range`);
  const size = c * h * w;
  return { dtype: a.dtype, shape: [1, c, h, w], data: a.data.subarray(sample * size, (sample + 1) * size) as HostArray['data'] };
}

type Row = Record<string, number>;

export function formatTable(rows: { name: string; values: Row; spread?: Row }[], columns: { key: string; label: string }[], digits = 4): string {
  const cell = (v: number | undefined, s?: number) => (v === undefined ? '-' : s === undefined ? v.toFixed(digits) : `${v.toFixed(digits)}±${s.toFixed(digits)}`);
  const table = [['method', ...columns.map((c) => c.label)], ...rows.map((r) => [r.name, ...columns.map((c) => cell(r.values[c.key], r.spread?.[c.key]))])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

export const REDUCED_COLUMNS = (bands: number) => [
  { key: 'SAM', label: 'SAM↓' }, { key: 'ERGAS', label: 'ERGAS↓' }, { key: 'Q2n', label: `Q${bands}↑` }, { key: 'Q', label: 'Q↑' },
  { key: 'SCC', label: 'SCC↑' }, { key: 'PSNR', label: 'PSNR↑' }, { key: 'SSIM', label: 'SSIM↑' },
];
export const FULL_COLUMNS = [
  { key: 'D_lambda', label: 'D_λ↓' }, { key: 'D_s', label: 'D_s↓' }, { key: 'QNR', label: 'QNR↑' },
  { key: 'D_lambda_K', label: 'D_λ^K↓' }, { key: 'HQNR', label: 'HQNR↑' },
];

/** Mean (and sample std with two or more images) of per-image results. */
export function meanAndSpread(list: readonly Record<string, unknown>[]): { values: Row; spread?: Row } {
  if (list.length === 1) {
    const values: Row = {};
    for (const [k, v] of Object.entries(list[0]!)) if (typeof v === 'number') values[k] = v;
    return { values };
  }
  const s = summarize(list as { conventions?: unknown }[]);
  const values: Row = {}, spread: Row = {};
  for (const [k, m] of Object.entries(s.metrics as Record<string, { mean: number; std: number }>)) { values[k] = m.mean; spread[k] = m.std; }
  return { values, spread };
}

export const stripConventions = <T extends { conventions?: unknown }>(r: T): Omit<T, 'conventions'> => {
  const { conventions: _c, ...rest } = r;
  return rest;
};

function numberOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name}: expected a positive number, got '${value}'`);
  return n;
}

export async function metrics(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    fused: { type: 'string' }, gt: { type: 'string' }, ms: { type: 'string' }, lms: { type: 'string' }, pan: { type: 'string' },
    sensor: { type: 'string' }, sample: { type: 'string' }, ratio: { type: 'string' }, bits: { type: 'string' }, cut: { type: 'string' },
    scale: { type: 'string' }, json: { type: 'boolean' },
  });
  if (values.help) { console.log(metricsHelp); return; }
  if (!values.fused) throw new UsageError('--fused is required');
  const reduced = values.gt !== undefined;
  if (reduced && (values.ms || values.lms || values.pan)) throw new UsageError('give either --gt (reduced resolution) or --ms/--lms and --pan (full resolution), not both');
  if (!reduced && (!(values.ms || values.lms) || !values.pan)) throw new UsageError('give --gt (reduced resolution), or --ms (or --lms) and --pan (full resolution)');
  if (values.ms && values.lms) throw new UsageError('give --ms or --lms, not both');
  const sample = intOption(values.sample, 'sample');
  const ratio = intOption(values.ratio, 'ratio') ?? 4;
  const bits = intOption(values.bits, 'bits') ?? 11;
  const cut = intOption(values.cut, 'cut') ?? 0;
  if (cut < 0) throw new UsageError(`--cut: expected 0 or more, got ${cut}`);
  const scale = numberOption(values.scale, 'scale') ?? 1;
  const t0 = performance.now();

  const fusedHost = selectSample(await readImageRole(values.fused, 'fused'), sample, values.fused);
  const [n, bands, h, w] = fusedHost.shape as [number, number, number, number];
  const made: Tensor[] = [];
  const tensorOf = (a: HostArray) => { const t = fromHost(a); made.push(t); return t; };
  try {
    const fused = tensorOf(fusedHost);
    let out: { kind: 'reduced-resolution' | 'full-resolution'; list: Record<string, unknown>[]; conventions: unknown };
    if (reduced) {
      const gtHost = selectSample(await readImageRole(values.gt!, 'gt'), sample, values.gt!);
      if (gtHost.shape.join() !== fusedHost.shape.join()) {
        const hint = gtHost.shape[0] !== n ? ' (pass --sample I to compare one image of a batch)' : '';
        throw new Error(`--gt: shape [${gtHost.shape}] (N×C×H×W) does not match the fused image's [${fusedHost.shape}]${hint}`);
      }
      const r = await reducedResolutionMetricsBatch(fused, tensorOf(gtHost), { ratio, bits, dimCut: cut, scale });
      out = { kind: 'reduced-resolution', list: r.map(stripConventions), conventions: r[0]!.conventions };
    } else {
      const msRole = values.ms ? 'ms' : 'lms';
      const msPath = (values.ms ?? values.lms)!;
      const msHost = selectSample(await readImageRole(msPath, msRole), sample, msPath);
      const panHost = selectSample(await readImageRole(values.pan!, 'pan'), sample, values.pan!);
      const sensor = values.sensor ?? [values.fused, msPath, values.pan!].map(sensorFromPath).find(Boolean);
      if (!sensor) throw new UsageError('--sensor is required for the full-resolution indices (the MTF of D_lambda_K / HQNR); the file names do not say');
      const check = (a: HostArray, what: string, c: number, hh: number, ww: number) => {
        if (a.shape[0] !== n || a.shape[1] !== c || a.shape[2] !== hh || a.shape[3] !== ww) {
          throw new Error(`${what}: shape [${a.shape}] does not fit the fused image [${fusedHost.shape}] (expected [${n}, ${c}, ${hh}, ${ww}]${a.shape[0] !== n ? '; pass --sample I for one image of a batch' : ''})`);
        }
      };
      if (msRole === 'ms') check(msHost, '--ms', bands, h / ratio, w / ratio);
      else check(msHost, '--lms', bands, h, w);
      check(panHost, '--pan', 1, h, w);
      const r = await fullResolutionMetricsBatch(fused, { [msRole]: tensorOf(msHost), pan: tensorOf(panHost), sensor, ratio, bits, scale });
      out = { kind: 'full-resolution', list: r.map(stripConventions), conventions: r[0]!.conventions };
    }
    const summary = meanAndSpread(out.list);
    const seconds = (performance.now() - t0) / 1000;
    if (values.json) {
      console.log(JSON.stringify({ kind: out.kind, count: n, metrics: summary.values, ...(summary.spread ? { std: summary.spread } : {}), perImage: out.list, conventions: out.conventions, seconds }));
      return;
    }
    console.log(`${out.kind} indices of ${values.fused} (${n} image${n === 1 ? '' : 's'}, ${bands} bands, ${h}×${w}; ${n > 1 ? 'mean±std; ' : ''}` +
      `ratio ${ratio}, ${bits} bits${out.kind === 'reduced-resolution' ? `, ${cut ? `border cut ${cut}` : 'no border cut'}` : ''}${scale !== 1 ? `, ×${scale}` : ''})\n`);
    console.log(formatTable([{ name: 'fused', ...summary }], out.kind === 'reduced-resolution' ? REDUCED_COLUMNS(bands) : FULL_COLUMNS));
  } finally {
    for (const t of made) if (!t.disposed) t.dispose();
  }
}

