/**
 * Validation with the field's metrics: the loss, and the reduced-resolution indices of the model's
 * output against the target (SAM, ERGAS, Q2n, PSNR, ...), computed toolbox-exact on DN (the data
 * times `scale`) tile by tile and averaged over the validation tiles, as the held-out report does.
 * Optionally an RGB preview of the first tiles (fused | reference pairs) for image loggers.
 */
import { defaultRgbBands, encodePng, panel, renderPreview } from '../data/index.js';
import { reducedResolutionMetricsBatch, type ReducedMetricName, reducedMetricNames } from '../metrics/index.js';
import type { Tensor } from '../tensor.js';
import type { LogImage } from './loggers.js';

export interface ValidationOptions {
  /** Reduced-resolution metrics to compute on each validation tile (default none: the loss only). */
  metrics?: readonly ReducedMetricName[];
  /** DN per data unit (data divided by 2047 for WV2: 2047). Default 1 (the data is in DN). */
  scale?: number;
  /** PAN/MS ratio (ERGAS). Default 4. */
  ratio?: number;
  /** Radiometric resolution in bits. Default 11. */
  bits?: number;
  /** Border cut (the toolbox's dim_cut; 0 or absent: none). */
  dimCut?: number;
  /** Tiles in the image preview handed to loggers (default 4; 0: none). */
  previewTiles?: number;
}

export function checkValidationOptions(v: ValidationOptions | undefined): Required<Omit<ValidationOptions, 'dimCut'>> & { dimCut?: number } {
  const o = v ?? {};
  if (typeof o !== 'object') throw new TypeError('options.validation: expected an object');
  const metrics = o.metrics ?? [];
  for (const m of metrics)
    if (!reducedMetricNames.includes(m))
      throw new RangeError(`options.validation.metrics: unknown metric '${String(m)}' (expected ${reducedMetricNames.join(', ')})`);
  const scale = o.scale ?? 1;
  if (!(scale > 0)) throw new RangeError('options.validation.scale: must be > 0');
  const previewTiles = o.previewTiles ?? 4;
  if (!Number.isInteger(previewTiles) || previewTiles < 0) throw new RangeError('options.validation.previewTiles: expected an integer >= 0');
  return { metrics, scale, ratio: o.ratio ?? 4, bits: o.bits ?? 11, dimCut: o.dimCut, previewTiles };
}

/** Accumulates per-tile metrics of validation batches into means. */
export class ValidationAccumulator {
  readonly #sums = new Map<string, number>();
  #tiles = 0;
  #preview: LogImage | null = null;
  constructor(private readonly o: ReturnType<typeof checkValidationOptions>) {}

  get wantsOutput(): boolean {
    return this.o.metrics.length > 0 || (this.o.previewTiles > 0 && this.#preview === null);
  }

  /** One batch: its mean loss, and (when metrics or a preview are asked for) the output and target. */
  async add(loss: number, tiles: number, output?: Tensor, target?: Tensor): Promise<void> {
    this.#sums.set('loss', (this.#sums.get('loss') ?? 0) + loss * tiles);
    this.#tiles += tiles;
    if (!output || !target || output.shape.length !== 4 || output.shape.join() !== target.shape.join()) return;
    if (this.o.metrics.length) {
      const r = await reducedResolutionMetricsBatch(output, target, {
        metrics: this.o.metrics,
        scale: this.o.scale,
        ratio: this.o.ratio,
        bits: this.o.bits,
        dimCut: this.o.dimCut,
      });
      for (const tile of r) for (const m of this.o.metrics) this.#sums.set(m, (this.#sums.get(m) ?? 0) + tile[m]);
    }
    // a preview needs an image the preview renderer knows how to colour (1, 3, 4 or 8 bands)
    const bands = output.shape[1]!;
    if (this.o.previewTiles > 0 && this.#preview === null && (bands === 1 || defaultRgbBands(bands))) {
      this.#preview = await previewPairs(output, target, this.o.previewTiles);
    }
  }

  /**
   * Data parallel: each rank validated its own batches; `sum` adds a vector across ranks in place
   * (allReduce), after which every rank holds the means over all ranks' tiles.
   */
  async reduce(sum: (values: Float64Array) => Promise<void>): Promise<void> {
    const keys = ['loss', ...this.o.metrics];
    const v = Float64Array.from([this.#tiles, ...keys.map((k) => this.#sums.get(k) ?? 0)]);
    await sum(v);
    this.#tiles = v[0]!;
    keys.forEach((k, i) => {
      if (this.#sums.has(k) || v[i + 1] !== 0) this.#sums.set(k, v[i + 1]!);
    });
  }

  /** Means over the tiles seen: 'loss' and each metric. */
  means(): Record<string, number> {
    return Object.fromEntries([...this.#sums].map(([k, s]) => [k, s / this.#tiles]));
  }
  get preview(): LogImage | null {
    return this.#preview;
  }
}

/** fused | reference, for the first `count` tiles, side by side. */
async function previewPairs(output: Tensor, target: Tensor, count: number): Promise<LogImage> {
  const [o, t] = await Promise.all([output.toHost(), target.toHost()]);
  const n = Math.min(count, output.shape[0]!);
  const images = [];
  for (let i = 0; i < n; i++) images.push(renderPreview(o, { sample: i }), renderPreview(t, { sample: i }));
  const img = panel(images, { gap: 4 });
  return { width: img.width, height: img.height, png: encodePng(img) };
}
