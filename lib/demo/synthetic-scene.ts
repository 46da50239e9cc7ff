/**
 * Procedural multispectral scenes for the demo: what a WorldView-3-like sensor would see of a
 * landscape, at the PAN's resolution, before any sensor blur.
 *
 * - Land cover: Voronoi regions (about one per 48×48 pixels) drawn from nine classes with distinct
 *   8-band reflectance spectra (coastal, blue, green, yellow, red, red edge, NIR1, NIR2: water absorbs
 *   NIR, vegetation has the red edge, soils and roofs rise towards the red, asphalt is dark and flat).
 * - Each region perturbs its class spectrum a little (no two fields are identical).
 * - Texture: two octaves of smooth value noise per region, with a class-specific strength (forest
 *   and crops are textured, water and roofs nearly flat), plus a little per-pixel noise.
 * - Edges: straight roads of asphalt 3–6 px wide, and rectangular buildings with roof spectra in
 *   the urban regions, which give the sharp detail pansharpening has to recover.
 * - PAN: a weighted sum of the bands (a broad visible–NIR response) with sensor noise.
 * Values are 11-bit digital numbers (1..2047) as uint16, like the PanCollection data.
 * All randomness comes from the seed, so a scene is reproducible.
 */
import type { HostArray } from '../host.js';
import { generator } from '../train/rng.js';

export const SCENE_CLASSES = {
  water: [0.08, 0.07, 0.06, 0.05, 0.04, 0.03, 0.02, 0.018],
  grass: [0.05, 0.06, 0.1, 0.09, 0.06, 0.2, 0.4, 0.42],
  forest: [0.03, 0.04, 0.07, 0.06, 0.04, 0.15, 0.35, 0.36],
  crop: [0.06, 0.07, 0.12, 0.12, 0.08, 0.25, 0.5, 0.52],
  soil: [0.1, 0.12, 0.16, 0.19, 0.22, 0.25, 0.28, 0.3],
  sand: [0.25, 0.28, 0.33, 0.36, 0.4, 0.42, 0.44, 0.45],
  concrete: [0.22, 0.24, 0.26, 0.27, 0.28, 0.29, 0.3, 0.3],
  roof: [0.08, 0.09, 0.1, 0.14, 0.3, 0.32, 0.33, 0.33],
  asphalt: [0.06, 0.07, 0.08, 0.08, 0.09, 0.09, 0.1, 0.1],
} as const;
type ClassName = keyof typeof SCENE_CLASSES;
const NAMES = Object.keys(SCENE_CLASSES) as ClassName[];
/** texture strength per class (fraction of the reflectance) */
const TEXTURE: Record<ClassName, number> = {
  water: 0.04,
  grass: 0.15,
  forest: 0.3,
  crop: 0.2,
  soil: 0.15,
  sand: 0.1,
  concrete: 0.08,
  roof: 0.03,
  asphalt: 0.05,
};
/** PAN response over the 8 bands (normalised below) */
const PAN_RESPONSE = [0.02, 0.14, 0.18, 0.14, 0.18, 0.14, 0.16, 0.04];
const REGION_CLASSES: ClassName[] = ['water', 'grass', 'forest', 'crop', 'soil', 'sand', 'concrete', 'concrete'];

export interface Scene {
  /** C×S×S, uint16 DN: the scene at PAN resolution (what an ideal sensor would record) */
  ms: HostArray;
  /** 1×S×S, uint16 DN */
  pan: HostArray;
  /** S×S class index map (into Object.keys(SCENE_CLASSES)) */
  classes: Uint8Array;
}

/** Smooth value noise in [-1, 1] on an S×S grid with cells of `cell` pixels. */
function valueNoise(size: number, cell: number, rand: () => number): Float32Array {
  const g = Math.ceil(size / cell) + 2;
  const grid = Float32Array.from({ length: g * g }, () => rand() * 2 - 1);
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const gy = y / cell;
    const y0 = Math.floor(gy);
    const fy = gy - y0;
    const sy = fy * fy * (3 - 2 * fy);
    for (let x = 0; x < size; x++) {
      const gx = x / cell;
      const x0 = Math.floor(gx);
      const fx = gx - x0;
      const sx = fx * fx * (3 - 2 * fx);
      const a = grid[y0 * g + x0]!,
        b = grid[y0 * g + x0 + 1]!,
        c = grid[(y0 + 1) * g + x0]!,
        d = grid[(y0 + 1) * g + x0 + 1]!;
      out[y * size + x] = (a * (1 - sx) + b * sx) * (1 - sy) + (c * (1 - sx) + d * sx) * sy;
    }
  }
  return out;
}

export function makeScene(size: number, seed: number, bands = 8): Scene {
  if (!Number.isInteger(size) || size < 16) throw new RangeError('size: expected an integer >= 16');
  if (bands !== 8 && bands !== 4) throw new RangeError('bands: expected 8 or 4');
  const rand = generator(seed, 7, 0);
  const n = size * size;
  // Voronoi regions
  const regions = Math.max(4, Math.round(n / (48 * 48)));
  const cx = Float64Array.from({ length: regions }, () => rand() * size);
  const cy = Float64Array.from({ length: regions }, () => rand() * size);
  const regionClass = Array.from({ length: regions }, () => REGION_CLASSES[Math.floor(rand() * REGION_CLASSES.length)]!);
  const regionTint = Array.from({ length: regions }, () => Array.from({ length: 8 }, () => 1 + 0.12 * (rand() * 2 - 1)));
  const region = new Int32Array(n);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let best = 0;
      let bd = Infinity;
      for (let r = 0; r < regions; r++) {
        const d = (x - cx[r]!) ** 2 + (y - cy[r]!) ** 2;
        if (d < bd) {
          bd = d;
          best = r;
        }
      }
      region[y * size + x] = best;
    }
  }
  const cls = new Uint8Array(n);
  for (let i = 0; i < n; i++) cls[i] = NAMES.indexOf(regionClass[region[i]!]!);
  // buildings in urban regions: rectangles with roof or concrete spectra
  const roofIdx = NAMES.indexOf('roof');
  const concreteIdx = NAMES.indexOf('concrete');
  const buildings = Math.round(n / 900);
  for (let b = 0; b < buildings; b++) {
    const x0 = Math.floor(rand() * size),
      y0 = Math.floor(rand() * size);
    if (cls[y0 * size + x0] !== concreteIdx) continue;
    const w = 4 + Math.floor(rand() * 12),
      h = 4 + Math.floor(rand() * 12);
    const k = rand() < 0.7 ? roofIdx : NAMES.indexOf('sand');
    for (let y = y0; y < Math.min(size, y0 + h); y++) for (let x = x0; x < Math.min(size, x0 + w); x++) cls[y * size + x] = k;
  }
  // roads: straight lines across the scene
  const asphalt = NAMES.indexOf('asphalt');
  const roads = Math.max(2, Math.round(size / 128));
  for (let r = 0; r < roads; r++) {
    const angle = rand() * Math.PI;
    const px = rand() * size,
      py = rand() * size;
    const nx = -Math.sin(angle),
      ny = Math.cos(angle);
    const half = (3 + rand() * 3) / 2;
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        if (Math.abs((x - px) * nx + (y - py) * ny) <= half) cls[y * size + x] = asphalt;
      }
  }
  // texture fields
  const coarse = valueNoise(size, 24, rand);
  const fine = valueNoise(size, 5, rand);
  const bandList = bands === 8 ? [0, 1, 2, 3, 4, 5, 6, 7] : [1, 2, 4, 6]; // 4-band: B, G, R, NIR
  const ms = new Uint16Array(bands * n);
  const panF = new Float32Array(n);
  const panW = bandList.map((b) => PAN_RESPONSE[b]!);
  const wsum = panW.reduce((a, b) => a + b, 0);
  for (let i = 0; i < n; i++) {
    const c = NAMES[cls[i]!]!;
    const spectrum = SCENE_CLASSES[c];
    const tint = regionTint[region[i]!]!;
    const tex = 1 + TEXTURE[c] * (0.6 * coarse[i]! + 0.4 * fine[i]!);
    let pan = 0;
    bandList.forEach((b, j) => {
      const v = 2047 * spectrum[b]! * tint[b]! * tex * (1 + 0.01 * (rand() * 2 - 1));
      const dn = Math.min(2047, Math.max(1, Math.round(v)));
      ms[j * n + i] = dn;
      pan += (panW[j]! / wsum) * v;
    });
    panF[i] = pan * (1 + 0.01 * (rand() * 2 - 1));
  }
  const pan = new Uint16Array(n);
  for (let i = 0; i < n; i++) pan[i] = Math.min(2047, Math.max(1, Math.round(panF[i]!)));
  return {
    ms: { dtype: 'uint16', shape: [bands, size, size], data: ms },
    pan: { dtype: 'uint16', shape: [1, size, size], data: pan },
    classes: cls,
  };
}
