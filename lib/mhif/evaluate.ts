/** Scoring a fusion model on held-out crops against the bicubic upsampling it starts from. */
import type { HostArray } from '../host.js';
import type { Module } from '../module.js';
import { cat, fromHost, type Tensor } from '../tensor.js';
import { gather } from '../train/dataset.js';
import { hyperspectralMetricsBatch, meanMetrics, type HyperspectralMetrics } from '../metrics/hyperspectral.js';

export interface MhifScores {
  /** Mean over the crops. */
  model: HyperspectralMetrics;
  bicubic: HyperspectralMetrics;
  /** Per crop. */
  perCrop: { model: HyperspectralMetrics[]; bicubic: HyperspectralMetrics[] };
  crops: number;
}

/** Runs `model` on the crops (batches of `batchSize`) and scores it and `hsi_up` against `gt`. */
export async function evaluateMhif(
  model: Module, crops: Record<'gt' | 'msi' | 'lrhsi' | 'hsi_up', HostArray>, opts: { ratio: number; batchSize?: number; device?: string },
): Promise<MhifScores> {
  const n = crops.gt.shape[0]!;
  if (n < 1) throw new RangeError('crops: no test crops');
  const bs = opts.batchSize ?? 4;
  const outs: Tensor[] = [];
  try {
    for (let i = 0; i < n; i += bs) {
      const idx = Array.from({ length: Math.min(bs, n - i) }, (_, k) => i + k);
      const inputs: Record<string, Tensor> = {};
      try {
        for (const k of ['lrhsi', 'msi', 'hsi_up'] as const) {
          const t = fromHost(gather(crops[k], idx));
          inputs[k] = opts.device && opts.device !== 'cpu' ? (() => { const d = t.to(opts.device!); t.dispose(); return d; })() : t;
        }
        const out = await model.forward(inputs);
        outs.push(out.device === 'cpu' ? out : (() => { const c = out.to('cpu'); out.dispose(); return c; })());
      } finally {
        for (const t of Object.values(inputs)) t.dispose();
      }
    }
    const fused = outs.length === 1 ? outs[0]! : cat(outs, 0);
    const gt = fromHost(crops.gt);
    const up = fromHost(crops.hsi_up);
    try {
      const m = await hyperspectralMetricsBatch(fused, gt, { ratio: opts.ratio });
      const b = await hyperspectralMetricsBatch(up, gt, { ratio: opts.ratio });
      return { model: meanMetrics(m), bicubic: meanMetrics(b), perCrop: { model: m, bicubic: b }, crops: n };
    } finally {
      gt.dispose();
      up.dispose();
      if (fused !== outs[0]) fused.dispose();
    }
  } finally {
    for (const t of outs) t.dispose();
  }
}

/** One line per method: PSNR/SAM/ERGAS/SSIM. */
export function formatMhifScores(s: MhifScores, name = 'infn'): string {
  const row = (label: string, m: HyperspectralMetrics) =>
    `  ${label.padEnd(8)} PSNR ${m.PSNR.toFixed(3).padStart(7)} dB  SAM ${m.SAM.toFixed(4).padStart(7)}°  ERGAS ${m.ERGAS.toFixed(4).padStart(8)}  SSIM ${m.SSIM.toFixed(4)}`;
  return [`held-out crops: ${s.crops}`, row(name, s.model), row('bicubic', s.bicubic)].join('\n');
}
