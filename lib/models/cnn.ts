/**
 * The classic pansharpening CNNs of DLPan-Toolbox: PNN (Masi et al. 2016), PanNet (Yang et al. 2017),
 * DiCNN (He et al. 2019) and FusionNet (Deng et al. 2021). The networks are C++ (native/models/cnn.*);
 * this file owns their typed configs, specs and the loader of the released checkpoints
 * (DLPan-Toolbox `pretrained-model/{WV3,QB}/*.pth`, plain state dicts).
 *
 * Inputs are PanCollection-scaled (DN / 2047 for the 11-bit sensors), outputs too (multiply back):
 *  - pnn:       lms, pan (output is the image itself, no residual; replicate-padded, same size)
 *  - pannet:    lms, pan, ms (high-passed inside: x - 5×5 box mean), output lms + detail
 *  - dicnn:     lms, pan, output lms + detail
 *  - fusionnet: lms, pan, output lms + detail
 * All are fully convolutional: any image size (PanNet: multiples of 4 with ms a quarter of lms).
 */
import { Module, type ModelPlan, type ModelSpec } from '../module.js';
import type { HostArray } from '../host.js';
import { loadCheckpointFile } from '../checkpoint-formats/index.js';
import { loadCheckpointFiles, planLoad, renameState, WeightsError, type CheckpointDialect, type LoadReport, type NameMapping } from '../weights.js';
import { checkKeys, checkWithNative, overPreset } from './config-checks.js';

export type CnnModelName = 'pnn' | 'pannet' | 'dicnn' | 'fusionnet';
export const CNN_MODELS: readonly CnnModelName[] = Object.freeze(['pnn', 'pannet', 'dicnn', 'fusionnet']);

export interface CnnConfig {
  model: CnnModelName;
  /**
   * MS bands: 8 (WV3, WV2; default) or 4 (QB, GF2, IKONOS), as the released checkpoints have; the
   * networks are fully convolutional and take any count in [1, 1024] (the C++ parser's limit).
   */
  bands?: number;
}

const RES = ['res1', 'res2', 'res3', 'res4'];

/** One stage that trains every parameter; checkpoints in the DLPan-Toolbox dialect (below). */
export const cnnSpecs: Readonly<Record<CnnModelName, ModelSpec>> = Object.freeze({
  pnn: { family: 'pnn', stages: { 1: ['conv1', 'conv2', 'conv3'] }, inputs: ['lms', 'pan'], checkpoints: (m, f) => dlpanCheckpoints(m, f) },
  pannet: {
    family: 'pannet',
    stages: { 1: ['deconv', 'conv1', ...RES, 'conv3'] },
    inputs: ['lms', 'pan', 'ms'],
    checkpoints: (m, f) => dlpanCheckpoints(m, f),
  },
  dicnn: { family: 'dicnn', stages: { 1: ['conv1', 'conv2', 'conv3'] }, inputs: ['lms', 'pan'], checkpoints: (m, f) => dlpanCheckpoints(m, f) },
  fusionnet: { family: 'fusionnet', stages: { 1: ['conv1', ...RES, 'conv3'] }, inputs: ['lms', 'pan'], checkpoints: (m, f) => dlpanCheckpoints(m, f) },
});

export function isCnnModel(name: unknown): name is CnnModelName {
  return typeof name === 'string' && (CNN_MODELS as readonly string[]).includes(name);
}

/** The typed options of a CNN: its band count (default 8), checked by the C++ parser. */
export function resolveCnnOptions(config: CnnConfig): { bands: number } {
  checkKeys(config, ['model', 'bands']);
  if (!isCnnModel(config.model)) throw new RangeError(`config.model: expected one of ${CNN_MODELS.join(', ')}, got '${String(config.model)}'`);
  const options = overPreset({ bands: 8 }, config);
  checkWithNative(config.model, options);
  return options;
}

export function createCnn(config: CnnConfig): Module {
  return Module.fromPlan(planCnn(config));
}

export function planCnn(config: CnnConfig): ModelPlan {
  return { spec: cnnSpecs[config.model], nativeName: config.model, config: resolveCnnOptions(config) };
}

// ---- the released checkpoints ---------------------------------------------------------------------

/** File names of the released checkpoints per model (QB's PanNet is `panet.pth`, DiCNN's `dicnn1.pth`). */
export const DLPAN_FILE_NAMES: Readonly<Record<CnnModelName, readonly string[]>> = Object.freeze({
  pnn: ['pnn.pth'],
  pannet: ['pannet.pth', 'panet.pth'],
  dicnn: ['dicnn1.pth', 'dicnn.pth'],
  fusionnet: ['fusionnet.pth'],
});

/** The model and band count a state dict was saved from, recognised by its tensor names and shapes. */
export function describeDlpanCheckpoint(state: Map<string, HostArray>): { model: CnnModelName; bands: number } | undefined {
  const shape = (k: string) => state.get(k)?.shape;
  const out = shape('conv3.weight');
  const conv1 = shape('conv1.weight');
  if (!out || out.length !== 4 || !conv1 || conv1.length !== 4) return undefined;
  const bands = out[0]!;
  if (state.has('deconv.weight') && state.has('res1.conv20.weight')) return { model: 'pannet', bands };
  if (state.has('res1.conv20.weight') && conv1[1] === bands) return { model: 'fusionnet', bands };
  if (conv1[2] === 9 && conv1[1] === bands + 1) return { model: 'pnn', bands };
  if (conv1[2] === 3 && conv1[1] === bands + 1 && state.has('conv2.weight')) return { model: 'dicnn', bands };
  return undefined;
}

/** A checkpoint entry that repeats another under a second name (same tensor in the saved module). */
export interface DlpanAlias {
  /** the duplicate's name in the checkpoint, e.g. backbone.0.conv20.weight */
  name: string;
  /** the module name it duplicates, e.g. res1.conv20.weight */
  twin: string;
}

export interface DlpanLoadReport extends LoadReport {
  /**
   * PanNet/FusionNet checkpoints hold the four residual blocks twice: as res1..res4 and as
   * backbone.0..3 (a Sequential over the same blocks). Each alias was checked to equal its twin
   * bit for bit and is listed in `ignored` too (when a file has only the alias, it is loaded into
   * the twin instead and is not listed here).
   */
  aliases: DlpanAlias[];
}

const ALIAS_RE = /^backbone\.(\d+)\.(.+)$/;

function sameBytes(a: HostArray, b: HostArray): boolean {
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  const x = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const y = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  return Buffer.compare(x, y) === 0;
}

/**
 * The name mapping of a DLPan checkpoint onto a CNN module: identity, plus backbone.{i}.* → [] when
 * res{i+1}.* is in the file too (a duplicate), or → res{i+1}.* when it is not.
 */
export function dlpanMapping(model: Module, state: Map<string, HostArray>): NameMapping {
  const names = new Set([...model.namedParameters(), ...model.namedBuffers()].map((p) => p.name));
  return (src) => {
    const m = ALIAS_RE.exec(src);
    if (m) {
      const twin = `res${Number(m[1]) + 1}.${m[2]}`;
      if (!names.has(twin)) return null;
      return state.has(twin) ? [] : [twin];
    }
    return names.has(src) ? [src] : null;
  };
}

/**
 * The DLPan-Toolbox dialect: one plain state dict, checkpoint aliases checked and set aside (see
 * DlpanLoadReport), and a failed load told as "the file looks like a 4-band pannet" when it does.
 */
export const dlpanCheckpoints: CheckpointDialect = (model, files) => {
  if (files.length !== 1) throw new TypeError(`files: ${model.spec.family} weights come in one file, got ${files.length}`);
  const { state } = files[0]!;
  const family = model.spec.family;
  const map = dlpanMapping(model, state);
  const aliases: DlpanAlias[] = [];
  const differing: string[] = [];
  for (const [name, arr] of state) {
    const m = ALIAS_RE.exec(name);
    if (!m || map(name)?.length !== 0) continue;
    const twin = `res${Number(m[1]) + 1}.${m[2]}`;
    if (sameBytes(arr, state.get(twin)!)) aliases.push({ name, twin });
    else differing.push(`${name} != ${twin}`);
  }
  if (differing.length) {
    const { report } = planLoad(model, state, { map });
    throw new WeightsError(
      `weights do not fit ${family}: ${differing.length} backbone.* entr${differing.length === 1 ? 'y differs' : 'ies differ'} ` +
        `from the res* tensors they should duplicate (${differing.slice(0, 4).join(', ')}${differing.length > 4 ? ', ...' : ''})`,
      report,
    );
  }
  const info = describeDlpanCheckpoint(state);
  const bands = Number(model.config.bands);
  return {
    ...renameState(state, map),
    notes: { aliases },
    explain: () =>
      info && (info.model !== family || info.bands !== bands)
        ? `the file looks like a ${info.bands}-band ${info.model} checkpoint; the model is a ${bands}-band ${family}`
        : undefined,
  };
};

/**
 * Loads a DLPan-Toolbox state dict strictly: every module tensor must come from the file and every
 * file tensor must have a place (0 missing, 0 unexpected, 0 shape mismatches), aliases included.
 * Throws WeightsError, changing nothing, otherwise, or when an alias differs from its twin.
 */
export function loadDlpanStateDict(model: Module, state: Map<string, HostArray>): DlpanLoadReport {
  const family = model.spec.family;
  if (!isCnnModel(family)) throw new TypeError(`model: expected one of ${CNN_MODELS.join(', ')}, got a ${family}`);
  return loadCheckpointFiles(model, [{ path: '', state }]) as DlpanLoadReport;
}

/** Reads a DLPan-Toolbox checkpoint (torch.save zip; nothing in it is executed) and loads it strictly. */
export async function loadDlpanWeights(model: Module, path: string): Promise<DlpanLoadReport> {
  return loadDlpanStateDict(model, await loadCheckpointFile(path));
}
