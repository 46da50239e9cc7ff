/**
 * PanAdapter (Wu et al., AAAI 2025): two-stage parameter-efficient fine-tuning for pansharpening.
 * The model itself is C++ (native/models/panadapter.*), whose option parser checks every limit;
 * this file owns the typed config, its key list, the presets and the stage sets. Defaults follow ../shared/reference/panadapter.md §8.
 */
import { Module, type ModelPlan, type ModelSpec } from '../module.js';
import { checkKeys, checkWithNative, oneOf, overPreset } from './config-checks.js';
import { panAdapterCheckpoints } from './panadapter-checkpoints.js';

export type PanAdapterPreset = 'wv3' | 'wv2' | 'qb' | 'gf2' | 'ikonos' | 'tiny';

export interface PanAdapterOptions {
  /** MS bands: 8 (WV3, WV2) or 4 (QB, GF2, IKONOS); the network takes any count in [1, 1024]. */
  bands: number;
  /** LMS/PAN patch side (the ViT token grid is patch/4). */
  patch: number;
  nFeats: number;
  heads: number;
  encLayers: number;
  decLayers: number;
  hiddenDim: number;
  numQueries: number;
  /** IPT task query used (0: SR x2). */
  queryIndex: number;
  edsrFeats: number;
  edsrBlocks: number;
  lpeCh: number;
  priorCh: number;
  /** adapter token width ("intrinsic dim"). */
  k: number;
  adapterHeads: number;
  nAdapters: number;
  /** one adapter after every injectEvery-th of the encLayers + decLayers ViT layers. */
  injectEvery: number;
  inrHidden: number;
  /** position embedding in every encoder layer (released code) or once (IPT pretraining). */
  posEvery: boolean;
  /** Q7: the INR tail also sees the ViT output (released: no). */
  tailUsesVit: boolean;
  /** Q10: spectral branch input: the dataset's 'ms' (recommended) or bicubic-downsampled LMS (released). */
  spectralInput: 'ms' | 'bicubic_lms';
  /** Q8: attention query/key roles in CTF/CTI. */
  attentionRoles: 'released' | 'vit_adapter';
  seReduction: number;
}

export interface PanAdapterConfig extends Partial<PanAdapterOptions> {
  model: 'panadapter';
  preset?: PanAdapterPreset;
}

const FULL: PanAdapterOptions = {
  bands: 8,
  patch: 64,
  nFeats: 576,
  heads: 12,
  encLayers: 12,
  decLayers: 12,
  hiddenDim: 2304,
  numQueries: 6,
  queryIndex: 0,
  edsrFeats: 64,
  edsrBlocks: 16,
  lpeCh: 16,
  priorCh: 64,
  k: 96,
  adapterHeads: 4,
  nAdapters: 6,
  injectEvery: 4,
  inrHidden: 576,
  posEvery: true,
  tailUsesVit: false,
  spectralInput: 'ms',
  attentionRoles: 'released',
  seReduction: 16,
};

/** Full-size sensor presets, and `tiny`: the same structure at small widths and depths (< 2 M parameters) for CPU tests and the demo. */
export const PANADAPTER_PRESETS: Record<PanAdapterPreset, PanAdapterOptions> = {
  wv3: { ...FULL, bands: 8 },
  wv2: { ...FULL, bands: 8 },
  qb: { ...FULL, bands: 4 },
  gf2: { ...FULL, bands: 4 },
  ikonos: { ...FULL, bands: 4 },
  tiny: {
    ...FULL,
    nFeats: 48,
    heads: 4,
    encLayers: 4,
    decLayers: 4,
    hiddenDim: 96,
    edsrFeats: 16,
    edsrBlocks: 4,
    lpeCh: 4,
    priorCh: 16,
    k: 24,
    adapterHeads: 4,
    nAdapters: 2,
    injectEvery: 4,
    inrHidden: 48,
  },
};

/**
 * Stage 1 (reference §5.3, Q1 a/Q2): SSPEN -> a_proj/b_proj -> INR tail -> + LMS with MSE, training the
 * LPE blocks, projections and both EDSRs (MS-encoder heads and pretrained bodies), plus a_proj, b_proj
 * and the tail, which then initialise stage 2. Stage 2: the adapters, a_proj, b_proj and the tail; the
 * ViT (stem included) and SSPEN stay frozen.
 */
export const panAdapterSpec: ModelSpec = {
  family: 'panadapter',
  checkpoints: panAdapterCheckpoints,
  stages: { 1: ['sspen', 'a_proj', 'b_proj', 'tail2'], 2: ['adapters', 'a_proj', 'b_proj', 'tail2'] },
  inputs: ['lms', 'pan', 'ms'],
};

const KEYS = ['model', 'preset', ...Object.keys(FULL)] as const;

/** The preset (default wv3) with the given keys over it, checked by the C++ parser (every limit lives there). */
export function resolvePanAdapterOptions(config: PanAdapterConfig): PanAdapterOptions {
  checkKeys(config, KEYS);
  const base = PANADAPTER_PRESETS[oneOf(config, 'preset', Object.keys(PANADAPTER_PRESETS) as PanAdapterPreset[], 'wv3')];
  const o = overPreset(base, config);
  checkWithNative('panadapter', { ...o });
  return o;
}

export function createPanAdapter(config: PanAdapterConfig): Module {
  return Module.fromPlan(planPanAdapter(config));
}

export function planPanAdapter(config: PanAdapterConfig): ModelPlan {
  const o = resolvePanAdapterOptions(config);
  return { spec: panAdapterSpec, nativeName: 'panadapter', config: { ...o } };
}
