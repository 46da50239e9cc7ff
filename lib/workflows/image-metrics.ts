/**
 * The toolbox quality indices of a fused image read from files (.mat, .h5, GeoTIFF), on DN:
 * reduced resolution against a ground truth, or full resolution from the MS (or LMS) and PAN.
 */
import { performance } from 'node:perf_hooks';
import type { HostArray } from '../host.js';
import { fromHost, scope } from '../tensor.js';
import { fullResolutionMetricsBatch, meanAndSpread, reducedResolutionMetricsBatch, stripConventions } from '../metrics/index.js';
import { readImageRole, sensorFromPath } from '../data/index.js';
import { checkAborted, WorkflowInputError, WorkflowOptionError } from './workflow-errors.js';

export interface ImageMetricsOptions {
  /** The fused image's file. */
  fused: string;
  /** Reduced resolution: the reference's file. */
  gt?: string;
  /** Full resolution: the low-resolution MS's file (or `lms`, the MS on the PAN grid) and the PAN's. */
  ms?: string;
  lms?: string;
  pan?: string;
  /** MTF of the full-resolution indices (default: what the file names say). */
  sensor?: string;
  /** With files of N > 1 images: image `sample` of each (a file of one image is that image). */
  sample?: number;
  /** PAN/MS ratio (default 4), radiometric bits (default 11), border cut (default 0). */
  ratio?: number;
  bits?: number;
  cut?: number;
  /** Every image is multiplied by this first (default 1: the files are in DN). */
  scale?: number;
  signal?: AbortSignal;
}

export interface ImageMetrics {
  kind: 'reduced-resolution' | 'full-resolution';
  /** Images scored, and the fused image's bands, height and width. */
  count: number;
  bands: number;
  height: number;
  width: number;
  /** Mean (the value, for one image) and sample std (two or more) per metric. */
  metrics: Record<string, number>;
  std?: Record<string, number>;
  perImage: Record<string, unknown>[];
  conventions: unknown;
  seconds: number;
}

/** Picks image `sample` of an N×C×H×W array holding several; a file of one image is that image. */
export function selectSample(a: HostArray, sample: number | undefined, what: string): HostArray {
  const [n, c, h, w] = a.shape as [number, number, number, number];
  if (sample === undefined || n === 1) return a;
  if (sample < 0 || sample >= n) throw new WorkflowOptionError('sample', `sample: ${what} holds ${n} images; ${sample} is out of range`);
  const size = c * h * w;
  return { dtype: a.dtype, shape: [1, c, h, w], data: a.data.subarray(sample * size, (sample + 1) * size) as HostArray['data'] };
}

/** Scores the fused image of `o.fused` (see ImageMetricsOptions). */
export async function imageMetrics(o: ImageMetricsOptions): Promise<ImageMetrics> {
  const reduced = o.gt !== undefined;
  if (reduced && (o.ms || o.lms || o.pan))
    throw new WorkflowOptionError('gt', 'give either gt (reduced resolution) or ms/lms and pan (full resolution), not both');
  if (!reduced && (!(o.ms || o.lms) || !o.pan)) throw new WorkflowOptionError('gt', 'give gt (reduced resolution), or ms (or lms) and pan (full resolution)');
  if (o.ms && o.lms) throw new WorkflowOptionError('ms', 'give ms or lms, not both');
  const { sample } = o;
  const ratio = o.ratio ?? 4,
    bits = o.bits ?? 11,
    cut = o.cut ?? 0,
    scale = o.scale ?? 1;
  if (cut < 0) throw new WorkflowOptionError('cut', `cut: expected 0 or more, got ${cut}`);
  const t0 = performance.now();
  const fusedHost = selectSample(await readImageRole(o.fused, 'fused'), sample, o.fused);
  const [n, bands, h, w] = fusedHost.shape as [number, number, number, number];
  checkAborted(o.signal);
  const out = await scope(async () => {
    const fused = fromHost(fusedHost);
    if (reduced) {
      const gtHost = selectSample(await readImageRole(o.gt!, 'gt'), sample, o.gt!);
      if (gtHost.shape.join() !== fusedHost.shape.join()) {
        const hint = gtHost.shape[0] !== n ? ' (set sample I to compare one image of a batch)' : '';
        throw new WorkflowInputError('gt', `gt: shape [${gtHost.shape}] (N×C×H×W) does not match the fused image's [${fusedHost.shape}]${hint}`);
      }
      const r = await reducedResolutionMetricsBatch(fused, fromHost(gtHost), { ratio, bits, dimCut: cut, scale });
      return { kind: 'reduced-resolution' as const, list: r.map(stripConventions), conventions: r[0]!.conventions };
    }
    const msRole = o.ms ? 'ms' : 'lms';
    const msPath = (o.ms ?? o.lms)!;
    const msHost = selectSample(await readImageRole(msPath, msRole), sample, msPath);
    const panHost = selectSample(await readImageRole(o.pan!, 'pan'), sample, o.pan!);
    const sensor = o.sensor ?? [o.fused, msPath, o.pan!].map(sensorFromPath).find(Boolean);
    if (!sensor)
      throw new WorkflowOptionError('sensor', 'sensor is required for the full-resolution indices (the MTF of D_lambda_K / HQNR); the file names do not say');
    const check = (a: HostArray, what: string, c: number, hh: number, ww: number) => {
      if (a.shape[0] !== n || a.shape[1] !== c || a.shape[2] !== hh || a.shape[3] !== ww) {
        throw new WorkflowInputError(
          what,
          `${what}: shape [${a.shape}] does not fit the fused image [${fusedHost.shape}] (expected [${n}, ${c}, ${hh}, ${ww}]${a.shape[0] !== n ? '; set sample I for one image of a batch' : ''})`,
        );
      }
    };
    if (msRole === 'ms') check(msHost, 'ms', bands, h / ratio, w / ratio);
    else check(msHost, 'lms', bands, h, w);
    check(panHost, 'pan', 1, h, w);
    const r = await fullResolutionMetricsBatch(fused, { [msRole]: fromHost(msHost), pan: fromHost(panHost), sensor, ratio, bits, scale });
    return { kind: 'full-resolution' as const, list: r.map(stripConventions), conventions: r[0]!.conventions };
  });
  const summary = meanAndSpread(out.list);
  return {
    kind: out.kind,
    count: n,
    bands,
    height: h,
    width: w,
    metrics: summary.values,
    ...(summary.spread ? { std: summary.spread } : {}),
    perImage: out.list,
    conventions: out.conventions,
    seconds: (performance.now() - t0) / 1000,
  };
}
