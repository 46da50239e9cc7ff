// Shared by the protocol / baseline tests: the NumPy oracle runner (oracle.py), comparisons, the
// Vitale example images as C×H×W tensors, a plain ERGAS.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openMat, permute } from '../../lib/data/index.js';
import { tensor, type Tensor } from '../../lib/tensor.js';
import { PYTHON, sharedData } from '../helpers/locations.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '../..');
export { PYTHON } from '../helpers/locations.js';
/** The real pansharpening scenes. */
export const DATA = sharedData('pansharpening');

let pythonChecked: string | false | undefined;
/** Why the oracle cannot run (no Python, or no numpy / scipy / torch), or false; checked once. */
export function pythonUnavailable(): string | false {
  if (pythonChecked !== undefined) return pythonChecked;
  if (!existsSync(PYTHON)) return (pythonChecked = `no Python at ${PYTHON} (set SPECFUSE_PYTHON)`);
  const r = spawnSync(PYTHON, ['-c', 'import numpy, scipy, torch'], { encoding: 'utf8' });
  pythonChecked = r.status === 0 ? false : `Python lacks numpy / scipy / torch: ${r.stderr.trim().split('\n').pop()}`;
  return pythonChecked;
}

export function dataUnavailable(...files: string[]): string | false {
  for (const f of files) if (!existsSync(join(DATA, f))) return `missing ${join(DATA, f)}`;
  return false;
}

export interface OracleTask {
  op: string;
  inputs?: string[];
  params?: Record<string, unknown>;
  out: string;
}
export interface F64 {
  shape: number[];
  data: Float64Array;
}

/** Runs oracle.py on named float64 arrays; resolves with the outputs by task name. */
export async function runOracle(arrays: Record<string, F64>, tasks: OracleTask[]): Promise<Record<string, F64>> {
  const dir = mkdtempSync(join(tmpdir(), 'specfuse-oracle-'));
  try {
    const shapes: Record<string, number[]> = {};
    for (const [k, a] of Object.entries(arrays)) {
      shapes[k] = a.shape;
      writeFileSync(join(dir, `${k}.f64`), new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength));
    }
    writeFileSync(join(dir, 'in.json'), JSON.stringify({ arrays: shapes, tasks }));
    await new Promise<void>((ok, fail) => {
      const p = spawn(PYTHON, [join(HERE, 'oracle.py'), dir], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr.on('data', (c) => {
        err += String(c);
      });
      p.on('error', fail);
      p.on('close', (code) => (code === 0 ? ok() : fail(new Error(`oracle.py failed (${code}):\n${err}`))));
    });
    const out = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as Record<string, number[]>;
    const res: Record<string, F64> = {};
    for (const [k, shape] of Object.entries(out)) {
      const b = readFileSync(join(dir, `${k}.f64`));
      const data = new Float64Array(b.byteLength / 8);
      new Uint8Array(data.buffer).set(b);
      res[k] = { shape, data };
    }
    return res;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function f64(t: Tensor): Promise<F64> {
  const x = t.dtype === 'float64' ? t : t.to('float64');
  try {
    return { shape: t.shape, data: Float64Array.from((await x.data()) as Float64Array) };
  } finally {
    if (x !== t) x.dispose();
  }
}

/** max |a − b| and max |b|. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): { abs: number; ref: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let abs = 0,
    ref = 0;
  for (let i = 0; i < a.length; i++) {
    abs = Math.max(abs, Math.abs(a[i]! - b[i]!));
    ref = Math.max(ref, Math.abs(b[i]!));
  }
  return { abs, ref };
}

/** Deterministic pseudo-random values in [lo, hi) (mulberry32). */
export function randomArray(n: number, seed: number, lo = 0, hi = 1): Float64Array {
  let s = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

/** A smooth-ish random image [C, H, W] (sum of a few low-frequency cosines + noise), values ~[100, 1900]. */
export function smoothImage(c: number, h: number, w: number, seed: number): F64 {
  const r = randomArray(c * 16 + h * w * c, seed);
  const data = new Float64Array(c * h * w);
  for (let b = 0; b < c; b++) {
    const p = r.subarray(b * 16, b * 16 + 16);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let v = 1000;
        for (let k = 0; k < 4; k++)
          v +=
            180 *
            p[4 * k]! *
            Math.cos((2 * Math.PI * (1 + 5 * p[4 * k + 1]!) * x) / w + 6 * p[4 * k + 2]!) *
            Math.cos((2 * Math.PI * (1 + 5 * p[4 * k + 3]!) * y) / h);
        data[(b * h + y) * w + x] = v + 200 * (r[c * 16 + (b * h + y) * w + x]! - 0.5);
      }
    }
  }
  return { shape: [c, h, w], data };
}

export function toTensor(a: F64): Tensor {
  return tensor(a.data, a.shape, 'float64');
}

export interface Scene {
  ms: Tensor;
  pan: Tensor;
  msHost: F64;
  panHost: F64;
}

/** I_MS (320×320×C uint16) → [C, 320, 320], I_PAN (1280×1280) → [1, 1280, 1280], float64 DN. */
export function loadVitale(file: string): Scene {
  const m = openMat(join(DATA, file));
  const ms = permute(m.read('I_MS'), [2, 0, 1]);
  const panH = m.read('I_PAN');
  const pan = { ...panH, shape: [1, ...panH.shape] };
  const toF64 = (a: { shape: number[]; data: ArrayLike<number> }): F64 => ({ shape: a.shape, data: Float64Array.from(a.data as ArrayLike<number>) });
  const msHost = toF64(ms as unknown as F64),
    panHost = toF64(pan as unknown as F64);
  return { ms: toTensor(msHost), pan: toTensor(panHost), msHost, panHost };
}

/** Plain ERGAS on [C, H, W] DN: (100/ratio)·sqrt(mean_b(mse_b / mean(gt_b)²)). */
export function ergas(fused: F64, gt: F64, ratio = 4): number {
  const [c, h, w] = gt.shape as [number, number, number];
  const n = h * w;
  let acc = 0;
  for (let b = 0; b < c; b++) {
    let mse = 0,
      mean = 0;
    for (let i = 0; i < n; i++) {
      const g = gt.data[b * n + i]!;
      const d = fused.data[b * n + i]! - g;
      mse += d * d;
      mean += g;
    }
    mse /= n;
    mean /= n;
    acc += mse / (mean * mean);
  }
  return (100 / ratio) * Math.sqrt(acc / c);
}

export function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

/** Crop [C, H, W] host array. */
export function crop(a: F64, y0: number, x0: number, h: number, w: number): F64 {
  const [c, H, W] = a.shape as [number, number, number];
  const out = new Float64Array(c * h * w);
  for (let b = 0; b < c; b++) for (let y = 0; y < h; y++) out.set(a.data.subarray((b * H + y0 + y) * W + x0, (b * H + y0 + y) * W + x0 + w), (b * h + y) * w);
  void H;
  return { shape: [c, h, w], data: out };
}
