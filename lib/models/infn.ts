/**
 * INFN (Implicit Neural Feature Fusion, Deng et al., arXiv 2307.07288 / IEEE TCI 2024) for
 * multispectral/hyperspectral image fusion. No official code exists: the model is the reconstruction
 * of ../shared/reference/inf.md §3, built in C++ (native/models/infn.*); this file owns its typed
 * config, the presets and validation. Every guessed part of the reconstruction is a switch here,
 * with inf.md's recommended value as the default.
 *
 * Inputs: `lrhsi` B×S×h×w, `msi` B×s×(r·h)×(r·w), `hsi_up` B×S×(r·h)×(r·w) (the bicubic
 * upsampling of lrhsi, see lib/protocol/hyperspectral-simulation.ts); target `gt` B×S×(r·h)×(r·w).
 */
import { Module, type ModelPlan, type ModelSpec } from '../module.js';
import type { ConfigValue } from '../native.js';
import { checkKeys, checkWithNative, oneOf, overPreset } from './config-checks.js';

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
  bands: 31,
  msiBands: 3,
  ratio: 4,
  feats: 128,
  blocks: 4,
  mlpHidden: [256, 128],
  spatialInput: 'cat',
  hfMsi: false,
  weighting: 'softmax',
  temperature: 1,
  border: 'zeros',
  zeroHead: true,
  chunk: 30720,
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

/**
 * The preset (default cave) with the given keys over it, checked by the C++ parser (every limit lives
 * there); only the shape of `mlpHidden` is checked here, since configs reach C++ flat ("256,128").
 */
export function resolveInfnOptions(config: InfnConfig): InfnOptions {
  checkKeys(config, KEYS);
  const base = INFN_PRESETS[oneOf(config, 'preset', Object.keys(INFN_PRESETS) as InfnPreset[], 'cave')];
  const o = overPreset(base, config);
  if (!Array.isArray(o.mlpHidden)) throw new TypeError('config.mlpHidden: expected an array of layer widths');
  o.mlpHidden = [...o.mlpHidden];
  checkWithNative('infn', flatInfnOptions(o));
  return o;
}

/** The options as C++ reads them: flat, the layer widths as "256,128". */
function flatInfnOptions(o: InfnOptions): Record<string, ConfigValue> {
  return { ...o, mlpHidden: o.mlpHidden.join(',') };
}

/** The number of MLP inputs per neighbour: F, G, HP(F) (+ G − G_lr), δ. */
export function infnMlpInput(o: Pick<InfnOptions, 'feats' | 'hfMsi'>): number {
  return 3 * o.feats + 2 + (o.hfMsi ? o.feats : 0);
}

export function createInfn(config: InfnConfig): Module {
  return Module.fromPlan(planInfn(config));
}

export function planInfn(config: InfnConfig): ModelPlan {
  const o = resolveInfnOptions(config);
  return { spec: infnSpec, nativeName: 'infn', config: flatInfnOptions(o) };
}
