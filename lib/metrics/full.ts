/**
 * Full-resolution (no reference) quality indices: D_lambda, D_s, QNR, and Khan's D_lambda_K with
 * HQNR, as the reference MATLAB toolbox computes them (indexes_evaluation_FS.m; D_lambda.m and
 * D_s.m in their "toolbox 1.0" mode: UIQI on distinct blocks of the *upsampled* MS).
 *
 * Images are C×H×W in DN; H and W must be whole numbers of blocks (the toolbox refuses other
 * sizes). Inputs the metrics need but that are not given are derived natively, exactly as the
 * toolbox derives them: lms = interp23tap(ms, ratio), panLP = interp23tap(imresize(pan, 1/ratio),
 * ratio) (bicubic, antialiased), fusedMTF = MTF(fused, sensor, ratio).
 */
import type { Tensor } from '../tensor.js';
import { native, type NativeFullMetricInputs, type NativeFullMetricOptions } from '../native.js';
import { TOOLBOX_REFERENCE, bands, checkBatch, checkObject, checkOptional, checkSingle, checkTensor, spatial } from './common.js';

export type FullMetricName = 'D_lambda' | 'D_s' | 'QNR' | 'D_lambda_K' | 'HQNR';
export const fullMetricNames: readonly FullMetricName[] = Object.freeze(['D_lambda', 'D_s', 'QNR', 'D_lambda_K', 'HQNR']);

export interface FullResolutionInputs<K extends FullMetricName = FullMetricName> {
  /** I_MS: the MS image upsampled to the PAN size (C×H×W). Computed as interp23tap(ms, ratio) when absent. */
  lms?: Tensor;
  /** I_MS_LR: the original MS image, C×(H/ratio)×(W/ratio). Only used to compute lms. */
  ms?: Tensor;
  /** I_PAN: H×W or 1×H×W (N×1×H×W for a batch). Needed by D_s, QNR, HQNR. */
  pan?: Tensor;
  /** PAN_LP = interp23tap(imresize(PAN, 1/ratio), ratio), as pan. Computed from pan when absent. */
  panLP?: Tensor;
  /** MTF(fused, sensor, ratio) (C×H×W), for D_lambda_K / HQNR. Computed from fused when absent. */
  fusedMTF?: Tensor;
  /** Sensor of the MTF filter (QB, IKONOS, GeoEye1, WV2, WV3, WV4, GF2, none): needed unless fusedMTF is given. */
  sensor?: string;
  /** PAN/MS scale ratio. Default 4. */
  ratio?: number;
  /** Radiometric resolution L in bits (thValues clips to [0, 2^L]). Default 11. */
  bits?: number;
  /** Block size S of the distinct-block Q and of Q2n. Default 32. */
  blockSize?: number;
  /** th_values: clip the fused image to [0, 2^L] first (before the MTF filtering too). Default false. */
  thValues?: boolean;
  /** Every image is multiplied by this first (e.g. 2047 for data in [0, 1]). Default 1. */
  scale?: number;
  /** D_lambda exponent p (default 1), D_s exponent q (default 1), QNR exponents alpha, beta (default 1). */
  p?: number;
  q?: number;
  alpha?: number;
  beta?: number;
  /** The metrics to compute (default all, in the order of fullMetricNames). */
  metrics?: readonly K[];
}

export type InputSource = 'given' | 'computed' | null;

export interface FullConventions {
  kind: 'full-resolution';
  reference: string;
  layout: 'CHW';
  computeDtype: 'float64';
  device: string;
  bands: number;
  size: [number, number];
  ratio: number;
  bits: number;
  dataRange: number;
  blockSize: number;
  thValues: boolean;
  scale: number;
  sensor: string | null;
  p: number;
  q: number;
  alpha: number;
  beta: number;
  /** Where each derived input came from ('computed' = by the toolbox recipe; null = not used). */
  inputs: { lms: InputSource; panLP: InputSource; fusedMTF: InputSource };
  definitions: {
    D_lambda: string;
    D_s: string;
    QNR: string;
    D_lambda_K: string;
    HQNR: string;
  };
}

export const FULL_DEFINITIONS: FullConventions['definitions'] = Object.freeze({
  D_lambda:
    'D_lambda.m toolbox mode: (mean over band pairs |Q(F_i,F_j) - Q(MS_i,MS_j)|^p)^(1/p), UIQI averaged over distinct S×S blocks of fused and upsampled MS',
  D_s: 'D_s.m toolbox mode: (mean over bands |Q(F_b,PAN) - Q(MS_b,PAN_LP)|^q)^(1/q), distinct S×S blocks, PAN_LP = interp23tap(imresize(PAN,1/ratio))',
  QNR: 'QNR.m: (1 - D_lambda)^alpha (1 - D_s)^beta',
  D_lambda_K: 'D_lambda_K.m (Khan): 1 - Q2n(MS, MTF(F)) with S×S blocks, shift S',
  HQNR: 'HQNR.m: (1 - D_lambda_K)(1 - D_s)',
});

export type FullResolutionMetrics<K extends FullMetricName = FullMetricName> = { [P in K]: number } & {
  conventions: FullConventions;
};

const INPUT_KEYS = ['lms', 'ms', 'pan', 'panLP', 'fusedMTF'] as const;
const OPTION_KEYS = ['sensor', 'ratio', 'bits', 'blockSize', 'thValues', 'scale', 'p', 'q', 'alpha', 'beta', 'metrics'] as const;

interface Resolved {
  inputs: NativeFullMetricInputs;
  options: NativeFullMetricOptions;
  conventions: Omit<FullConventions, 'device' | 'bands' | 'size'>;
}

function resolve(fused: Tensor, args: FullResolutionInputs<FullMetricName>): Resolved {
  if (args === undefined || args === null)
    throw new TypeError(`inputs: expected an object {lms | ms, pan, panLP?, fusedMTF?, sensor, ...}, got ${String(args)}`);
  const a = checkObject(args, 'inputs') as FullResolutionInputs<FullMetricName>;
  for (const key of Object.keys(a)) {
    if (!(INPUT_KEYS as readonly string[]).includes(key) && !(OPTION_KEYS as readonly string[]).includes(key)) {
      throw new RangeError(`inputs.${key}: unknown input or option (inputs: ${INPUT_KEYS.join(', ')}; options: ${OPTION_KEYS.join(', ')})`);
    }
  }
  const tensors: Record<string, Tensor | undefined> = {};
  for (const key of INPUT_KEYS) tensors[key] = checkOptional(a[key], key);
  const num = (v: unknown, name: string, dflt: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number') throw new TypeError(`options.${name}: expected a number, got ${typeof v}`);
    return v;
  };
  if (a.sensor !== undefined && typeof a.sensor !== 'string') throw new TypeError('options.sensor: expected a string');
  if (a.thValues !== undefined && typeof a.thValues !== 'boolean') throw new TypeError('options.thValues: expected a boolean');
  if (a.metrics !== undefined && !Array.isArray(a.metrics)) throw new TypeError('options.metrics: expected an array of metric names');
  const options: NativeFullMetricOptions = {
    ratio: num(a.ratio, 'ratio', 4),
    bits: num(a.bits, 'bits', 11),
    blockSize: num(a.blockSize, 'blockSize', 32),
    thValues: a.thValues ?? false,
    scale: num(a.scale, 'scale', 1),
    p: num(a.p, 'p', 1),
    q: num(a.q, 'q', 1),
    alpha: num(a.alpha, 'alpha', 1),
    beta: num(a.beta, 'beta', 1),
    ...(a.sensor !== undefined ? { sensor: a.sensor } : {}),
    ...(a.metrics ? { metrics: a.metrics } : {}),
  };
  const asked = new Set<string>(a.metrics ?? fullMetricNames);
  const needDs = asked.has('D_s') || asked.has('QNR') || asked.has('HQNR');
  const needDlk = asked.has('D_lambda_K') || asked.has('HQNR');
  const inputs: NativeFullMetricInputs = {};
  for (const key of INPUT_KEYS) if (tensors[key]) inputs[key] = tensors[key]!.native;
  const source = (given: boolean, used: boolean): InputSource => (!used ? null : given ? 'given' : 'computed');
  return {
    inputs,
    options,
    conventions: {
      kind: 'full-resolution',
      reference: TOOLBOX_REFERENCE,
      layout: 'CHW',
      computeDtype: 'float64',
      ratio: options.ratio!,
      bits: options.bits!,
      dataRange: 2 ** options.bits!,
      blockSize: options.blockSize!,
      thValues: options.thValues!,
      scale: options.scale!,
      sensor: a.sensor ?? null,
      p: options.p!,
      q: options.q!,
      alpha: options.alpha!,
      beta: options.beta!,
      inputs: {
        lms: source(tensors.lms !== undefined, true),
        panLP: source(tensors.panLP !== undefined, needDs),
        fusedMTF: source(tensors.fusedMTF !== undefined, needDlk),
      },
      definitions: FULL_DEFINITIONS,
    },
  };
}

async function run<K extends FullMetricName>(fused: Tensor, args: FullResolutionInputs<K>): Promise<FullResolutionMetrics<K>[]> {
  const r = resolve(fused, args as FullResolutionInputs<FullMetricName>);
  const values = await native.metricsFull(fused.native, r.inputs, r.options);
  const conv: FullConventions = { ...r.conventions, device: fused.device, bands: bands(fused), size: spatial(fused) };
  return values.map((v) => ({ ...v, conventions: conv }) as FullResolutionMetrics<K>);
}

/**
 * The full-resolution indices of one fused image (C×H×W or 1×C×H×W, in DN). Resolves to
 * {D_lambda, D_s, QNR, D_lambda_K, HQNR, conventions} (or the subset in metrics).
 */
export async function fullResolutionMetrics<K extends FullMetricName = FullMetricName>(
  fused: Tensor,
  inputs: FullResolutionInputs<K>,
): Promise<FullResolutionMetrics<K>> {
  checkTensor(fused, 'fused');
  checkSingle(fused, 'fused', 'fullResolutionMetricsBatch');
  const [one] = await run(fused, inputs);
  return one!;
}

/** The indices of each image of an N×C×H×W batch (inputs batched alike; pan N×1×H×W). */
export async function fullResolutionMetricsBatch<K extends FullMetricName = FullMetricName>(
  fused: Tensor,
  inputs: FullResolutionInputs<K>,
): Promise<FullResolutionMetrics<K>[]> {
  checkTensor(fused, 'fused');
  checkBatch(fused, 'fused');
  return run(fused, inputs);
}
