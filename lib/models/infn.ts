/**
 * INFN (Implicit Neural Feature Fusion, Deng et al., arXiv 2307.07288 / IEEE TCI 2024) for
 * multispectral/hyperspectral image fusion. No official code exists: the model is the reconstruction
 * of ../shared/reference/inf.md §3, built in C++ (native/models/infn.*); this file owns its typed
 * config, the presets and validation. Every guessed part of the reconstruction is a switch here,
 * with inf.md's recommended value as the default.
 *
 * Inputs: `lrhsi` B×S×h×w, `msi` B×s×(r·h)×(r·w), `hsi_up` B×S×(r·h)×(r·w) (the bicubic
 * upsampling of lrhsi, see lib/protocol/hyperspectral.ts); target `gt` B×S×(r·h)×(r·w).
 */
import { Module, type ModelPlan, type ModelSpec } from '../module.js';
import { bool, checkKeys, oneOf, positiveInt } from './validate.js';

export type InfnPreset = 'cave' | 'harvard' | 'tiny';

export interface InfnOptions {
  /** S: hyperspectral bands (31 for CAVE/Harvard). */
  bands: number;
  /** s: multispectral bands (3: RGB). */
  msiBands: number;
  /** r: the HR/LR size ratio (H = r·h); 4 and 8 in the literature, any integer works. */
  ratio: number;
  /** Width of both EDSR-baseline encoders (the cosine similarity compares their features). */
  feats: number;
  /** Res-blocks per encoder (nRB). */
  blocks: number;
  /** Hidden widths of the MLP (ReLU between layers), whose input is 3·feats + 2 (+ feats with hfMsi). */
  mlpHidden: number[];
  /** Q4: the spatial encoder sees cat[MSI, HSI_up] ('cat', FeINFN) or the MSI alone ('msi'). */
  spatialInput: 'cat' | 'msi';
  /** Q1: add JIIF's third high-frequency term G(x_q) − G_lr(x_i) to the MLP input. */
  hfMsi: boolean;
  /** Q2: INR-CS weights: softmax of the cosines / temperature, or non-negative cosines normalised by their sum ('cosine'). */
  weighting: 'softmax' | 'cosine';
  temperature: number;
  /** Q8: LR neighbours outside the image are zeros (JIIF's grid_sample) or clamped to the border ('clamp', LIIF). */
  border: 'zeros' | 'clamp';
  /**
   * The MLP's last layer starts at zero, so the untrained model outputs exactly HSI_up (the residual
   * base) and training refines it; false: PyTorch's default Linear init (inf.md gives none).
   */
  zeroHead: boolean;
  /** Queries per MLP pass: bounds the 4·chunk·(3·feats+2) buffer on large images (not a model choice). */
  chunk: number;
}

export interface InfnConfig extends Partial<InfnOptions> {
  model: 'infn';
  preset?: InfnPreset;
}

/** inf.md §3 recommended defaults (Q1–Q8): 128 features, 4 res-blocks, MLP [256, 128], no PE, zero padding. */
const CAVE: InfnOptions = {
  bands: 31, msiBands: 3, ratio: 4, feats: 128, blocks: 4, mlpHidden: [256, 128], spatialInput: 'cat', hfMsi: false,
  weighting: 'softmax', temperature: 1, border: 'zeros', zeroHead: true, chunk: 30720,
};

/** `cave` and `harvard` (31 bands, 3-band RGB MSI; the same network), and `tiny` for CPU tests. */
export const INFN_PRESETS: Record<InfnPreset, InfnOptions> = {
  cave: CAVE,
  harvard: { ...CAVE },
  tiny: { ...CAVE, feats: 24, blocks: 1, mlpHidden: [32, 32] },
};

/** One stage; every parameter is trained (the high-pass kernel is a buffer, never trained). */
export const infnSpec: ModelSpec = { family: 'infn', stages: { 1: ['spa_encoder', 'spe_encoder', 'imnet'] }, inputs: ['lrhsi', 'msi', 'hsi_up'] };

const KEYS = ['model', 'preset', ...Object.keys(CAVE)] as const;

export function resolveInfnOptions(config: InfnConfig): InfnOptions {
  checkKeys(config, KEYS);
  const base = INFN_PRESETS[oneOf(config, 'preset', Object.keys(INFN_PRESETS) as InfnPreset[], 'cave')];
  const o: InfnOptions = {
    ...base,
    bands: positiveInt(config, 'bands', base.bands, 1, 1024),
    msiBands: positiveInt(config, 'msiBands', base.msiBands, 1, 1024),
    ratio: positiveInt(config, 'ratio', base.ratio, 1, 64),
    feats: positiveInt(config, 'feats', base.feats, 1, 1 << 16),
    blocks: positiveInt(config, 'blocks', base.blocks, 0, 1024),
    spatialInput: oneOf(config, 'spatialInput', ['cat', 'msi'] as const, base.spatialInput),
    hfMsi: bool(config, 'hfMsi', base.hfMsi),
    weighting: oneOf(config, 'weighting', ['softmax', 'cosine'] as const, base.weighting),
    border: oneOf(config, 'border', ['zeros', 'clamp'] as const, base.border),
    zeroHead: bool(config, 'zeroHead', base.zeroHead),
    chunk: positiveInt(config, 'chunk', base.chunk, 1, 2 ** 31),
  };
  if (config.temperature !== undefined) {
    if (typeof config.temperature !== 'number') throw new TypeError('config.temperature: expected a number');
    if (!(config.temperature > 0) || !Number.isFinite(config.temperature)) throw new RangeError(`config.temperature: must be a positive number, got ${config.temperature}`);
    o.temperature = config.temperature;
  }
  if (config.mlpHidden !== undefined) {
    const h = config.mlpHidden as unknown;
    if (!Array.isArray(h)) throw new TypeError('config.mlpHidden: expected an array of layer widths');
    h.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65536) throw new RangeError(`config.mlpHidden[${i}]: expected an integer in [1, 65536], got ${String(v)}`);
    });
    o.mlpHidden = [...(h as number[])];
  }
  return o;
}

/** The number of MLP inputs per neighbour: F, G, HP(F) (+ G − G_lr), δ. */
export function infnMlpInput(o: Pick<InfnOptions, 'feats' | 'hfMsi'>): number {
  return 3 * o.feats + 2 + (o.hfMsi ? o.feats : 0);
}

export function createInfn(config: InfnConfig): Module { return Module.fromPlan(planInfn(config)); }

export function planInfn(config: InfnConfig): ModelPlan {
  const o = resolveInfnOptions(config);
  return { spec: infnSpec, nativeName: 'infn', config: { ...o, mlpHidden: o.mlpHidden.join(',') } };
}
