/**
 * Weights that do not fit the model, explained in the user's terms: "trained with --preset tiny"
 * rather than "missing 813 tensors", "8-band weights, 4-band input" rather than a list of shape
 * mismatches. The findings are the library's (lib/workflows/weights-fit.ts); the words and flags
 * are the CLI's.
 */
import type { Module } from '../module.js';
import { loadWeights, WeightsError, type LoadReport } from '../weights.js';
import { UsageError } from './args.js';
import { configurationMisfit, presetMisfit, weightsBandCount } from '../workflows/weights-fit.js';
import { recordedModel, type RecordedModel } from '../model-file.js';

/**
 * Refuses, before the model is built, weights that do not fit `--preset` (presetMisfit: the preset
 * the file records, else the one the sizes in its header tell).
 */
export function checkPreset(path: string, family: string, preset: string | undefined, flag: string, bands?: number): void {
  const misfit = presetMisfit(path, family, preset, bands);
  if (!misfit) return;
  if (misfit.kind === 'recorded') {
    throw new UsageError(`${flag}: ${path} was trained with --preset ${misfit.recorded}${preset ? `, not ${preset}` : ''}: pass --preset ${misfit.recorded}`);
  }
  throw new UsageError(
    `${flag}: ${path}: these are ${misfit.weights} weights (${misfit.sizes}, not the ${misfit.expected} of ${preset ? `--preset ${preset}` : 'the default preset'}): ` +
      `${preset ? 'use' : 'add'} --preset ${misfit.suggest.join(' or --preset ')}`,
  );
}

/** Weights for another band count than the input's, said with what to use instead. */
export function bandsMismatch(path: string, weightsBands: number, inputBands: number): string {
  return `${path} holds ${weightsBands}-band weights but the input has ${inputBands} bands: use weights trained on ${inputBands}-band data (e.g. ${inputBands === 4 ? 'QB/IKONOS/GF2' : 'WV3/WV2'})`;
}

/** What a failed load most likely means, or undefined when nothing simpler than the report fits. */
export function explainMismatch(model: Module, report: LoadReport, path: string, preset: string | undefined): string | undefined {
  const weightsBands = weightsBandCount(model, report);
  if (weightsBands !== undefined) return bandsMismatch(path, weightsBands, Number(model.config.bands));
  const misfit = configurationMisfit(report);
  return (
    misfit &&
    `${path} does not match ${model.spec.family}${preset ? ` --preset ${preset}` : ' with its default preset'} ` +
      `(${misfit.missing} of its ${misfit.have} tensors missing, ${misfit.unexpected} unexpected): ` +
      `were these weights trained with another --preset (e.g. --preset tiny)?`
  );
}

/** loadWeights, with a failed load's error saying what to do (and naming the flag and file). */
export async function loadWeightsExplained(model: Module, paths: string | readonly string[], flag: string, preset: string | undefined): Promise<LoadReport> {
  try {
    return await loadWeights(model, paths);
  } catch (e) {
    const path = typeof paths === 'string' ? paths : paths.join(', ');
    if (e instanceof TypeError && e.message.startsWith('files: ')) throw new UsageError(`${flag}: ${e.message.slice(7)}`);
    if (!(e instanceof WeightsError)) throw e;
    const hint = explainMismatch(model, e.report, path, preset);
    throw new Error(`${flag}: ${hint ?? `${path}: ${e.message}`}`, { cause: e });
  }
}

/**
 * The model to build: --model, else the one a specfuse weights file records. A --model that
 * contradicts the record is refused here, before a model of the wrong kind is built.
 */
export function chooseModel(model: string | undefined, path: string, flag: string): { model: string; recorded?: RecordedModel } {
  const recorded = recordedModel(path);
  if (model === undefined) {
    if (!recorded) throw new UsageError(`--model is required: ${path} does not record its model (only weights written by specfuse do)`);
    return { model: recorded.family, recorded };
  }
  if (recorded && recorded.family !== model)
    throw new UsageError(`--model ${model}: ${flag} ${path} holds a ${recorded.family} model: pass --model ${recorded.family}, or leave --model out`);
  return { model, recorded };
}
