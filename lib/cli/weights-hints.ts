/**
 * Weights that do not fit the model, explained in the user's terms: "trained with --preset tiny"
 * rather than "missing 813 tensors", "8-band weights, 4-band input" rather than a list of shape
 * mismatches. The preset recorded by `specfuse train` is checked before the model is even built.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { Module } from '../module.js';
import { loadWeights, WeightsError, type LoadReport } from '../weights.js';
import { UsageError } from './args.js';

/** The metadata of a .safetensors file, from its header alone (the tensors are not read). */
export function safetensorsMetadata(path: string): Record<string, string> | undefined {
  if (!/\.safetensors$/i.test(path)) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(8);
    if (readSync(fd, head, 0, 8, 0) !== 8) return undefined;
    const len = Number(head.readBigUInt64LE(0));
    if (!(len > 0 && len < 100 * 1024 * 1024)) return undefined;
    const json = Buffer.alloc(len);
    if (readSync(fd, json, 0, len, 8) !== len) return undefined;
    return (JSON.parse(json.toString('utf8')) as { __metadata__?: Record<string, string> }).__metadata__;
  } catch {
    return undefined; // unreadable: the real load reports it precisely
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Refuses, before building the model, weights that `specfuse train` recorded with another preset. */
export function checkRecordedPreset(path: string, preset: string | undefined, flag: string): void {
  const recorded = safetensorsMetadata(path)?.preset;
  if (recorded && recorded !== preset) {
    throw new UsageError(`${flag}: ${path} was trained with --preset ${recorded}${preset ? `, not ${preset}` : ''}: pass --preset ${recorded}`);
  }
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
      return `${path} holds ${w}-band weights but the input has ${bands} bands: use weights trained on ${bands}-band data (e.g. ${bands === 4 ? 'QB/IKONOS/GF2' : 'WV3/WV2'})`;
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
export async function loadWeightsExplained(model: Module, path: string, flag: string, preset: string | undefined): Promise<LoadReport> {
  try {
    return await loadWeights(model, path);
  } catch (e) {
    if (!(e instanceof WeightsError)) throw e;
    const hint = explainMismatch(model, e.report, path, preset);
    throw new Error(`${flag}: ${hint ?? `${path}: ${e.message}`}`, { cause: e });
  }
}
