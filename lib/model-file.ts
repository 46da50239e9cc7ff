/**
 * Models rebuilt from their weights files: specfuse records the model (family, resolved config,
 * stage, preset) in the safetensors metadata of the files it writes (see modelMetadata), so a file
 * alone says what to build.
 */
import type { Module } from './module.js';
import { createModel, type ModelConfig } from './models/index.js';
import { safetensorsHeader } from './checkpoint-formats/safetensors-header.js';
import { loadWeights, type LoadReport } from './weights.js';

/** What a weights file says about its model. */
export interface RecordedModel {
  family: string;
  /** the options the model was built with (resolved: every option, not only those given) */
  config: Record<string, unknown>;
  stage?: number;
  preset?: string;
}

/** The model a specfuse weights file records, or undefined (a torch.save file, or an older file without a config). */
export function recordedModel(path: string): RecordedModel | undefined {
  const meta = safetensorsHeader(path)?.metadata;
  if (!meta?.family || !meta.config) return undefined;
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(meta.config) as Record<string, unknown>;
  } catch {
    throw new SyntaxError(`${path}: the recorded model config is not JSON`);
  }
  // INFN hands its layer widths to C++ as "256,128"; its config takes the array
  if (meta.family === 'infn' && typeof config.mlpHidden === 'string') config.mlpHidden = config.mlpHidden.split(',').map(Number);
  const stage = meta.stage !== undefined && meta.stage !== '' ? Number(meta.stage) : undefined;
  return { family: meta.family, config, ...(stage !== undefined ? { stage } : {}), ...(meta.preset ? { preset: meta.preset } : {}) };
}

/** The config to build `recorded`'s model with. */
export function recordedConfig(recorded: RecordedModel): ModelConfig {
  return { ...recorded.config, model: recorded.family } as unknown as ModelConfig;
}

/**
 * The config for weights `recorded` (recordedModel; undefined for files that record nothing) on
 * `bands`-band data: the record rebuilds the model exactly (its config overrides included) unless
 * `preset` names a preset it does not record; then, and without a record, `family` at `preset`.
 */
export function configForWeights(recorded: RecordedModel | undefined, family: string, bands: number, preset?: string): ModelConfig {
  if (recorded && (preset === undefined || preset === recorded.preset)) return recordedConfig(recorded);
  return { model: family, bands, ...(preset ? { preset } : {}) } as unknown as ModelConfig;
}

/**
 * Builds the model a specfuse weights file records and loads the file into it (strictly), in the
 * recorded stage. Throws a TypeError for files that record no model (pass a config to createModel
 * and use loadWeights instead).
 */
export async function loadModel(path: string): Promise<{ model: Module; report: LoadReport; recorded: RecordedModel }> {
  const recorded = recordedModel(path);
  if (!recorded)
    throw new TypeError(
      `${path}: records no model config (not written by specfuse, or by an older version): build the model with createModel and use loadWeights`,
    );
  const model = createModel(recordedConfig(recorded));
  try {
    const report = await loadWeights(model, path);
    if (recorded.stage !== undefined) model.setStage(recorded.stage);
    return { model, report, recorded };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
