/**
 * PanAdapter's checkpoint dialect (reference §6.3): besides specfuse's own files, the pretrained
 * IPT (`IPT_pretrain.pt`) and EDSR (`edsr_baseline_x2`) checkpoints its stage 1 starts from. Each
 * covers part of the model; what neither covers keeps its initialisation.
 */
import type { Module } from '../module.js';
import { compilePattern } from '../freeze.js';
import { loadWeights, renameState, type CheckpointDialect, type LoadReport, type NameMapping } from '../weights.js';

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

/** The pretrained kinds: how a file is recognised, its mapping, and the module parts it leaves alone. */
const PRETRAINED = {
  ipt: {
    is: (names: string[]) => names.some((n) => n.startsWith('body.query_embed.')),
    map: iptToPanAdapter,
    leaves: ['head', 'head_down', 'sspen', 'a_proj', 'b_proj', 'adapters', 'tail2'],
  },
  edsr: {
    is: (names: string[]) => names.some((n) => n.startsWith('body.16.')) && !names.some((n) => n.startsWith('body.query_embed.')),
    map: edsrToPanAdapter,
    leaves: ['head', 'head_down', 'vit', 'sspen.*_edsr.head', 'sspen.*_lpes', 'sspen.*_proj', 'a_proj', 'b_proj', 'adapters', 'tail2'],
  },
} as const;

/**
 * specfuse's own file alone, or IPT and/or EDSR files: each mapped into the module's names; the
 * tensors none of the given files covers may stay missing (IPT and EDSR together: only the parts
 * neither provides).
 */
export const panAdapterCheckpoints: CheckpointDialect = (model, files) => {
  const kinds = files.map((f) => {
    const names = [...f.state.keys()];
    return Object.values(PRETRAINED).find((k) => k.is(names));
  });
  if (kinds.every((k) => k === undefined) && files.length === 1) return { state: files[0]!.state };
  const own = files.filter((_, i) => !kinds[i]).map((f) => f.path);
  if (own.length)
    throw new TypeError(
      `files: ${own.join(', ')} ${own.length === 1 ? 'is' : 'are'} neither IPT nor EDSR pretrained weights; PanAdapter's own weights come in one file`,
    );
  const state = new Map();
  const ignored: string[] = [];
  for (let i = 0; i < files.length; i++) ignored.push(...renameState(files[i]!.state, kinds[i]!.map, state).ignored);
  // allowed to stay missing: the module tensors every given file leaves alone
  const names = [...model.namedParameters(), ...model.namedBuffers()].map((p) => p.name);
  const leftAlone = (leaves: readonly string[]) => {
    const ms = leaves.map(compilePattern);
    return (n: string) => ms.some((m) => m(n));
  };
  const tests = kinds.map((k) => leftAlone(k!.leaves));
  return { state, ignored, allowMissing: names.filter((n) => tests.every((t) => t(n))) };
};

/** Loads IPT and/or EDSR pretrained weights into a PanAdapter with the documented mappings and leftovers (one report per file). */
export async function loadPanAdapterPretrained(model: Module, files: { ipt?: string; edsr?: string }): Promise<{ ipt?: LoadReport; edsr?: LoadReport }> {
  if (model.spec.family !== 'panadapter') throw new TypeError('model: expected a PanAdapter');
  const out: { ipt?: LoadReport; edsr?: LoadReport } = {};
  if (files.ipt) out.ipt = await loadWeights(model, files.ipt, { map: iptToPanAdapter, allowMissing: PRETRAINED.ipt.leaves });
  if (files.edsr) out.edsr = await loadWeights(model, files.edsr, { map: edsrToPanAdapter, allowMissing: PRETRAINED.edsr.leaves });
  return out;
}
