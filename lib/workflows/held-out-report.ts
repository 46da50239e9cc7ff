/**
 * The held-out report of a --scene run: a trained model (and any others given, e.g. pre-trained
 * networks) against every classical baseline (EXP, Brovey, BT-H, GSA, MTF-GLP-HPM) on the same
 * held-out tiles, with the toolbox metrics on DN. At reduced resolution it is computed twice:
 * without a border cut and with the DLPan demos' 21-pixel cut, because the two conventions rank
 * methods differently (MTF-GLP-HPM's ERGAS is dominated by a few border pixels).
 */
import { fromHost, scope, type Tensor } from '../tensor.js';
import type { Module } from '../module.js';
import type { HostArray } from '../host.js';
import type { TileSet } from '../protocol/index.js';
import { fullResolutionMetricsBatch, meanAndSpread, reducedResolutionMetricsBatch } from '../metrics/index.js';
import { baselines, type BaselineName } from '../baselines/index.js';
import { checkAborted } from './workflow-errors.js';
import { runModel } from './run-model.js';

export type Resolution = 'reduced' | 'full';

/** The DLPan demos' border cut (MATLAB dim_cut = 21). */
export const BORDER_CUT = 21;
/** Q2n's blocks are 32 pixels: the cut tile (side − 2·21 + 1) must still hold one. */
const MIN_SIDE_FOR_CUT = 2 * BORDER_CUT - 1 + 32;

export interface HeldOutReport {
  resolution: Resolution;
  tiles: number;
  /** method -> metric -> mean over the held-out tiles (reduced resolution: no border cut) */
  methods: Record<string, Record<string, number>>;
  /** Reduced resolution, tiles of side >= 73: the same with the 21-pixel border cut. */
  cut21?: Record<string, Record<string, number>>;
}

export interface ReportModel {
  name: string;
  model: Module;
  stage: number;
}

const BASELINES: BaselineName[] = ['EXP', 'Brovey', 'BT-H', 'GSA', 'MTF-GLP-HPM'];
const REDUCED = ['SAM', 'ERGAS', 'Q2n', 'PSNR'] as const;
const FULL = ['D_lambda', 'D_s', 'QNR', 'HQNR'] as const;

/** Mean per metric over the tiles (the one averaging: meanAndSpread). */
const means = (list: readonly Record<string, unknown>[]) => meanAndSpread(list).values;

/** The tiles are in [0, 1] (DN / scale); the baselines' haze and eps guards assume DN. */
function toDN(h: HostArray, scale: number): HostArray {
  const src = h.data as Float32Array;
  const data = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) data[i] = src[i]! * scale;
  return { dtype: 'float32', shape: [...h.shape], data };
}

/**
 * `model`'s stage-`stage` output on the held-out tiles, then `others`, then the classical baselines
 * (all given the same lms, the interp23tap of the whole scene that the models see; EXP is that lms).
 */
export async function heldOutReport(
  model: Module,
  stage: number,
  set: TileSet,
  resolution: Resolution,
  sensor: string,
  scale: number,
  others: ReportModel[] = [],
  signal?: AbortSignal,
): Promise<HeldOutReport> {
  return scope(async () => {
    const unit = { lms: fromHost(set.lms), pan: fromHost(set.pan), ms: fromHost(set.ms) };
    const dn = { lms: fromHost(toDN(set.lms, scale)), pan: fromHost(toDN(set.pan, scale)), ms: fromHost(toDN(set.ms, scale)) };
    const gt = resolution === 'reduced' ? fromHost(toDN(set.gt!, scale)) : undefined;
    // Every output in DN, in table order.
    const outputs: Array<[string, Tensor]> = [];
    for (const m of [{ name: model.spec.family, model, stage }, ...others]) {
      checkAborted(signal);
      const y = await runModel(m.model, unit, { stage: m.stage });
      outputs.push([m.name, y.mul(scale)]);
    }
    // EXP is the lms itself: baselines.exp would re-interpolate each small MS tile, with border
    // artefacts the scene-level interp23tap (what the models and the other methods get) does not have.
    outputs.push(['EXP', dn.lms]);
    for (const name of BASELINES.filter((b) => b !== 'EXP')) outputs.push([name, await baselines[name]({ ...dn, sensor, ratio: 4 })]);
    const tiles = set.lms.shape[0]!;
    if (resolution === 'full') {
      const methods: HeldOutReport['methods'] = {};
      for (const [name, img] of outputs) {
        checkAborted(signal);
        const r = await fullResolutionMetricsBatch(img, { lms: dn.lms, pan: dn.pan, sensor, ratio: 4, metrics: FULL });
        methods[name] = pick(means(r), FULL);
      }
      return { resolution, tiles, methods };
    }
    const table = async (dimCut: number) => {
      const methods: HeldOutReport['methods'] = {};
      for (const [name, img] of outputs) {
        checkAborted(signal);
        const r = await reducedResolutionMetricsBatch(img, gt!, { ratio: 4, dimCut, metrics: REDUCED });
        methods[name] = pick(means(r), REDUCED);
      }
      return methods;
    };
    const report: HeldOutReport = { resolution, tiles, methods: await table(0) };
    if (set.lms.shape[2]! >= MIN_SIDE_FOR_CUT) report.cut21 = await table(BORDER_CUT);
    return report;
  });
}

/** The metrics of `keys`, in that order (the table's columns). */
const pick = (values: Record<string, number>, keys: readonly string[]) => Object.fromEntries(keys.map((k) => [k, values[k]!]));
