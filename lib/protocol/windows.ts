/**
 * Placing windows on an image and cutting them out of images held on the host, the one
 * implementation of each: scene tiles with a spatial hold-out (tiles.ts), MS/HS fusion patches and
 * test crops (hyperspectral-simulation.ts), the context windows the fusion models are scored on, and
 * the overlapping tiles of whole-scene fusion (lib/workflows/tiled-fusion.ts).
 */
import type { HostArray } from '../host.js';

/** An HR window: top-left (y, x) and size, in HR pixels. */
export interface Window {
  y: number;
  x: number;
  height: number;
  width: number;
}

/**
 * Origins along one side of windows of `size` placed every `step` from `from` while they end by
 * `to`. With `flushAlign`, a window flush with `to` is added when the steps miss it, moved back to
 * a multiple of `flushAlign` from `from` (to stay on a coarser grid) and left out when it is an
 * origin already taken; the list is then not sorted when `step` < `flushAlign`.
 */
export function windowStarts(from: number, to: number, size: number, step: number, flushAlign?: number): number[] {
  const out: number[] = [];
  for (let s = from; s + size <= to; s += step) out.push(s);
  const last = to - size;
  if (flushAlign !== undefined && last >= from && out.at(-1) !== last) {
    const aligned = last - ((last - from) % flushAlign);
    if (!out.includes(aligned)) out.push(aligned);
  }
  return out;
}

/** Square windows of side `size` every `step` (default: side by side) inside `region`, row by row; what does not fill a whole window is left out. */
export function windowGrid(region: Window, size: number, step = size): Window[] {
  const xs = windowStarts(region.x, region.x + region.width, size, step);
  return windowStarts(region.y, region.y + region.height, size, step).flatMap((y) => xs.map((x) => ({ y, x, height: size, width: size })));
}

/**
 * Cuts `windows` (HR coordinates, all of one size; divided by `div` for an LR array) out of every
 * image of `a` ([N, C, H, W], or one [C, H, W] image), image by image, as float32
 * [N·windows, C, height/div, width/div]; values divided by `scale` (default 1).
 */
export function cropWindows(a: Pick<HostArray, 'shape' | 'data'>, windows: readonly Window[], div: number, scale = 1): HostArray {
  const [n, c, H, W] = (a.shape.length === 3 ? [1, ...a.shape] : a.shape) as [number, number, number, number];
  if (windows.length === 0) return { dtype: 'float32', shape: [0, c, 0, 0], data: new Float32Array(0) };
  const ph = windows[0]!.height / div,
    pw = windows[0]!.width / div;
  const src = a.data as Float32Array | Float64Array;
  // float32 rows at scale 1 are copied as they are; anything else is converted value by value
  const copy = scale === 1 && src instanceof Float32Array;
  const out = new Float32Array(n * windows.length * c * ph * pw);
  let o = 0;
  for (let img = 0; img < n; img++) {
    for (const win of windows) {
      const y0 = win.y / div,
        x0 = win.x / div;
      for (let ch = 0; ch < c; ch++) {
        const base = (img * c + ch) * H * W;
        for (let y = 0; y < ph; y++) {
          const row = base + (y0 + y) * W + x0;
          if (copy) out.set(src.subarray(row, row + pw), o);
          else for (let x = 0; x < pw; x++) out[o + x] = src[row + x]! / scale;
          o += pw;
        }
      }
    }
  }
  return { dtype: 'float32', shape: [n * windows.length, c, ph, pw], data: out };
}
