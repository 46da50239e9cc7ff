/**
 * Tiling, the one implementation: a fixed-size model (64×64 PAN-grid patches) runs on images of
 * any size on overlapping tiles, batched, and overlapping predictions are averaged (reference §8,
 * Q14); `gridTiles` cuts the non-overlapping tiles the demo scores.
 */
import type { Module } from '../module.js';
import { scope, stack, tensor, Tensor } from '../tensor.js';
import { checkAborted } from './workflow-errors.js';
import { runModel } from './run-model.js';
import { windowGrid, windowStarts } from '../protocol/windows.js';

export interface TileOptions {
  /** PAN-grid tile side (default: the model's patch, 64). */
  tile?: number;
  /** Step between tiles (default tile/2: every pixel is predicted up to four times). */
  stride?: number;
  /** Tiles per forward (default 16). */
  batchSize?: number;
  /** MS-to-PAN ratio (default 4). */
  ratio?: number;
  autocast?: 'none' | 'bf16';
  /** Called after each batch with (tiles done, tiles in all). */
  onProgress?: (done: number, total: number) => void;
  /** Stops between batches (the signal's reason is thrown). */
  signal?: AbortSignal;
}

/** Tile origins along one side: every `stride`, plus a last one flush with the end (aligned to `ratio`). */
export function tileStarts(size: number, tile: number, stride: number, ratio: number): number[] {
  if (size < tile) throw new RangeError(`image side ${size} is smaller than the tile ${tile}`);
  return windowStarts(0, size, tile, stride, ratio);
}

/**
 * Fuses one scene: lms [C, H, W] and pan [1, H, W] on the PAN grid, ms [C, H/ratio, W/ratio], all on
 * the model's scale (e.g. DN/2047). Returns the fused image [C, H, W] (float32, on the CPU).
 */
export async function fuseScene(model: Module, scene: { lms: Tensor; pan: Tensor; ms?: Tensor }, options: TileOptions = {}): Promise<Tensor> {
  const { lms, pan, ms } = scene;
  for (const [name, t] of Object.entries({ lms, pan })) {
    if (!(t instanceof Tensor) || t.ndim !== 3) throw new TypeError(`scene.${name}: expected a [C, H, W] Tensor`);
  }
  const ratio = options.ratio ?? 4;
  const tile = options.tile ?? Number(model.config.patch ?? 64);
  const stride = options.stride ?? tile / 2;
  const batchSize = options.batchSize ?? 16;
  if (!Number.isInteger(stride) || stride < ratio || stride % ratio !== 0) throw new RangeError(`stride: a positive multiple of the ratio ${ratio}`);
  const [c, h, w] = lms.shape as [number, number, number];
  if (pan.shape[1] !== h || pan.shape[2] !== w) throw new RangeError(`scene.pan: [1, ${h}, ${w}] expected, got [${pan.shape.join(', ')}]`);
  if (ms && (ms.shape[1]! * ratio !== h || ms.shape[2]! * ratio !== w))
    throw new RangeError(`scene.ms: [${c}, ${h / ratio}, ${w / ratio}] expected, got [${ms.shape.join(', ')}]`);
  const ys = tileStarts(h, tile, stride, ratio),
    xs = tileStarts(w, tile, stride, ratio);
  const positions = ys.flatMap((y) => xs.map((x) => [y, x] as const));
  const sum = new Float32Array(c * h * w);
  const count = new Uint16Array(h * w);
  for (let i = 0; i < positions.length; i += batchSize) {
    checkAborted(options.signal);
    const chunk = positions.slice(i, i + batchSize);
    await scope(async () => {
      const crop = (t: Tensor, y: number, x: number, s: number) => t.slice(1, y, y + s).slice(2, x, x + s);
      const batchOf = (src: Tensor, scale: number) => stack(chunk.map(([y, x]) => crop(src, y / scale, x / scale, tile / scale)));
      const inputs: Record<string, Tensor> = { lms: batchOf(lms, 1), pan: batchOf(pan, 1) };
      if (ms) inputs.ms = batchOf(ms, ratio);
      const out = await runModel(model, inputs, { autocast: options.autocast, dtype: 'float32' });
      const data = (await out.data()) as Float32Array;
      chunk.forEach(([y, x], k) => {
        for (let ch = 0; ch < c; ch++) {
          for (let r = 0; r < tile; r++) {
            const src = ((k * c + ch) * tile + r) * tile;
            const dst = (ch * h + y + r) * w + x;
            for (let q = 0; q < tile; q++) sum[dst + q]! += data[src + q]!;
          }
        }
        for (let r = 0; r < tile; r++) for (let q = 0; q < tile; q++) count[(y + r) * w + x + q]!++;
      });
    });
    options.onProgress?.(Math.min(i + batchSize, positions.length), positions.length);
  }
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) sum[ch * h * w + p]! /= count[p]!;
  return tensor(sum, [c, h, w]);
}

/**
 * Non-overlapping `tile`×`tile` tiles (PAN grid) of a [C, H, W] image, row by row, as
 * [N, C, tile/scale, tile/scale] (`scale`: the image's grid is `scale` times coarser, e.g. the MS).
 */
export function gridTiles(t: Tensor, tile = 64, scale = 1): Tensor {
  const s = tile / scale;
  const windows = windowGrid({ y: 0, x: 0, height: t.shape[1]!, width: t.shape[2]! }, s);
  return scope(() => stack(windows.map(({ y, x }) => t.slice(1, y, y + s).slice(2, x, x + s))));
}
