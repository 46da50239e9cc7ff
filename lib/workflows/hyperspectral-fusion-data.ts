/**
 * From a reference cube on disk to training patches and held-out test crops for MS/HS fusion: read
 * (lib/data/hyperspectral-cube.ts), simulate MSI / LR-HSI / bicubic (lib/protocol/hyperspectral-simulation.ts), cut.
 * The data step of the MS/HS fusion workflows (hyperspectral-fusion.ts).
 */
import type { HostArray } from '../host.js';
import { readHyperspectralCube, type ReadCubeOptions } from '../data/hyperspectral-cube.js';
import { fromHost } from '../tensor.js';
import { ArrayDataset } from '../train/dataset.js';
import {
  cutMhifPatches,
  disposeMhif,
  tileRegion,
  mhifToHost,
  simulateMhif,
  type MhifPatches,
  type MhifSet,
  type MhifSimulationOptions,
  type Window,
} from '../protocol/hyperspectral-simulation.js';

export interface MhifDataOptions extends MhifSimulationOptions, Pick<ReadCubeOptions, 'normalize' | 'key' | 'bands'> {
  ratio: number;
  /** HR training patch side (default 64, the group's patches). */
  patch?: number;
  /** HR stride between training patches (default patch / 2). */
  stride?: number;
  /** HR side of the held-out test crops (default 128). */
  testCrop?: number;
  /**
   * The held-out region (HR pixels). Default: the right-most testCrop columns over the full height
   * (rounded down to whole crops), i.e. a vertical strip no training patch touches.
   */
  testRegion?: Window | null;
  /** Cut training patches (default true); false: only the simulated image and the test windows (evaluation). */
  trainPatches?: boolean;
  /** Band centres from the band count, when `wavelengths` is not given (default 400 + 10·i nm). */
  wavelengthsFor?: (bands: number) => number[];
}

export interface MhifData extends Omit<MhifPatches, 'train'> {
  /** Training patches (absent with trainPatches: false). */
  train?: MhifPatches['train'];
  /** The whole simulated image (N = 1), for evaluation with context around the test windows. */
  image: MhifSet<HostArray>;
  /** Bands, height and width of the (cropped) reference cube. */
  bands: number;
  height: number;
  width: number;
  /** The cube's normalisation divisor. */
  scale: number;
  trainSet?: ArrayDataset;
  testSet?: ArrayDataset;
}

/** Reads a cube (band-PNG folder or .mat), simulates the fusion inputs at `ratio` and cuts patches/crops. */
export async function prepareMhifData(path: string, opts: MhifDataOptions): Promise<MhifData> {
  const { cube, scale } = readHyperspectralCube(path, { normalize: opts.normalize, key: opts.key, bands: opts.bands });
  const r = opts.ratio;
  const [c, h0, w0] = cube.shape as [number, number, number];
  // Crop to whole LR pixels (bottom/right rows that a decimation by r could not use).
  const h = h0 - (h0 % r),
    w = w0 - (w0 % r);
  let host = cube;
  if (h !== h0 || w !== w0) {
    const src = cube.data as Float32Array;
    const out = new Float32Array(c * h * w);
    for (let b = 0; b < c; b++) for (let y = 0; y < h; y++) out.set(src.subarray((b * h0 + y) * w0, (b * h0 + y) * w0 + w), (b * h + y) * w);
    host = { dtype: 'float32', shape: [c, h, w], data: out };
  }
  const x = fromHost(host);
  const wavelengths = opts.wavelengths ?? (opts.wavelengthsFor ?? ((n: number) => Array.from({ length: n }, (_, i) => 400 + 10 * i)))(c);
  const sim = await simulateMhif(x, { ...opts, wavelengths }).finally(() => x.dispose());
  let hostSet;
  try {
    hostSet = await mhifToHost(sim);
  } finally {
    disposeMhif(sim);
  }
  const testCrop = opts.testCrop ?? 128;
  let region: Window | undefined;
  if (opts.testRegion === undefined) {
    const rows = Math.floor(h / testCrop) * testCrop;
    region = { y: 0, x: w - testCrop, height: rows, width: testCrop };
  } else if (opts.testRegion !== null) {
    region = opts.testRegion;
  }
  if (opts.trainPatches === false) {
    const testWindows = region ? tileRegion(region, testCrop) : [];
    return { image: hostSet, bands: c, height: h, width: w, scale, trainWindows: [], testWindows };
  }
  const cut = cutMhifPatches(hostSet, { ratio: r, patch: opts.patch ?? 64, stride: opts.stride, testRegion: region, testCrop });
  return {
    ...cut,
    image: hostSet,
    bands: c,
    height: h,
    width: w,
    scale,
    trainSet: new ArrayDataset(cut.train),
    ...(cut.test ? { testSet: new ArrayDataset(cut.test) } : {}),
  };
}
