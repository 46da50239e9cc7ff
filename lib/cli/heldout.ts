/**
 * The held-out report of a --scene run: a trained model (and any others given, e.g. pre-trained
 * networks) against every classical baseline (EXP, Brovey, BT-H, GSA, MTF-GLP-HPM) on the same
 * held-out tiles, with the toolbox metrics on DN. At reduced resolution it is computed twice:
 * without a border cut and with the DLPan demos' 21-pixel cut, because the two conventions rank
 * methods differently (MTF-GLP-HPM's ERGAS is dominated by a few border pixels).
 */
import { fromHost, type Tensor } from '../tensor.js';
import type { Module } from '../module.js';
import type { HostArray } from '../host.js';
import type { TileSet } from '../protocol/index.js';
import { fullResolutionMetricsBatch, reducedResolutionMetricsBatch } from '../metrics/index.js';
import { baselines, type BaselineName } from '../baselines/index.js';

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

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

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
  model: Module, stage: number, set: TileSet, resolution: Resolution, sensor: string, scale: number, others: ReportModel[] = [],
): Promise<HeldOutReport> {
  const owned: Tensor[] = [];
  const own = (x: Tensor) => { owned.push(x); return x; };
  try {
    const unit = { lms: own(fromHost(set.lms)), pan: own(fromHost(set.pan)), ms: own(fromHost(set.ms)) };
    const dn = { lms: own(fromHost(toDN(set.lms, scale))), pan: own(fromHost(toDN(set.pan, scale))), ms: own(fromHost(toDN(set.ms, scale))) };
    const gt = resolution === 'reduced' ? own(fromHost(toDN(set.gt!, scale))) : undefined;
    // Every output in DN, in table order.
    const outputs: Array<[string, Tensor]> = [];
    for (const m of [{ name: model.spec.family, model, stage }, ...others]) {
      const inputs: Record<string, Tensor> = unit;
      const wanted = m.model.spec.inputs.filter((k) => k in inputs);
      const y = own(await m.model.forward(Object.fromEntries(wanted.map((k) => [k, inputs[k]!])), { stage: m.stage }));
      outputs.push([m.name, own(y.mul(scale))]);
    }
    // EXP is the lms itself: baselines.exp would re-interpolate each small MS tile, with border
    // artefacts the scene-level interp23tap (what the models and the other methods get) does not have.
    outputs.push(['EXP', dn.lms]);
    for (const name of BASELINES.filter((b) => b !== 'EXP')) outputs.push([name, own(await baselines[name]({ ...dn, sensor, ratio: 4 }))]);
    const tiles = set.lms.shape[0]!;
    if (resolution === 'full') {
      const methods: HeldOutReport['methods'] = {};
      for (const [name, img] of outputs) {
        const r = await fullResolutionMetricsBatch(img, { lms: dn.lms, pan: dn.pan, sensor, ratio: 4, metrics: FULL });
        methods[name] = Object.fromEntries(FULL.map((k) => [k, mean(r.map((x) => x[k]))]));
      }
      return { resolution, tiles, methods };
    }
    const table = async (dimCut: number) => {
      const methods: HeldOutReport['methods'] = {};
      for (const [name, img] of outputs) {
        const r = await reducedResolutionMetricsBatch(img, gt!, { ratio: 4, dimCut, metrics: REDUCED });
        methods[name] = Object.fromEntries(REDUCED.map((k) => [k, mean(r.map((x) => x[k]))]));
      }
      return methods;
    };
    const report: HeldOutReport = { resolution, tiles, methods: await table(0) };
    if (set.lms.shape[2]! >= MIN_SIDE_FOR_CUT) report.cut21 = await table(BORDER_CUT);
    return report;
  } finally {
    for (const x of owned) x.dispose();
  }
}
