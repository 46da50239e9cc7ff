/**
 * Whether a weights file fits a model, told before the model is built and in the model's terms:
 * the preset the file records, else the preset the sizes of a few tensors in its safetensors header
 * say (enough to tell tiny from full-size weights without building a 160 M-parameter PanAdapter),
 * and, after a failed load, whether the mismatches are those of another band count.
 */
import type { Module } from '../module.js';
import type { LoadReport } from '../weights.js';
import {
  CROSSDIFF_PRESETS,
  PANADAPTER_PRESETS,
  resolveCrossDiffOptions,
  resolvePanAdapterOptions,
  type CrossDiffPreset,
  type PanAdapterPreset,
} from '../models/index.js';
import { safetensorsHeader } from '../checkpoint-formats/safetensors-header.js';

/**
 * Per family with presets: the tensors whose sizes tell the presets apart, and the option each
 * size is (dim `dim` of `tensor` equals option `option`).
 */
const SIGNATURES: Record<
  string,
  {
    resolve: (preset: string | undefined) => Record<string, unknown>;
    presets: string[];
    sizes: Array<{ tensor: string; dim: number; option: string; what: string }>;
    /** a tensor whose size `dim` is bands + 1 (MS and PAN stacked): the weights' band count */
    bands: { tensor: string; dim: number };
  }
> = {
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

/** Weights that are not those of the preset asked for. */
export type PresetMisfit =
  { kind: 'recorded'; recorded: string } | { kind: 'sizes'; weights: 'tiny' | 'full-size'; sizes: string; expected: string; suggest: string[] };

/**
 * What stands against building `family` with `preset` for the weights at `path`, or undefined when
 * nothing does (or the header cannot tell: torch.save files, custom sizes, another family's tensors;
 * the load then reports). `bands`: the input's band count, to prefer presets that fit it.
 */
export function presetMisfit(path: string, family: string, preset: string | undefined, bands?: number): PresetMisfit | undefined {
  const header = safetensorsHeader(path);
  if (!header) return undefined;
  const recorded = header.metadata?.preset;
  if (recorded && recorded !== preset) return { kind: 'recorded', recorded };
  const sig = SIGNATURES[family];
  if (recorded || !sig) return undefined;
  const got = sig.sizes.map((s) => header.shapes.get(s.tensor)?.[s.dim]);
  if (got.some((d) => d === undefined)) return undefined;
  let chosen: Record<string, unknown>;
  try {
    chosen = sig.resolve(preset);
  } catch {
    return undefined; // an unknown preset: createModel reports it
  }
  const fits = (o: Record<string, unknown>) => sig.sizes.every((s, i) => o[s.option] === got[i]);
  if (fits(chosen)) return undefined;
  const candidates = sig.presets.filter((p) => fits(sig.resolve(p)));
  if (!candidates.length) return undefined;
  // several presets share the sizes (the sensors' full-size ones): suggest those with the input's
  // band count, else with the weights' own
  const b = bands ?? (header.shapes.get(sig.bands.tensor)?.[sig.bands.dim] ?? 0) - 1;
  const sameBands = candidates.filter((p) => sig.resolve(p).bands === b);
  return {
    kind: 'sizes',
    weights: candidates.every((p) => p.startsWith('tiny')) ? 'tiny' : 'full-size',
    sizes: sig.sizes.map((s, i) => `${s.what} ${got[i]}`).join(', '),
    expected: sig.sizes.map((s) => chosen[s.option]).join(', '),
    suggest: sameBands.length ? sameBands : candidates,
  };
}

/**
 * After a failed load: the band count the weights were made for, when every shape mismatch differs
 * only where the model expects `bands` (or bands + 1: MS and PAN stacked), by one offset; else undefined.
 */
export function weightsBandCount(model: Module, report: LoadReport): number | undefined {
  const bands = Number(model.config.bands);
  const m = report.shapeMismatch;
  if (!Number.isInteger(bands) || !m.length) return undefined;
  const other = new Set<number>();
  const bandsOnly = m.every(
    (x) =>
      x.got.length === x.expected.length &&
      x.got.every((d, i) => {
        if (d === x.expected[i]) return true;
        if (x.expected[i] !== bands && x.expected[i] !== bands + 1) return false;
        other.add(bands + d - x.expected[i]!);
        return true;
      }),
  );
  return bandsOnly && other.size === 1 ? [...other][0] : undefined;
}

/**
 * After a failed load: whether the file looks like another configuration of the model (another
 * preset): over a quarter of the model's tensors missing, or of the file's unexpected. The counts
 * say it in the message; undefined when the misfit is smaller.
 */
export function configurationMisfit(report: LoadReport): { missing: number; have: number; unexpected: number } | undefined {
  const have = report.loaded.length + report.missing.length;
  const given = report.loaded.length + report.unexpected.length + report.shapeMismatch.length;
  if (report.missing.length <= have / 4 && report.unexpected.length <= given / 4) return undefined;
  return { missing: report.missing.length, have, unexpected: report.unexpected.length };
}
