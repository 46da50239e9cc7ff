/**
 * CrossDiff's checkpoint dialect: specfuse's own file (p2m.*, m2p.*, head.* in one), or the official
 * release's three files (../shared/reference/crossdiff.md): the P2M and M2P diffusion models, each
 * a GaussianDiffusion whose UNet sits under `denoise_fn.` beside the 12 buffers of its noise schedule,
 * and the fusion head's plain state dict. The schedule is not a weight here (specfuse computes it
 * from `diffusionSteps`), so its buffers are ignored and listed in the report's `ignored`.
 */
import type { HostArray } from '../host.js';
import { renameState, type CheckpointDialect, type CheckpointFile, type NameMapping } from '../weights.js';

/** The buffers GaussianDiffusion registers for its schedule (SR3/Palette code the release builds on). */
export const CROSSDIFF_SCHEDULE_BUFFERS: readonly string[] = Object.freeze([
  'betas',
  'alphas_cumprod',
  'alphas_cumprod_prev',
  'sqrt_alphas_cumprod',
  'sqrt_one_minus_alphas_cumprod',
  'log_one_minus_alphas_cumprod',
  'sqrt_recip_alphas_cumprod',
  'sqrt_recipm1_alphas_cumprod',
  'posterior_variance',
  'posterior_log_variance_clipped',
  'posterior_mean_coef1',
  'posterior_mean_coef2',
]);

const UNET_PREFIX = 'denoise_fn.';
const OWN_PREFIXES = ['p2m.', 'm2p.', 'head.'];
type Part = 'p2m' | 'm2p' | 'head';

/**
 * Which part an official file holds: a UNet predicts the noise of its target, so its last conv has
 * as many outputs as the target has bands (P2M: the MS bands, M2P: 1, the PAN).
 */
function officialPart(file: CheckpointFile, bands: number): Part {
  const names = [...file.state.keys()];
  if (!names.some((n) => n.startsWith(UNET_PREFIX))) return 'head';
  const out = file.state.get(`${UNET_PREFIX}final2.weight`)?.shape[0];
  if (out === undefined) throw new TypeError(`files: ${file.path} has ${UNET_PREFIX}* tensors but no ${UNET_PREFIX}final2.weight: not a CrossDiff UNet`);
  if (bands === 1) throw new TypeError(`files: ${file.path}: with 1 band, P2M and M2P files cannot be told apart`);
  if (out === 1) return 'm2p';
  if (out === bands) return 'p2m';
  throw new TypeError(`files: ${file.path} is a UNet predicting ${out} bands: neither P2M (${bands}) nor M2P (1) of this ${bands}-band model`);
}

const mappingFor =
  (part: Part): NameMapping =>
  (name) => {
    if (part === 'head') return [`head.${name}`];
    if (name.startsWith(UNET_PREFIX)) return [`${part}.${name.slice(UNET_PREFIX.length)}`];
    return CROSSDIFF_SCHEDULE_BUFFERS.includes(name) ? [] : null;
  };

export const crossDiffCheckpoints: CheckpointDialect = (model, files) => {
  const isOwn = (f: CheckpointFile) => [...f.state.keys()].every((n) => OWN_PREFIXES.some((p) => n.startsWith(p)));
  if (files.length === 1 && isOwn(files[0]!)) return { state: files[0]!.state };
  const bands = Number(model.config.bands);
  const state = new Map<string, HostArray>();
  const ignored: string[] = [];
  const given = new Map<Part, string>();
  for (const file of files) {
    if (isOwn(file)) throw new TypeError(`files: ${file.path} holds specfuse's CrossDiff weights, which come alone (not with the official files)`);
    const part = officialPart(file, bands);
    if (given.has(part))
      throw new TypeError(`files: ${given.get(part)} and ${file.path} both hold the ${part === 'head' ? 'fusion head' : part.toUpperCase()}`);
    given.set(part, file.path);
    const r = renameState(file.state, mappingFor(part));
    for (const [k, v] of r.state) state.set(k, v);
    ignored.push(...r.ignored.map((n) => `${file.path}: ${n}`));
  }
  // the parts not given keep their weights: e.g. stage 2 starting from the two official UNets
  const allowMissing = (['p2m', 'm2p', 'head'] as const).filter((p) => !given.has(p));
  return { state, ignored, allowMissing, notes: { files: Object.fromEntries(given) } };
};
