/**
 * Classical pansharpening baselines on native libtorch ops (native/ops/baselines.cc), reproducing the
 * MATLAB toolbox of Vivone et al. as shipped in DLPan-Toolbox:
 *
 * - `exp`: EXP, the MS upsampled by interp23tap.
 * - `brovey`: Brovey with the toolbox's PAN equalisation to the mean-band intensity.
 * - `btH`: BT-H (BT-H/BroveyRegHazeMin.m): Brovey with haze correction and regression weights.
 * - `gsa`: GSA (GS/GSA.m): Gram-Schmidt adaptive, intensity by regression of the LPfilterPlusDec'd
 *   PAN on the LR MS bands (with a constant).
 * - `mtfGlpHpm`: MTF-GLP-HPM (GLP/MTF_GLP_HPM.m): high-pass modulation with the sensor MTF filters.
 *
 * Inputs: `ms` the MS at its own resolution ([C, h, w] or [N, C, h, w]), `pan` the PAN
 * ([H, W], [1, H, W] or [N, 1, H, W], H = ratio·h), optionally `lms` = the MS on the PAN grid (default:
 * interp23tap(ms), which is what PanCollection's `lms` holds). Values in DN (the haze and eps
 * guards assume DN, as the toolbox does). Statistics are global per image. Results are
 * [C, H, W] / [N, C, H, W] float64 (float32 when the lms/ms is float32) unless `dtype` says.
 */
import { native, type NativeTensor } from '../native.js';
import { Tensor } from '../tensor.js';
import {
  checkImage,
  checkOutDType,
  checkRatio,
  checkSameBatching,
  dims,
  isBatched,
  resolveSensor,
  type OutDType,
  type ProtocolSensor,
} from '../protocol/argument-checks.js';

export interface BaselineInput {
  /** MS at its own resolution (needed by exp and gsa, and whenever `lms` is not given). */
  ms?: Tensor;
  /** PAN (needed by everything but exp). */
  pan?: Tensor;
  /** MS upsampled to the PAN grid; default interp23tap(ms, ratio). */
  lms?: Tensor;
  /** Needed by mtfGlpHpm. */
  sensor?: ProtocolSensor | string;
  /** PAN/MS ratio (default 4). */
  ratio?: number;
  dtype?: OutDType;
}

export type BaselineName = 'EXP' | 'Brovey' | 'BT-H' | 'GSA' | 'MTF-GLP-HPM';

function checkInput(input: BaselineInput, need: { ms?: boolean; pan?: boolean }): { ratio: number } {
  if (input === null || typeof input !== 'object') throw new TypeError('input: expected an object { ms, pan, lms?, sensor?, ratio? }');
  const ratio = checkRatio(input.ratio ?? 4);
  if (need.ms || input.lms === undefined) {
    if (input.ms === undefined) throw new TypeError(need.ms ? 'ms: missing' : 'ms: missing (give ms or lms)');
    checkImage(input.ms, 'ms');
  }
  if (input.lms !== undefined) checkImage(input.lms, 'lms');
  if (need.pan) {
    if (input.pan === undefined) throw new TypeError('pan: missing');
    checkImage(input.pan, 'pan', { pan: true });
  }
  checkOutDType(input.dtype);
  const ref = input.lms ?? input.ms!;
  if (input.pan !== undefined && need.pan) {
    if (input.pan.ndim === 4 || isBatched(ref)) checkSameBatching(ref, input.pan, input.lms ? 'lms' : 'ms', 'pan');
    const [, , ph, pw] = dims(input.pan);
    if (input.lms) {
      const [, , h, w] = dims(input.lms);
      if (h !== ph || w !== pw) throw new RangeError(`lms: ${h}x${w} does not match the pan's ${ph}x${pw}`);
    }
    if (input.ms) {
      const [, , h, w] = dims(input.ms);
      if (h * ratio !== ph || w * ratio !== pw) throw new RangeError(`ms: ${h}x${w} times the ratio ${ratio} is not the pan's ${ph}x${pw}`);
    }
  }
  if (input.lms && input.ms) {
    checkSameBatching(input.lms, input.ms, 'lms', 'ms');
    if (dims(input.lms)[1] !== dims(input.ms)[1]) throw new RangeError(`lms: ${dims(input.lms)[1]} bands but ms has ${dims(input.ms)[1]}`);
  }
  return { ratio };
}

/** Runs `f` on the lms (given, or interp23tap(ms) made and freed here) and a PAN with a channel axis. */
async function withLms(input: BaselineInput, ratio: number, f: (lms: NativeTensor, pan: NativeTensor) => Promise<NativeTensor>): Promise<Tensor> {
  let lms: NativeTensor | undefined;
  let pan: Tensor | undefined;
  try {
    lms = input.lms?.native ?? (await native.interp23tap(input.ms!.native, ratio));
    pan = input.pan!.ndim === 2 ? input.pan!.unsqueeze(0) : input.pan!;
    return new Tensor(await f(lms, pan.native));
  } finally {
    if (lms && lms !== input.lms?.native) lms.dispose();
    if (pan && pan !== input.pan) pan.dispose();
  }
}

function defaultDType(input: BaselineInput): OutDType {
  return input.dtype ?? ((input.lms ?? input.ms)!.dtype === 'float32' ? 'float32' : 'float64');
}

/** EXP: interp23tap(ms, ratio). */
export async function exp(input: BaselineInput): Promise<Tensor> {
  const { ratio } = checkInput(input, { ms: true });
  return new Tensor(await native.baselineExp(input.ms!.native, ratio, checkOutDType(input.dtype)));
}

/** Brovey: lms_b · P / (mean_b lms + eps), P = PAN equalised (mean, std) to the mean-band intensity. */
export async function brovey(input: BaselineInput): Promise<Tensor> {
  const { ratio } = checkInput(input, { pan: true });
  return withLms(input, ratio, (lms, pan) => native.baselineBrovey(lms, pan, defaultDType(input)));
}

/** BT-H (BroveyRegHazeMin.m): Brovey with haze correction. */
export async function btH(input: BaselineInput): Promise<Tensor> {
  const { ratio } = checkInput(input, { pan: true });
  return withLms(input, ratio, (lms, pan) => native.baselineBtH(lms, pan, ratio, defaultDType(input)));
}

/** GSA (GSA.m): Gram-Schmidt adaptive component substitution. */
export async function gsa(input: BaselineInput): Promise<Tensor> {
  const { ratio } = checkInput(input, { ms: true, pan: true });
  return withLms(input, ratio, (lms, pan) => native.baselineGsa(lms, pan, input.ms!.native, ratio, defaultDType(input)));
}

/** MTF-GLP-HPM (MTF_GLP_HPM.m): MTF-matched GLP with high-pass modulation (ratio a power of two). */
export async function mtfGlpHpm(input: BaselineInput): Promise<Tensor> {
  const { ratio } = checkInput(input, { pan: true });
  if (input.sensor === undefined) throw new TypeError('sensor: missing (MTF-GLP-HPM needs the sensor MTF)');
  // a power-of-two ratio and a band count that fits the sensor are checked by mtf_glp_hpm (native/ops/baselines.cc)
  const id = resolveSensor(input.sensor);
  return withLms(input, ratio, (lms, pan) => native.baselineMtfGlpHpm(lms, pan, id, ratio, defaultDType(input)));
}

export const baselines: Record<BaselineName, (input: BaselineInput) => Promise<Tensor>> = {
  EXP: exp,
  Brovey: brovey,
  'BT-H': btH,
  GSA: gsa,
  'MTF-GLP-HPM': mtfGlpHpm,
};

/** Runs a baseline by its table name. */
export async function runBaseline(name: BaselineName, input: BaselineInput): Promise<Tensor> {
  const f = baselines[name];
  if (!f) throw new RangeError(`name: unknown baseline '${String(name)}' (known: ${Object.keys(baselines).join(', ')})`);
  return f(input);
}
