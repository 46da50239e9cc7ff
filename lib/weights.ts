/**
 * Weights in and out of a Module, strictly by default.
 *
 * A load maps checkpoint names onto the module's (optionally through a mapping rule), then checks
 * everything before writing anything: missing, unexpected and shape-mismatched tensors make it fail
 * unless an allow-list says which may be skipped. The report says exactly what happened.
 */
import { writeFileAtomic } from './atomic.js';
import type { Module } from './module.js';
import { fromHost, type Tensor } from './tensor.js';
import { compilePattern } from './freeze.js';
import type { HostArray } from './host.js';
import { loadCheckpointFile, writeSafetensors } from './io/index.js';

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
    if (dst === null) { report.unexpected.push(src); continue; }
    if (dst.length === 0) { report.ignored.push(src); continue; }
    for (const d of dst) {
      const shape = targets.get(d);
      if (!shape) { report.unexpected.push(src); continue; }
      if (!sameShape(shape, arr.shape)) { report.shapeMismatch.push({ name: d, source: src, expected: shape, got: arr.shape }); continue; }
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
    out.push(`shape mismatch ${report.shapeMismatch.length}: ` +
      report.shapeMismatch.slice(0, 4).map((m) => `${m.source} [${m.got.join(', ')}] -> ${m.name} [${m.expected.join(', ')}]`).join('; '));
  }
  return out;
}

/** Loads a state dict (name -> HostArray) into the module. Throws WeightsError, changing nothing, unless clean or allowed. */
export function loadStateDict(model: Module, state: Map<string, HostArray>, options: LoadOptions = {}): LoadReport {
  const { report, writes } = planLoad(model, state, options);
  const bad = failures(report, options);
  if (bad.length) throw new WeightsError(`weights do not fit ${model.spec.family}: ${bad.join('; ')}`, report);
  const tensors: Record<string, Tensor> = {};
  try {
    for (const [dst, src] of writes) tensors[dst] = fromHost(state.get(src)!);
    model.loadTensors(tensors);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
  return report;
}

/** Reads safetensors, torch.save zip or legacy files (nothing in them is executed) and loads them. */
export async function loadWeights(model: Module, path: string, options: LoadOptions = {}): Promise<LoadReport> {
  return loadStateDict(model, await loadCheckpointFile(path), options);
}

export { writeFileAtomic } from './atomic.js';

/** Every parameter and buffer as safetensors, written atomically. */
export async function saveWeights(model: Module, path: string, metadata: Record<string, string> = {}): Promise<void> {
  const sd = model.stateDict();
  try {
    const host = new Map<string, HostArray>();
    for (const [k, t] of Object.entries(sd)) host.set(k, await t.toHost());
    writeFileAtomic(path, writeSafetensors(host, { family: model.spec.family, ...metadata }));
  } finally {
    for (const t of Object.values(sd)) t.dispose();
  }
}

// ---- PanAdapter's pretrained checkpoints (reference §6.3) ---------------------------------------

/** IPT_pretrain.pt: its 297 `body.*` tensors go into the ViT (embeddings included); heads/tails/mean shifts are ignored. */
export const iptToPanAdapter: NameMapping = (name) => {
  if (!name.startsWith('body.')) return [];
  const rest = name.slice(5);
  if (rest.startsWith('query_embed.')) return [`vit._query_embed.${rest.slice(12)}`];
  if (rest.startsWith('position_encoding.')) return [`vit._position_encoding.${rest.slice(18)}`];
  return [`vit.${rest}`];
};

/** edsr_baseline_x2: body.0-15 into both EDSR bodies, body.16 into both single_layers; head/tail/mean shifts ignored. */
export const edsrToPanAdapter: NameMapping = (name) => {
  const m = name.match(/^body\.(\d+)\.(.*)$/);
  if (!m) return [];
  const r = Number(m[1]);
  const rest = m[2]!;
  const into = (suffix: string) => ['spe_edsr', 'spa_edsr'].map((e) => `sspen.${e}.${suffix}`);
  if (r === 16) return into(`single_layer.${rest}`);
  return into(`body.${r}.${rest}`);
};

/** Loads IPT and/or EDSR pretrained weights into a PanAdapter with the documented mappings and leftovers. */
export async function loadPanAdapterPretrained(model: Module, files: { ipt?: string; edsr?: string }): Promise<{ ipt?: LoadReport; edsr?: LoadReport }> {
  if (model.spec.family !== 'panadapter') throw new TypeError('model: expected a PanAdapter');
  const out: { ipt?: LoadReport; edsr?: LoadReport } = {};
  if (files.ipt) {
    out.ipt = await loadWeights(model, files.ipt, { map: iptToPanAdapter, allowMissing: ['head', 'head_down', 'sspen', 'a_proj', 'b_proj', 'adapters', 'tail2'] });
  }
  if (files.edsr) {
    out.edsr = await loadWeights(model, files.edsr, {
      map: edsrToPanAdapter,
      allowMissing: ['head', 'head_down', 'vit', 'sspen.*_edsr.head', 'sspen.*_lpes', 'sspen.*_proj', 'a_proj', 'b_proj', 'adapters', 'tail2'],
    });
  }
  return out;
}
