/**
 * Weights that do not fit the model, explained in the user's terms: "trained with --preset tiny"
 * rather than "missing 813 tensors", "8-band weights, 4-band input" rather than a list of shape
 * mismatches. The preset (recorded by `specfuse train`, or told by tensor sizes in the header) is
 * checked before the model is even built.
 */
import type { Module } from '../module.js';
import { CROSSDIFF_PRESETS, PANADAPTER_PRESETS, resolveCrossDiffOptions, resolvePanAdapterOptions, type CrossDiffPreset, type PanAdapterPreset } from '../models/index.js';
import { loadWeights, WeightsError, type LoadReport } from '../weights.js';
import { UsageError } from './args.js';
import { safetensorsHeader } from '../checkpoint-formats/safetensors-header.js';
import { recordedModel, type RecordedModel } from '../model-file.js';

/**
 * Per family with presets: the tensors whose sizes tell the presets apart, and the option each
 * size is (dim `dim` of `tensor` equals option `option`). Enough to tell tiny from full-size weights
 * from the header alone, before the model (160 M parameters for PanAdapter) is built.
 */
const SIGNATURES: Record<string, {
  resolve: (preset: string | undefined) => Record<string, unknown>;
  presets: string[];
  sizes: Array<{ tensor: string; dim: number; option: string; what: string }>;
  /** a tensor whose size `dim` is bands + 1 (MS and PAN stacked): the weights' band count */
  bands: { tensor: string; dim: number };
}> = {
  panadapter: {
    resolve: (preset) => ({ ...resolvePanAdapterOptions({ model: 'panadapter', ...(preset ? { preset: preset as PanAdapterPreset } : {}) }) }),
    presets: Object.keys(PANADAPTER_PRESETS),
    sizes: [{ tensor: 'head.1.weight', dim: 0, option: 'nFeats', what: 'embedding width' }],
    bands: { tensor: 'head.1.weight', dim: 1 },
  },
  crossdiff: {
    resolve: (preset) => ({ ...resolveCrossDiffOptions({ model: 'crossdiff', ...(preset ? { preset: preset as CrossDiffPreset } : {}) }) }),
    presets: Object.keys(CROSSDIFF_PRESETS),
    sizes: [
      { tensor: 'p2m.conv1.weight', dim: 0, option: 'width', what: 'UNet width' },
      { tensor: 'p2m.embed.0.weight', dim: 0, option: 'embedDim', what: 'embedding width' },
    ],
    bands: { tensor: 'p2m.conv1.weight', dim: 1 },
  },
};

/**
 * Refuses, before the model is built, weights that do not fit `--preset`: the preset recorded by
 * `specfuse train` in the file's metadata, else (older files, which record none) the preset told
 * by the sizes of a few tensors in the .safetensors header. torch.save files are left to the load
 * (their shapes are inside the pickle: reading them means reading the file).
 */
export function checkPreset(path: string, family: string, preset: string | undefined, flag: string, bands?: number): void {
  const header = safetensorsHeader(path);
  if (!header) return;
  const recorded = header.metadata?.preset;
  if (recorded && recorded !== preset) {
    throw new UsageError(`${flag}: ${path} was trained with --preset ${recorded}${preset ? `, not ${preset}` : ''}: pass --preset ${recorded}`);
  }
  const sig = SIGNATURES[family];
  if (recorded || !sig) return;
  const got = sig.sizes.map((s) => header.shapes.get(s.tensor)?.[s.dim]);
  if (got.some((d) => d === undefined)) return; // not this family's tensors: the load says what is wrong
  let chosen: Record<string, unknown>;
  try {
    chosen = sig.resolve(preset);
  } catch {
    return; // an unknown --preset: createModel reports it
  }
  const fits = (o: Record<string, unknown>) => sig.sizes.every((s, i) => o[s.option] === got[i]);
  if (fits(chosen)) return;
  const candidates = sig.presets.filter((p) => fits(sig.resolve(p)));
  if (!candidates.length) return; // custom sizes: the load's report is the best account
  // several presets share the sizes (the sensors' full-size ones): suggest those with the input's
  // band count, else with the weights' own
  const b = bands ?? (header.shapes.get(sig.bands.tensor)?.[sig.bands.dim] ?? 0) - 1;
  const sameBands = candidates.filter((p) => sig.resolve(p).bands === b);
  const suggest = sameBands.length ? sameBands : candidates;
  const kind = candidates.every((p) => p.startsWith('tiny')) ? 'tiny' : 'full-size';
  const sizes = sig.sizes.map((s, i) => `${s.what} ${got[i]}`).join(', ');
  const expected = sig.sizes.map((s) => chosen[s.option]).join(', ');
  throw new UsageError(`${flag}: ${path}: these are ${kind} weights (${sizes}, not the ${expected} of ${preset ? `--preset ${preset}` : 'the default preset'}): ` +
    `${preset ? 'use' : 'add'} --preset ${suggest.join(' or --preset ')}`);
}

/** Weights for another band count than the input's, said with what to use instead. */
export function bandsMismatch(path: string, weightsBands: number, inputBands: number): string {
  return `${path} holds ${weightsBands}-band weights but the input has ${inputBands} bands: use weights trained on ${inputBands}-band data (e.g. ${inputBands === 4 ? 'QB/IKONOS/GF2' : 'WV3/WV2'})`;
}

/** What a failed load most likely means, or undefined when nothing simpler than the report fits. */
export function explainMismatch(model: Module, report: LoadReport, path: string, preset: string | undefined): string | undefined {
  const bands = Number(model.config.bands);
  const m = report.shapeMismatch;
  if (Number.isInteger(bands) && m.length) {
    // every mismatch differs only where the model expects `bands` (or bands + 1: MS and PAN
    // stacked), by one offset: weights for another band count
    const other = new Set<number>();
    const bandsOnly = m.every((x) => x.got.length === x.expected.length && x.got.every((d, i) => {
      if (d === x.expected[i]) return true;
      if (x.expected[i] !== bands && x.expected[i] !== bands + 1) return false;
      other.add(bands + d - x.expected[i]!);
      return true;
    }));
    if (bandsOnly && other.size === 1) {
      const w = [...other][0]!;
      return bandsMismatch(path, w, bands);
    }
  }
  const have = report.loaded.length + report.missing.length;
  const given = report.loaded.length + report.unexpected.length + m.length;
  if (report.missing.length > have / 4 || report.unexpected.length > given / 4) {
    return `${path} does not match ${model.spec.family}${preset ? ` --preset ${preset}` : ' with its default preset'} ` +
      `(${report.missing.length} of its ${have} tensors missing, ${report.unexpected.length} unexpected): ` +
      `were these weights trained with another --preset (e.g. --preset tiny)?`;
  }
  return undefined;
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
  if (recorded && recorded.family !== model) throw new UsageError(`--model ${model}: ${flag} ${path} holds a ${recorded.family} model: pass --model ${recorded.family}, or leave --model out`);
  return { model, recorded };
}
