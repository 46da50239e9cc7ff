/**
 * A small synthetic hyperspectral cube for the MS/HS fusion tests: 20 bands (400–590 nm), 64×80,
 * smooth blobs with band-dependent weights, uint16 (65535 = 1), saved as a .mat H×W×C variable 'data'.
 */
import { writeMatFile } from '../../lib/data/index.js';

export const CUBE_SHAPE = { height: 64, width: 80, bands: 20 } as const;

/** Writes the cube to `path` (.mat). */
export function writeSyntheticCube(path: string): void {
  const { height: H, width: W, bands: C } = CUBE_SHAPE;
  const cube = new Uint16Array(H * W * C);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let b = 0; b < C; b++) {
        const v = 0.5 + 0.25 * Math.sin(x / 5 + b / 7) * Math.cos(y / 6 - b / 9) + 0.2 * ((x >> 3) % 2);
        cube[(y * W + x) * C + b] = Math.round(65535 * Math.min(1, Math.max(0, v)));
      }
  writeMatFile(path, { data: { dtype: 'uint16', shape: [H, W, C], data: cube } });
}
