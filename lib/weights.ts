/**
 * Weights in and out of a Module, strictly by default.
 *
 * A load maps checkpoint names onto the module's (optionally through a mapping rule), then checks
 * everything before writing anything: missing, unexpected and shape-mismatched tensors make it fail
 * unless an allow-list says which may be skipped. The report says exactly what happened.
 */
import { writeFileAtomic } from './atomic.js';
import type { Module } from './module.js';
import { native } from './native.js';
import { fromHost, type Tensor } from './tensor.js';
import { compilePattern } from './freeze.js';
import type { HostArray } from './host.js';
import { loadCheckpointFile, writeSafetensors } from './checkpoint-formats/index.js';

/** Maps a checkpoint name to module names: [] means "deliberately ignored", null means "no rule" (unexpected). */
export type NameMapping = (name: string) => string[] | null;

export interface LoadOptions {
  /** How checkpoint names become module names (default: identity). */
  map?: NameMapping;
  /** Module tensors that may stay as they are (patterns as in freeze()). */
  allowMissing?: readonly string[];
  /** Checkpoint tensors that may be left unused. */
  allowUnexpected?: readonly string[];
}

export interface LoadReport {
  /** module names written */
  loaded: string[];
  /** module names the checkpoint did not provide */
  missing: string[];
  /** checkpoint names with no place in the module */
  unexpected: string[];
  /** checkpoint names the mapping ignores on purpose (e.g. IPT's task heads) */
  ignored: string[];
  shapeMismatch: Array<{ name: string; source: string; expected: number[]; got: number[] }>;
}

export class WeightsError extends Error {
  readonly report: LoadReport;
  constructor(message: string, report: LoadReport) {
    super(message);
    this.name = 'WeightsError';
    this.report = report;
  }
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const anyMatch = (patterns: readonly string[] | undefined) => {
  const ms = (patterns ?? []).map(compilePattern);
  return (name: string) => ms.some((m) => m(name));
};

/** Checks a state dict against a module and plans the load without touching the module. */
export function planLoad(model: Module, state: Map<string, HostArray>, options: LoadOptions = {}): { report: LoadReport; writes: Map<string, string> } {
  const targets = new Map<string, number[]>();
  for (const p of [...model.namedParameters(), ...model.namedBuffers()]) targets.set(p.name, p.shape);
  const map = options.map ?? ((n: string) => (targets.has(n) ? [n] : null));
  const report: LoadReport = { loaded: [], missing: [], unexpected: [], ignored: [], shapeMismatch: [] };
  const writes = new Map<string, string>(); // module name -> checkpoint name
  for (const [src, arr] of state) {
    const dst = map(src);
    if (dst === null) {
      report.unexpected.push(src);
      continue;
    }
    if (dst.length === 0) {
      report.ignored.push(src);
      continue;
    }
    for (const d of dst) {
      const shape = targets.get(d);
      if (!shape) {
        report.unexpected.push(src);
        continue;
      }
      if (!sameShape(shape, arr.shape)) {
        report.shapeMismatch.push({ name: d, source: src, expected: shape, got: arr.shape });
        continue;
      }
      writes.set(d, src);
    }
  }
  report.loaded = [...writes.keys()];
  report.missing = [...targets.keys()].filter((n) => !writes.has(n));
  return { report, writes };
}

function failures(report: LoadReport, options: LoadOptions): string[] {
  const okMissing = anyMatch(options.allowMissing);
  const okUnexpected = anyMatch(options.allowUnexpected);
  const out: string[] = [];
  const missing = report.missing.filter((n) => !okMissing(n));
  const unexpected = report.unexpected.filter((n) => !okUnexpected(n));
  const list = (xs: string[]) => xs.slice(0, 8).join(', ') + (xs.length > 8 ? `, ... (${xs.length} in all)` : '');
  if (missing.length) out.push(`missing ${missing.length}: ${list(missing)}`);
  if (unexpected.length) out.push(`unexpected ${unexpected.length}: ${list(unexpected)}`);
  if (report.shapeMismatch.length) {
    out.push(
      `shape mismatch ${report.shapeMismatch.length}: ` +
        report.shapeMismatch
          .slice(0, 4)
          .map((m) => `${m.source} [${m.got.join(', ')}] -> ${m.name} [${m.expected.join(', ')}]`)
          .join('; '),
    );
  }
  return out;
}

/** planLoad, refusing (WeightsError, nothing changed) unless the load is clean or allowed. */
function checkedPlan(model: Module, state: Map<string, HostArray>, options: LoadOptions): { report: LoadReport; writes: Map<string, string> } {
  const planned = planLoad(model, state, options);
  const bad = failures(planned.report, options);
  if (bad.length) throw new WeightsError(`weights do not fit ${model.spec.family}: ${bad.join('; ')}`, planned.report);
  return planned;
}

/** Loads a state dict (name -> HostArray) into the module. Throws WeightsError, changing nothing, unless clean or allowed. */
export function loadStateDict(model: Module, state: Map<string, HostArray>, options: LoadOptions = {}): LoadReport {
  const { report, writes } = checkedPlan(model, state, options);
  const tensors: Record<string, Tensor> = {};
  try {
    for (const [dst, src] of writes) tensors[dst] = fromHost(state.get(src)!);
    model.loadTensors(tensors);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
  return report;
}

/**
 * loadStateDict with the copies made on the addon's compute thread, straight from the host arrays:
 * the JS thread stays free (the WV3 PanAdapter's 640 MB otherwise block it for over a second).
 * The arrays must not change until it resolves.
 */
export async function loadStateDictAsync(model: Module, state: Map<string, HostArray>, options: LoadOptions = {}): Promise<LoadReport> {
  const { report, writes } = checkedPlan(model, state, options);
  const names: string[] = [],
    arrays: ArrayBufferView[] = [],
    shapes: number[][] = [],
    dtypes: HostArray['dtype'][] = [];
  for (const [dst, src] of writes) {
    const h = state.get(src)!;
    names.push(dst);
    arrays.push(h.data);
    shapes.push(h.shape);
    dtypes.push(h.dtype);
  }
  await native.loadHostArrays(model.native, names, arrays, shapes, dtypes);
  return report;
}

/** One checkpoint file as read: its tensors by the names it was saved with. */
export interface CheckpointFile {
  path: string;
  state: Map<string, HostArray>;
}

/** A family's reading of its checkpoint files: one state dict in the module's own names. */
export interface PreparedLoad {
  state: Map<string, HostArray>;
  /** checkpoint names set aside on purpose (they join the report's `ignored`) */
  ignored?: string[];
  /** module tensors the given files do not cover by design (patterns as in freeze()) */
  allowMissing?: readonly string[];
  /** fields added to the report (e.g. DLPan's aliases) */
  notes?: Record<string, unknown>;
  /** what a failed load most likely means in the family's terms (appended to the error) */
  explain?: (report: LoadReport) => string | undefined;
}

/**
 * How a model family reads published checkpoints (DLPan-Toolbox, IPT/EDSR, the official CrossDiff
 * files): it lives beside the family (ModelSpec.checkpoints), as timm keeps a model's filter
 * function with the model, so that one loader serves every command.
 */
export type CheckpointDialect = (model: Module, files: readonly CheckpointFile[]) => PreparedLoad;

/** The dialect of specfuse's own files: one file, in the module's names. */
export const ownNames: CheckpointDialect = (model, files) => {
  if (files.length !== 1) throw new TypeError(`files: ${model.spec.family} weights come in one file, got ${files.length}`);
  return { state: files[0]!.state };
};

/**
 * A state dict renamed by a mapping into `into`: mapped names become module names, names the
 * mapping ignores are returned, names with no rule stay as they are (the load reports them as
 * unexpected).
 */
export function renameState(
  state: Map<string, HostArray>,
  map: NameMapping,
  into = new Map<string, HostArray>(),
): { state: Map<string, HostArray>; ignored: string[] } {
  const ignored: string[] = [];
  for (const [src, arr] of state) {
    const dst = map(src);
    if (dst === null) into.set(src, arr);
    else if (dst.length === 0) ignored.push(src);
    else for (const d of dst) into.set(d, arr);
  }
  return { state: into, ignored };
}

/** Loads checkpoint files already read, through the model family's dialect. */
export function loadCheckpointFiles(model: Module, files: readonly CheckpointFile[], options: LoadOptions = {}): LoadReport {
  const { p, allowMissing } = prepareFiles(model, files, options);
  try {
    return finishReport(loadStateDict(model, p.state, { ...options, allowMissing }), p);
  } catch (e) {
    throw explained(e, p);
  }
}

/** loadCheckpointFiles with the copies made off the JS thread (loadStateDictAsync). */
export async function loadCheckpointFilesAsync(model: Module, files: readonly CheckpointFile[], options: LoadOptions = {}): Promise<LoadReport> {
  const { p, allowMissing } = prepareFiles(model, files, options);
  try {
    return finishReport(await loadStateDictAsync(model, p.state, { ...options, allowMissing }), p);
  } catch (e) {
    throw explained(e, p);
  }
}

function prepareFiles(model: Module, files: readonly CheckpointFile[], options: LoadOptions): { p: PreparedLoad; allowMissing: string[] } {
  // a caller's own mapping reads one file as it is; otherwise the family's dialect reads the files
  const p: PreparedLoad = options.map ? ownNames(model, files) : (model.spec.checkpoints ?? ownNames)(model, files);
  return { p, allowMissing: [...(p.allowMissing ?? []), ...(options.allowMissing ?? [])] };
}

function finishReport(report: LoadReport, p: PreparedLoad): LoadReport {
  report.ignored.push(...(p.ignored ?? []));
  return Object.assign(report, p.notes);
}

function explained(e: unknown, p: PreparedLoad): unknown {
  const why = e instanceof WeightsError ? p.explain?.(e.report) : undefined;
  return why ? new WeightsError(`${(e as Error).message} (${why})`, (e as WeightsError).report) : e;
}

/**
 * Reads safetensors, torch.save zip or legacy files (nothing in them is executed) and loads them
 * strictly through the model family's dialect: specfuse's own files, and the family's published
 * checkpoints (several files where the family saves several, e.g. CrossDiff's P2M, M2P and head).
 * `options.map` bypasses the dialect.
 */
export async function loadWeights(model: Module, fileOrFiles: string | readonly string[], options: LoadOptions = {}): Promise<LoadReport> {
  const paths = typeof fileOrFiles === 'string' ? [fileOrFiles] : [...fileOrFiles];
  if (!paths.length) throw new TypeError('files: expected at least one weights file');
  const files: CheckpointFile[] = [];
  for (const path of paths) files.push({ path, state: await loadCheckpointFile(path) });
  return loadCheckpointFilesAsync(model, files, options);
}

export { writeFileAtomic } from './atomic.js';

/**
 * What a weights file records about its model, so that loadModel(file) (and `specfuse infer/eval`
 * without --model) can rebuild it: `family`, `config` (JSON of the resolved options), `stage` (when
 * one is set) and, where the caller knows it, `preset`.
 */
export function modelMetadata(model: Module): Record<string, string> {
  return {
    family: model.spec.family,
    config: JSON.stringify(model.config),
    ...(model.stage !== null ? { stage: String(model.stage) } : {}),
  };
}

/** Every parameter and buffer as safetensors, written atomically, with the model's config in the metadata. */
export async function saveWeights(model: Module, path: string, metadata: Record<string, string> = {}): Promise<void> {
  const sd = model.stateDict();
  try {
    const host = new Map<string, HostArray>();
    for (const [k, t] of Object.entries(sd)) host.set(k, await t.toHost());
    writeFileAtomic(path, writeSafetensors(host, { ...modelMetadata(model), ...metadata }));
  } finally {
    for (const t of Object.values(sd)) t.dispose();
  }
}
