/**
 * The monitored validation quantity ('valid.loss', 'valid.SAM', ...): which direction is better,
 * whether a value improves on the best, and the top-k best weights kept on disk (Lightning's
 * ModelCheckpoint(monitor, mode, save_top_k)). Early stopping and the best weights follow the same
 * monitor, so "best" means one thing in a run.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Module } from '../module.js';
import { saveWeights } from '../weights.js';

export interface MonitorOptions {
  /** 'valid.loss' (default) or 'valid.<metric>' for a metric in options.validation.metrics. */
  metric?: string;
  /** 'min' or 'max' (default: 'max' for Q, Q2n, PSNR, SSIM, SCC; 'min' otherwise). */
  mode?: 'min' | 'max';
}

const HIGHER_IS_BETTER = new Set(['Q', 'Q2n', 'PSNR', 'SSIM', 'SCC', 'QNR', 'HQNR']);

export interface Monitor {
  metric: string;
  key: string;
  mode: 'min' | 'max';
}

export function resolveMonitor(o: MonitorOptions | undefined, metrics: readonly string[]): Monitor {
  const metric = o?.metric ?? 'valid.loss';
  const m = /^valid\.(.+)$/.exec(metric);
  if (!m) throw new RangeError(`options.monitor.metric: expected 'valid.loss' or 'valid.<metric>', got '${metric}'`);
  const key = m[1]!;
  if (key !== 'loss' && !metrics.includes(key)) {
    throw new RangeError(`options.monitor.metric: '${metric}' is not computed (options.validation.metrics: ${metrics.join(', ') || 'none'})`);
  }
  const mode = o?.mode ?? (HIGHER_IS_BETTER.has(key) ? 'max' : 'min');
  if (mode !== 'min' && mode !== 'max') throw new RangeError(`options.monitor.mode: expected 'min' or 'max', got '${String(mode)}'`);
  return { metric, key, mode };
}

/** Whether `value` beats `best` by more than minDelta in the monitor's direction. */
export function improves(mon: Monitor, value: number, best: number | null, minDelta = 0): boolean {
  if (!Number.isFinite(value)) return false;
  if (best === null) return true;
  return mon.mode === 'min' ? value < best - minDelta : value > best + minDelta;
}

export interface BestEntry {
  step: number;
  value: number;
  path: string;
}

/**
 * Keeps the k best weights as <dir>/best-step-<step>.safetensors (k = 0: none), and the single best
 * at `bestPath` too when given. The entries live in the loop state, so resumes keep ranking.
 */
export async function keepBest(
  model: Module,
  mon: Monitor,
  entries: BestEntry[],
  step: number,
  value: number,
  o: {
    dir?: string;
    topK: number;
    bestPath?: string;
  },
): Promise<{ entries: BestEntry[]; written: string[] }> {
  const written: string[] = [];
  const better = (a: number, b: number) => (mon.mode === 'min' ? a < b : a > b);
  const isBest = entries.length === 0 || better(value, entries[0]!.value);
  let next = entries;
  if (o.dir && o.topK > 0 && Number.isFinite(value) && (entries.length < o.topK || better(value, entries.at(-1)!.value))) {
    const path = join(o.dir, `best-step-${String(step).padStart(8, '0')}.safetensors`);
    await saveWeights(model, path, { step: String(step), [mon.metric]: String(value) });
    written.push(path);
    next = [...entries, { step, value, path }].sort((a, b) => (better(a.value, b.value) ? -1 : better(b.value, a.value) ? 1 : a.step - b.step));
    for (const old of next.slice(o.topK)) if (existsSync(old.path)) rmSync(old.path, { force: true });
    next = next.slice(0, o.topK);
  } else if (!o.dir || o.topK === 0) {
    // no files kept: still rank the best one so that bestPath follows it
    if (isBest && Number.isFinite(value)) next = [{ step, value, path: '' }];
  }
  if (o.bestPath && isBest && Number.isFinite(value)) {
    await saveWeights(model, o.bestPath, { step: String(step), [mon.metric]: String(value) }); // atomic (rename)
    written.push(o.bestPath);
  }
  return { entries: next, written };
}
