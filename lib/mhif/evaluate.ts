/**
 * Scoring a fusion model on held-out windows of a simulated image against the bicubic upsampling it
 * starts from. The model runs on each window enlarged by `context` HR pixels on every side (clipped
 * to the image) and its output is cut back to the window: the inputs around a test window are
 * observations (LR-HSI, MSI), not targets, and without them the crop's border would be judged on
 * zero padding that bicubic (computed on the whole image) never sees.
 */
import type { HostArray } from '../host.js';
import type { Module } from '../module.js';
import { fromHost, type Tensor } from '../tensor.js';
import { hyperspectralMetricsBatch, meanMetrics, type HyperspectralMetrics } from '../metrics/hyperspectral.js';
import type { MhifSet, Window } from '../protocol/hyperspectral.js';

export interface MhifScores {
  /** Mean over the windows. */
  model: HyperspectralMetrics;
  bicubic: HyperspectralMetrics;
  /** Per window. */
  perCrop: { model: HyperspectralMetrics[]; bicubic: HyperspectralMetrics[] };
  crops: number;
}

export interface EvaluateMhifOptions {
  ratio: number;
  /** HR pixels of input context around each window (a multiple of the ratio). Default 16. */
  context?: number;
  device?: string;
}

/** [1, C, h, w] float32 copy of window `w` (HR coordinates, divided by `div`) of image 0 of `a`. */
function window(a: HostArray, w: Window, div: number): HostArray {
  const [, c, H, W] = a.shape as [number, number, number, number];
  const y0 = w.y / div, x0 = w.x / div, h = w.height / div, ww = w.width / div;
  const src = a.data as Float32Array;
  const out = new Float32Array(c * h * ww);
  for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) out.set(src.subarray((ch * H + y0 + y) * W + x0, (ch * H + y0 + y) * W + x0 + ww), (ch * h + y) * ww);
  return { dtype: 'float32', shape: [1, c, h, ww], data: out };
}

const onDevice = (t: Tensor, device?: string) => {
  if (!device || device === 'cpu') return t;
  const d = t.to(device);
  t.dispose();
  return d;
};

/** Runs `model` around each window of the simulated image `image` (N = 1) and scores it and `hsi_up` against `gt`. */
export async function evaluateMhif(model: Module, image: MhifSet<HostArray>, windows: readonly Window[], opts: EvaluateMhifOptions): Promise<MhifScores> {
  if (windows.length === 0) throw new RangeError('windows: no test windows');
  const r = opts.ratio;
  const ctx = opts.context ?? 16;
  if (!Number.isInteger(ctx) || ctx < 0 || ctx % r !== 0) throw new RangeError(`context: must be a non-negative multiple of the ratio ${r}, got ${ctx}`);
  const [, , H, W] = image.gt.shape as [number, number, number, number];
  const model_: HyperspectralMetrics[] = [], bicubic: HyperspectralMetrics[] = [];
  for (const win of windows) {
    const y0 = Math.max(0, win.y - ctx), x0 = Math.max(0, win.x - ctx);
    const y1 = Math.min(H, win.y + win.height + ctx), x1 = Math.min(W, win.x + win.width + ctx);
    const big: Window = { y: y0, x: x0, height: y1 - y0, width: x1 - x0 };
    const inputs: Record<string, Tensor> = {};
    const own: Tensor[] = [];
    try {
      inputs.lrhsi = onDevice(fromHost(window(image.lrhsi, big, r)), opts.device);
      inputs.msi = onDevice(fromHost(window(image.msi, big, 1)), opts.device);
      inputs.hsi_up = onDevice(fromHost(window(image.hsi_up, big, 1)), opts.device);
      const out = await model.forward(inputs);
      own.push(out);
      const rows = out.slice(2, win.y - y0, win.y - y0 + win.height);
      own.push(rows);
      const crop = rows.slice(3, win.x - x0, win.x - x0 + win.width);
      own.push(crop);
      const fused = crop.device === 'cpu' ? crop.contiguous() : crop.to('cpu');
      own.push(fused);
      const gt = fromHost(window(image.gt, win, 1)), up = fromHost(window(image.hsi_up, win, 1));
      own.push(gt, up);
      model_.push((await hyperspectralMetricsBatch(fused, gt, { ratio: r }))[0]!);
      bicubic.push((await hyperspectralMetricsBatch(up, gt, { ratio: r }))[0]!);
    } finally {
      for (const t of [...Object.values(inputs), ...own]) if (!t.disposed) t.dispose();
    }
  }
  return { model: meanMetrics(model_), bicubic: meanMetrics(bicubic), perCrop: { model: model_, bicubic }, crops: windows.length };
}

/** One line per method: PSNR/SAM/ERGAS/SSIM. */
export function formatMhifScores(s: MhifScores, name = 'infn'): string {
  const row = (label: string, m: HyperspectralMetrics) =>
    `  ${label.padEnd(8)} PSNR ${m.PSNR.toFixed(3).padStart(7)} dB  SAM ${m.SAM.toFixed(4).padStart(7)}°  ERGAS ${m.ERGAS.toFixed(4).padStart(8)}  SSIM ${m.SSIM.toFixed(4)}`;
  return [`held-out windows: ${s.crops}`, row(name, s.model), row('bicubic', s.bicubic)].join('\n');
}
