/** The model registry: typed configs in, Modules out. */
import type { Module } from '../module.js';
import { createCnn, type CnnConfig } from './cnn.js';
import { createCrossDiff, type CrossDiffConfig } from './crossdiff.js';
import { createInfn, type InfnConfig } from './infn.js';
import { createMlp, type MlpConfig } from './mlp.js';
import { createPanAdapter, type PanAdapterConfig } from './panadapter.js';

export type ModelConfig = MlpConfig | PanAdapterConfig | CnnConfig | CrossDiffConfig | InfnConfig;

const builders: Record<string, (c: never) => Module> = {
  mlp: createMlp,
  panadapter: createPanAdapter,
  crossdiff: createCrossDiff,
  pnn: createCnn,
  pannet: createCnn,
  dicnn: createCnn,
  fusionnet: createCnn,
  infn: createInfn,
};

/** The model names TypeScript builds: equal to the C++ registry's (native.modelNames(); test/models/config-parity.test.ts). */
export const modelNames = Object.keys(builders);

export function createModel(config: ModelConfig): Module {
  if (config === null || typeof config !== 'object') throw new TypeError('config: expected an object with a model name');
  const build = builders[(config as { model?: string }).model ?? ''];
  if (!build) {
    throw new RangeError(`config.model: unknown model '${String((config as { model?: unknown }).model)}' (known: ${modelNames.join(', ')})`);
  }
  return build(config as never);
}

export type { MlpConfig, PanAdapterConfig, CnnConfig, CrossDiffConfig, InfnConfig };
export {
  CROSSDIFF_PRESETS, crossDiffSpec, resolveCrossDiffOptions, type CrossDiffOptions, type CrossDiffPreset, type CrossDiffSampleOptions,
} from './crossdiff.js';
export { MLP_DEFAULTS, resolveMlpOptions, type MlpOptions } from './mlp.js';
export { INFN_PRESETS, infnMlpInput, infnSpec, resolveInfnOptions, type InfnOptions, type InfnPreset } from './infn.js';
export { PANADAPTER_PRESETS, panAdapterSpec, resolvePanAdapterOptions, type PanAdapterOptions, type PanAdapterPreset } from './panadapter.js';
export {
  CNN_MODELS, DLPAN_FILE_NAMES, cnnSpecs, createCnn, resolveCnnOptions, describeDlpanCheckpoint, dlpanCheckpoints, dlpanMapping, isCnnModel, loadDlpanStateDict, loadDlpanWeights,
  type CnnModelName, type DlpanAlias, type DlpanLoadReport,
} from './cnn.js';
export { edsrToPanAdapter, iptToPanAdapter, loadPanAdapterPretrained, panAdapterCheckpoints } from './panadapter-checkpoints.js';
export { CROSSDIFF_SCHEDULE_BUFFERS, crossDiffCheckpoints } from './crossdiff-checkpoints.js';
