/**
 * CrossDiff (Xing et al., IEEE TIP 2024): self-supervised pansharpening by cross-predictive diffusion.
 * The networks are C++ (native/models/crossdiff.*, native/nn/unet.*), whose option parser checks every
 * limit; this file owns the typed config, its key list, the presets and the stage sets. Defaults follow ../shared/reference/crossdiff.md.
 *
 * Inputs are in [0, 1] (DN / 2047 for 11-bit sensors): `lms` (the MS upsampled to the PAN grid) and
 * `pan`, sides multiples of 8; `ms` too for the no-reference loss. Stage 1 trains the two denoising
 * UNets (P2M: MS given PAN, M2P: PAN given MS) on ε-prediction without any target; stage 2 freezes
 * them and trains the fusion head on their encoder features at t = featureStep, against `gt` (L1 at
 * reduced resolution) or with the no-reference loss 'qnr' at full resolution.
 */
import { Module, type ModelPlan, type ModelSpec } from '../module.js';
import { checkKeys, checkWithNative, oneOf, overPreset } from './config-checks.js';
import { crossDiffCheckpoints } from './crossdiff-checkpoints.js';

export type CrossDiffPreset = 'qb' | 'wv4' | 'ikonos' | 'gf2' | 'wv2' | 'wv3' | 'tiny' | 'tiny8';

export interface CrossDiffOptions {
  /** MS bands (4 for QB/WV4/IKONOS/GF2, 8 for WV2/WV3). */
  bands: number;
  /** UNet level widths width·{1, 2, 4, 8} (reference: 32). */
  width: number;
  embedDim: number;
  timeDim: number;
  headInner: number;
  /** T of the cosine schedule (reference: 1000). */
  diffusionSteps: number;
  /** The step t whose noised inputs feed the encoders in stage 2 (reference: 50). */
  featureStep: number;
  /** Fresh noise at feature extraction (the reference) or none (deterministic features). */
  featureNoise: 'random' | 'zero';
  /** Stage 1: probability, per batch, of training unconditionally (classifier-free guidance). */
  condDropout: number;
  /** Feed the head's finest-scale block to its output convs (the released code computes and drops it). */
  useFinest: boolean;
  /** The head's last conv: 'orthogonal' (the reference) or 'zero' (stage 2 starts from LMS = EXP). */
  residualInit: 'orthogonal' | 'zero';
}

export interface CrossDiffConfig extends Partial<CrossDiffOptions> {
  model: 'crossdiff';
  preset?: CrossDiffPreset;
}

const FULL: CrossDiffOptions = {
  bands: 4,
  width: 32,
  embedDim: 256,
  timeDim: 32,
  headInner: 32,
  diffusionSteps: 1000,
  featureStep: 50,
  featureNoise: 'random',
  condDropout: 0.1,
  useFinest: true,
  residualInit: 'orthogonal',
};

/** The reference sizes per sensor, and `tiny`/`tiny8` (width 8, embedDim 64) for CPU tests and the demo. */
export const CROSSDIFF_PRESETS: Record<CrossDiffPreset, CrossDiffOptions> = {
  qb: { ...FULL, bands: 4 },
  wv4: { ...FULL, bands: 4 },
  ikonos: { ...FULL, bands: 4 },
  gf2: { ...FULL, bands: 4 },
  wv2: { ...FULL, bands: 8 },
  wv3: { ...FULL, bands: 8 },
  tiny: { ...FULL, bands: 4, width: 8, embedDim: 64, headInner: 16 },
  tiny8: { ...FULL, bands: 8, width: 8, embedDim: 64, headInner: 16 },
};

/** Stage 1: both denoisers (self-supervised); stage 2: the fusion head on their frozen encoders. */
export const crossDiffSpec: ModelSpec = {
  family: 'crossdiff',
  stages: { 1: ['p2m', 'm2p'], 2: ['head'] },
  inputs: ['lms', 'pan', 'ms'],
  // AdamW 3e-4 in both stages; ε-MSE in stage 1, L1 to gt in stage 2 (the no-reference 'qnr' at full resolution).
  trainingDefaults: { 1: { loss: 'mse', optimizer: 'adamw', lr: 3e-4 }, 2: { loss: 'l1', optimizer: 'adamw', lr: 3e-4 } },
  checkpoints: crossDiffCheckpoints,
};

const KEYS = ['model', 'preset', ...Object.keys(FULL)] as const;

/** The preset (default qb) with the given keys over it, checked by the C++ parser (every limit lives there). */
export function resolveCrossDiffOptions(config: CrossDiffConfig): CrossDiffOptions {
  checkKeys(config, KEYS);
  const base = CROSSDIFF_PRESETS[oneOf(config, 'preset', Object.keys(CROSSDIFF_PRESETS) as CrossDiffPreset[], 'qb')];
  const o = overPreset(base, config);
  checkWithNative('crossdiff', { ...o });
  return o;
}

export function createCrossDiff(config: CrossDiffConfig): Module {
  return Module.fromPlan(planCrossDiff(config));
}

export function planCrossDiff(config: CrossDiffConfig): ModelPlan {
  const o = resolveCrossDiffOptions(config);
  return { spec: crossDiffSpec, nativeName: 'crossdiff', config: { ...o } };
}

/** Options of CrossDiff's `sample` method (stage-1 validation: does each denoiser predict the other modality?). */
export interface CrossDiffSampleOptions {
  /** 'p2m' draws the MS (as LMS) given PAN; 'm2p' draws PAN given the LMS. */
  net?: 'p2m' | 'm2p';
  /** 'ddpm': ancestral sampling over all T steps (the reference); 'ddim': η = 0 over `steps` steps. */
  sampler?: 'ddpm' | 'ddim';
  steps?: number;
  /** w of ε = (w + 1)·ε(x, t, c) − w·ε(x, t, 0) (reference validation: 1). */
  guidance?: number;
  seed?: number;
}
