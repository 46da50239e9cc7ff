/** The model registry: typed configs in, Modules out. */
import { countParameters, Module, stageParameterNames, type ModelPlan, type ParameterCounts } from '../module.js';
import { native, type TensorDescription } from '../native.js';
import { planCnn, type CnnConfig } from './cnn.js';
import { planCrossDiff, type CrossDiffConfig } from './crossdiff.js';
import { planInfn, type InfnConfig } from './infn.js';
import { planMlp, type MlpConfig } from './mlp.js';
import { planPanAdapter, type PanAdapterConfig } from './panadapter.js';

export type ModelConfig = MlpConfig | PanAdapterConfig | CnnConfig | CrossDiffConfig | InfnConfig;

const planners: Record<string, (c: never) => ModelPlan> = {
  mlp: planMlp,
  panadapter: planPanAdapter,
  crossdiff: planCrossDiff,
  pnn: planCnn,
  pannet: planCnn,
  dicnn: planCnn,
  fusionnet: planCnn,
  infn: planInfn,
};

/** The model names TypeScript builds: equal to the C++ registry's (native.modelNames(); test/models/config-parity.test.ts). */
export const modelNames = Object.keys(planners);

/** Validates a config and resolves its preset: what would be built, without building it. */
export function planModel(config: ModelConfig): ModelPlan {
  if (config === null || typeof config !== 'object') throw new TypeError('config: expected an object with a model name');
  const plan = planners[(config as { model?: string }).model ?? ''];
  if (!plan) {
    throw new RangeError(`config.model: unknown model '${String((config as { model?: unknown }).model)}' (known: ${modelNames.join(', ')})`);
  }
  return plan(config as never);
}

/** Builds a model on the JS thread (the full WV3 PanAdapter blocks it for about a second: prefer createModelAsync in a server). */
export function createModel(config: ModelConfig): Module {
  return Module.fromPlan(planModel(config));
}

/** Builds a model on the addon's compute thread: the event loop keeps turning. Config errors reject. */
export async function createModelAsync(config: ModelConfig): Promise<Module> {
  return Module.buildPlan(planModel(config));
}

/**
 * A model's parameters and buffers (names, shapes, dtypes, requiresGrad for `stage`, or all
 * trainable without one) from a shape-only build: no weights are allocated or initialised.
 */
export async function describeModel(
  config: ModelConfig,
  options: { stage?: number } = {},
): Promise<{ parameters: TensorDescription[]; buffers: TensorDescription[] }> {
  const plan = planModel(config);
  const shapes = await native.describeModel(plan.nativeName, plan.config);
  if (options.stage !== undefined) {
    const trainable = new Set(
      stageParameterNames(
        plan.spec,
        shapes.parameters.map((p) => p.name),
        options.stage,
      ),
    );
    for (const p of shapes.parameters) p.requiresGrad = trainable.has(p.name);
  }
  return shapes;
}

/** Parameter counts of a config (as Module.parameterCounts after setStage), without building its weights. */
export async function modelParameterCounts(config: ModelConfig, options: { stage?: number } = {}): Promise<ParameterCounts> {
  return countParameters((await describeModel(config, options)).parameters);
}

export type { MlpConfig, PanAdapterConfig, CnnConfig, CrossDiffConfig, InfnConfig };
export {
  CROSSDIFF_PRESETS,
  crossDiffSpec,
  resolveCrossDiffOptions,
  type CrossDiffOptions,
  type CrossDiffPreset,
  type CrossDiffSampleOptions,
} from './crossdiff.js';
export { MLP_DEFAULTS, resolveMlpOptions, type MlpOptions } from './mlp.js';
export { INFN_PRESETS, infnMlpInput, infnSpec, resolveInfnOptions, type InfnOptions, type InfnPreset } from './infn.js';
export { PANADAPTER_PRESETS, panAdapterSpec, resolvePanAdapterOptions, type PanAdapterOptions, type PanAdapterPreset } from './panadapter.js';
export {
  CNN_MODELS,
  DLPAN_FILE_NAMES,
  cnnSpecs,
  createCnn,
  resolveCnnOptions,
  describeDlpanCheckpoint,
  dlpanCheckpoints,
  dlpanMapping,
  isCnnModel,
  loadDlpanStateDict,
  loadDlpanWeights,
  type CnnModelName,
  type DlpanAlias,
  type DlpanLoadReport,
} from './cnn.js';
export { edsrToPanAdapter, iptToPanAdapter, loadPanAdapterPretrained, panAdapterCheckpoints } from './panadapter-checkpoints.js';
export { CROSSDIFF_SCHEDULE_BUFFERS, crossDiffCheckpoints } from './crossdiff-checkpoints.js';
