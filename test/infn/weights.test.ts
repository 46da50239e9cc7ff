// INR-CS: the weights the model uses (tap 'weights', B×4×H×W) recomputed here from the encoder taps
// G (HR) and F (LR) with an independent implementation of the neighbour convention (inf.md §2.1:
// pixel-centre coordinates, neighbours at ±1/h, ±1/w, nearest LR cell, zeros outside or clamped),
// then cosine similarity and softmax (or normalised non-negative cosines).
import t from 'tap';
import { createModel, manualSeed, rand, type Tensor } from '../../lib/index.js';

interface Case {
  name: string;
  config: Record<string, unknown>;
  r: number;
  h: number;
  w: number;
}
const CASES: Case[] = [
  { name: 'softmax, zeros, ×4', config: {}, r: 4, h: 5, w: 6 },
  { name: 'softmax τ=0.3, zeros, ×8', config: { temperature: 0.3 }, r: 8, h: 3, w: 4 },
  { name: 'normalised cosines, clamp, ×4', config: { weighting: 'cosine', border: 'clamp' }, r: 4, h: 4, w: 5 },
  { name: 'softmax, clamp, ×3 (odd ratio)', config: { border: 'clamp' }, r: 3, h: 4, w: 4 },
];

/** LR cell index of a normalised coordinate (nearest, align_corners = false), or -1 outside. */
function cell(v: number, n: number, clamp: boolean): number {
  if (clamp) v = Math.min(Math.max(v, -1 + 1e-6), 1 - 1e-6);
  const i = Math.round(((v + 1) * n - 1) / 2);
  return i < 0 || i >= n ? -1 : i;
}

for (const c of CASES) {
  t.test(`INR-CS weights against a direct computation: ${c.name}`, async (t) => {
    manualSeed(11);
    const S = 6,
      B = 2,
      C = 8;
    const m = createModel({ model: 'infn', preset: 'tiny', bands: S, feats: C, ratio: c.r, zeroHead: false, chunk: 50, ...c.config } as never);
    const H = c.r * c.h,
      W = c.r * c.w;
    const x: Record<string, Tensor> = { lrhsi: rand([B, S, c.h, c.w]), msi: rand([B, 3, H, W]), hsi_up: rand([B, S, H, W]) };
    const taps = await m.forwardTaps(x);
    t.same(taps.weights!.shape, [B, 4, H, W]);
    t.same(taps.G!.shape, [B, C, H, W]);
    t.same(taps.F!.shape, [B, C, c.h, c.w]);
    const G = taps.G!.dataSync() as Float32Array,
      F = taps.F!.dataSync() as Float32Array;
    const Wt = taps.weights!.dataSync() as Float32Array,
      Ct = taps.cosine!.dataSync() as Float32Array;
    const clamp = c.config.border === 'clamp';
    const softmax = c.config.weighting !== 'cosine';
    const tau = (c.config.temperature as number | undefined) ?? 1;
    let maxW = 0,
      maxC = 0,
      sumErr = 0,
      outside = 0;
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          const y = -1 + (2 * i + 1) / H,
            xx = -1 + (2 * j + 1) / W;
          const cos: number[] = [];
          for (const vy of [-1, 1]) {
            for (const vx of [-1, 1]) {
              const ci = cell(y + vy / c.h + 1e-6, c.h, clamp),
                cj = cell(xx + vx / c.w + 1e-6, c.w, clamp);
              let dot = 0,
                ng = 0,
                nf = 0;
              for (let k = 0; k < C; k++) {
                const g = G[((b * C + k) * H + i) * W + j]!;
                const f = ci < 0 || cj < 0 ? 0 : F[((b * C + k) * c.h + ci) * c.w + cj]!;
                dot += g * f;
                ng += g * g;
                nf += f * f;
              }
              if (ci < 0 || cj < 0) outside++;
              cos.push(dot / (Math.sqrt(ng) * Math.sqrt(nf) + 1e-8));
            }
          }
          let w: number[];
          if (softmax) {
            const mx = Math.max(...cos);
            const e = cos.map((v) => Math.exp((v - mx) / tau));
            const s = e.reduce((a, v) => a + v, 0);
            w = e.map((v) => v / s);
          } else {
            const p = cos.map((v) => Math.max(v, 0));
            const s = Math.max(
              p.reduce((a, v) => a + v, 0),
              1e-8,
            );
            w = p.map((v) => v / s);
          }
          let sum = 0;
          for (let n = 0; n < 4; n++) {
            const at = ((b * 4 + n) * H + i) * W + j;
            maxW = Math.max(maxW, Math.abs(Wt[at]! - w[n]!));
            maxC = Math.max(maxC, Math.abs(Ct[at]! - cos[n]!));
            sum += Wt[at]!;
          }
          sumErr = Math.max(sumErr, Math.abs(sum - (softmax || w.some((v) => v > 0) ? 1 : 0)));
        }
      }
    }
    t.ok(maxC < 2e-6, `cosines agree (max |Δ| ${maxC.toExponential(2)})`);
    t.ok(maxW < 2e-6, `weights agree (max |Δ| ${maxW.toExponential(2)})`);
    t.ok(sumErr < 1e-5, 'weights sum to 1 over the 4 neighbours');
    if (clamp) t.equal(outside, 0, 'clamped: no neighbour falls outside');
    else t.ok(outside > 0, 'zeros: border queries have neighbours outside the image (zero features)');
    // the output is hsi_up + the residual the weights produced
    const diff = taps.out!.sub(x.hsi_up!);
    t.ok(diff.allclose(taps.residual!, 1e-5, 1e-6), 'out = hsi_up + residual');
    diff.dispose();
    for (const v of [...Object.values(taps), ...Object.values(x)]) v.dispose();
    m.dispose();
  });
}

t.test('the neighbours of a ×4 query are the 2×2 nearest LR cells (hand-checked rows)', async (t) => {
  // HR row i at ×4 over h LR rows: centre u = (2i+1)/8 − 1/2 in LR pixels; neighbours u ± 1/2.
  const h = 4;
  const rows = (i: number) => [-1, 1].map((v) => cell(-1 + (2 * i + 1) / (4 * h) + v / h + 1e-6, h, false));
  t.same(rows(0), [-1, 0], 'row 0: above the image (zero padded) and LR row 0');
  t.same(rows(1), [-1, 0]);
  t.same(rows(2), [0, 1], 'row 2 lies in LR row 0, nearer to row 1 than to row -1');
  t.same(rows(5), [0, 1]);
  t.same(rows(6), [1, 2]);
  t.same(rows(15), [3, -1], 'last row: LR row 3 and below the image');
});
