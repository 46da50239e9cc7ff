// A plain float64 reference of the toolbox's metric formulas, written loop by loop from the MATLAB
// sources (Quality_Indices/*.m, Tools/indexes_evaluation*.m) and from UDL's analysis_accu/_ssim,
// independently of the native code: direct window sums (no cumulative sums), explicit padding
// index maps, per-pixel loops. Images are C×H×W row-major Float64Arrays.

export interface Img {
  c: number;
  h: number;
  w: number;
  d: Float64Array;
}

export const img = (c: number, h: number, w: number, d?: Float64Array): Img => ({ c, h, w, d: d ?? new Float64Array(c * h * w) });
export const at = (x: Img, b: number, i: number, j: number): number => x.d[(b * x.h + i) * x.w + j]!;
const put = (x: Img, b: number, i: number, j: number, v: number): void => {
  x.d[(b * x.h + i) * x.w + j] = v;
};

export function band(x: Img, b: number): Img {
  return img(1, x.h, x.w, x.d.slice(b * x.h * x.w, (b + 1) * x.h * x.w));
}

// ---- seeded data --------------------------------------------------------------------------------

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A DN-like image: smooth per-band structure plus texture, values roughly in [lo, hi]. */
export function scene(c: number, h: number, w: number, seed: number, lo = 150, hi = 1800): Img {
  const r = rng(seed);
  const x = img(c, h, w);
  const fx = 0.05 + 0.2 * r(),
    fy = 0.05 + 0.2 * r(),
    ph = 6.28 * r();
  for (let b = 0; b < c; b++) {
    const gain = 0.6 + 0.4 * r(),
      off = 0.1 * r();
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const s = 0.5 + 0.25 * Math.sin(fx * j + ph) * Math.cos(fy * i) + 0.15 * Math.sin(0.5 * (i + j) + b);
        const v = off + gain * s + 0.1 * r();
        put(x, b, i, j, lo + (hi - lo) * Math.min(1, Math.max(0, v)));
      }
    }
  }
  return x;
}

/** x plus uniform noise of half-width `amp` and a per-band bias. */
export function perturb(x: Img, seed: number, amp: number, bias = 0): Img {
  const r = rng(seed);
  const y = img(x.c, x.h, x.w);
  for (let b = 0; b < x.c; b++) {
    const bb = bias * (r() - 0.5);
    for (let k = 0; k < x.h * x.w; k++) y.d[b * x.h * x.w + k] = x.d[b * x.h * x.w + k]! + bb + amp * (2 * r() - 1);
  }
  return y;
}

// ---- preprocessing (indexes_evaluation.m) -------------------------------------------------------

/** I(d:end-d, d:end-d, :) with 1-based d. */
export function cutBounds(x: Img, d: number): Img {
  if (d <= 0) return x;
  const h = x.h - 2 * d + 1,
    w = x.w - 2 * d + 1;
  const y = img(x.c, h, w);
  for (let b = 0; b < x.c; b++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) put(y, b, i, j, at(x, b, i + d - 1, j + d - 1));
  return y;
}

export function clip(x: Img, hi: number): Img {
  return img(
    x.c,
    x.h,
    x.w,
    x.d.map((v) => (v > hi ? hi : v < 0 ? 0 : v)),
  );
}

export function scaled(x: Img, s: number): Img {
  return img(
    x.c,
    x.h,
    x.w,
    x.d.map((v) => v * s),
  );
}

// ---- Q (Q.m, img_qi.m) --------------------------------------------------------------------------

export function imgQi(a: Img, b: Img, B: number): number {
  const N = B * B;
  let total = 0,
    count = 0;
  for (let i0 = 0; i0 + B <= a.h; i0++) {
    for (let j0 = 0; j0 + B <= a.w; j0++) {
      let s1 = 0,
        s2 = 0,
        s11 = 0,
        s22 = 0,
        s12 = 0;
      for (let i = i0; i < i0 + B; i++) {
        for (let j = j0; j < j0 + B; j++) {
          const x = at(a, 0, i, j),
            y = at(b, 0, i, j);
          s1 += x;
          s2 += y;
          s11 += x * x;
          s22 += y * y;
          s12 += x * y;
        }
      }
      const mul = s1 * s2;
      const sqMul = s1 * s1 + s2 * s2;
      const numerator = 4 * (N * s12 - mul) * mul;
      const den1 = N * (s11 + s22) - sqMul;
      const den = den1 * sqMul;
      let q = 1;
      if (den1 === 0 && sqMul !== 0) q = (2 * mul) / sqMul;
      if (den !== 0) q = numerator / den;
      total += q;
      count++;
    }
  }
  return total / count;
}

export function qAvg(gt: Img, f: Img, B: number): number {
  let s = 0;
  for (let b = 0; b < gt.c; b++) s += imgQi(band(gt, b), band(f, b), B);
  return s / gt.c;
}

// ---- SAM, ERGAS, SCC ----------------------------------------------------------------------------

export function sam(gt: Img, f: Img): number {
  let sum = 0,
    n = 0;
  for (let i = 0; i < gt.h; i++) {
    for (let j = 0; j < gt.w; j++) {
      let ps = 0,
        n1 = 0,
        n2 = 0;
      for (let b = 0; b < gt.c; b++) {
        const x = at(gt, b, i, j),
          y = at(f, b, i, j);
        ps += x * y;
        n1 += x * x;
        n2 += y * y;
      }
      const pn = Math.sqrt(n1 * n2);
      if (pn === 0) continue;
      const r = ps / pn;
      sum += r >= 1 ? 0 : r <= -1 ? Math.PI : Math.acos(r); // real part of MATLAB's acos
      n++;
    }
  }
  return ((sum / n) * 180) / Math.PI;
}

export function ergas(gt: Img, f: Img, ratio: number): number {
  let acc = 0;
  for (let b = 0; b < gt.c; b++) {
    let se = 0,
      m = 0;
    for (let i = 0; i < gt.h; i++) {
      for (let j = 0; j < gt.w; j++) {
        const e = at(gt, b, i, j) - at(f, b, i, j);
        se += e * e;
        m += at(gt, b, i, j);
      }
    }
    const n = gt.h * gt.w;
    acc += se / n / ((m / n) * (m / n));
  }
  return (100 / ratio) * Math.sqrt(acc / gt.c);
}

const SOBEL = [
  [1, 2, 1],
  [0, 0, 0],
  [-1, -2, -1],
];

/** imfilter(I(2:end-1,2:end-1), k) for k = sobel and sobel': correlation, zero padding; magnitude. */
export function sobelMagnitude(x: Img): Img {
  const h = x.h - 2,
    w = x.w - 2;
  const out = img(x.c, h, w);
  const inner = (b: number, i: number, j: number) => (i < 0 || j < 0 || i >= h || j >= w ? 0 : at(x, b, i + 1, j + 1));
  for (let b = 0; b < x.c; b++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        let gy = 0,
          gx = 0;
        for (let u = 0; u < 3; u++) {
          for (let v = 0; v < 3; v++) {
            const p = inner(b, i + u - 1, j + v - 1);
            gy += SOBEL[u]![v]! * p;
            gx += SOBEL[v]![u]! * p; // the transposed kernel
          }
        }
        put(out, b, i, j, Math.sqrt(gy * gy + gx * gx));
      }
    }
  }
  return out;
}

export function scc(f: Img, gt: Img): number {
  const a = sobelMagnitude(f),
    b = sobelMagnitude(gt);
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let k = 0; k < a.d.length; k++) {
    ab += a.d[k]! * b.d[k]!;
    aa += a.d[k]! * a.d[k]!;
    bb += b.d[k]! * b.d[k]!;
  }
  return ab / Math.sqrt(aa) / Math.sqrt(bb);
}

// ---- Q2n (q2n.m, onions_quality.m, onion_mult*.m, norm_blocco.m) -------------------------------

const uint16 = (v: number): number => Math.min(65535, Math.max(0, Math.round(v)));

// onion_mult on plain arrays (the toolbox's recursion)
function conjTail(x: number[]): number[] {
  return x.map((v, k) => (k === 0 ? v : -v));
}

export function onionMult(x: number[], y: number[]): number[] {
  const n = x.length;
  if (n === 1) return [x[0]! * y[0]!];
  const h = n / 2;
  const a = x.slice(0, h),
    b = conjTail(x.slice(h)),
    c = y.slice(0, h),
    d = conjTail(y.slice(h));
  if (n === 2) return [a[0]! * c[0]! - d[0]! * b[0]!, a[0]! * d[0]! + c[0]! * b[0]!];
  const r1 = onionMult(a, c),
    r2 = onionMult(d, conjTail(b)),
    r3 = onionMult(conjTail(a), d),
    r4 = onionMult(c, b);
  return [...r1.map((v, k) => v - r2[k]!), ...r3.map((v, k) => v + r4[k]!)];
}

/** onions_quality for one block: g[band][pixel], f[band][pixel]. Returns the N components. */
export function onionsQuality(g: number[][], f: number[][], B: number): number[] {
  const N = g.length,
    n = B * B,
    nn = n / (n - 1);
  const dat1: number[][] = [],
    dat2: number[][] = [];
  for (let b = 0; b < N; b++) {
    const x = g[b]!;
    const s = x.reduce((p, v) => p + v, 0) / n;
    let t = Math.sqrt(x.reduce((p, v) => p + (v - s) * (v - s), 0) / (n - 1));
    if (t === 0) t = 2 ** -52;
    dat1.push(x.map((v) => (v - s) / t + 1));
    const conj = b === 0 ? f[b]! : f[b]!.map((v) => -v);
    if (s === 0) dat2.push(b === 0 ? conj.map((v) => v - s + 1) : conj.map((v) => -(-v - s + 1)));
    else dat2.push(b === 0 ? conj.map((v) => (v - s) / t + 1) : conj.map((v) => -((-v - s) / t + 1)));
  }
  const m1 = dat1.map((x) => x.reduce((p, v) => p + v, 0) / n);
  const m2 = dat2.map((x) => x.reduce((p, v) => p + v, 0) / n);
  const modQ1m = Math.sqrt(m1.reduce((p, v) => p + v * v, 0));
  const modQ2m = Math.sqrt(m2.reduce((p, v) => p + v * v, 0));
  let sq1 = 0,
    sq2 = 0;
  for (let k = 0; k < n; k++) {
    let a = 0,
      b = 0;
    for (let i = 0; i < N; i++) {
      a += dat1[i]![k]! ** 2;
      b += dat2[i]![k]! ** 2;
    }
    sq1 += Math.sqrt(a) ** 2;
    sq2 += Math.sqrt(b) ** 2;
  }
  const termine2 = modQ1m * modQ2m;
  const termine4 = modQ1m ** 2 + modQ2m ** 2;
  const int1 = nn * (sq1 / n),
    int2 = nn * (sq2 / n);
  const termine3 = int1 + int2 - nn * (modQ1m ** 2 + modQ2m ** 2);
  const meanBias = (2 * termine2) / termine4;
  if (termine3 === 0) return Array.from({ length: N }, (_, i) => (i === N - 1 ? meanBias : 0));
  const cbm = 2 / termine3;
  const qv = new Array<number>(N).fill(0);
  for (let k = 0; k < n; k++) {
    const p = onionMult(
      dat1.map((x) => x[k]!),
      dat2.map((x) => x[k]!),
    );
    for (let i = 0; i < N; i++) qv[i]! += p[i]!;
  }
  const qm = onionMult(m1, m2);
  return qv.map((v, i) => (nn * (v / n) - nn * qm[i]!) * meanBias * cbm);
}

export function q2n(gt: Img, f: Img, B: number, shift: number): number {
  const stepx = Math.ceil(gt.h / shift),
    stepy = Math.ceil(gt.w / shift);
  const hp = (stepx - 1) * shift + B,
    wp = (stepy - 1) * shift + B;
  // mirror padding: padded index k >= n reads n-1-(k-n) = 2n-1-k (edge sample repeated)
  const src = (k: number, n: number) => (k < n ? k : 2 * n - 1 - k);
  let N = 1;
  while (N < gt.c) N *= 2;
  const sample = (x: Img, b: number, i: number, j: number) => (b >= x.c ? 0 : uint16(at(x, b, src(i, x.h), src(j, x.w))));
  let total = 0;
  for (let bx = 0; bx < stepx; bx++) {
    for (let by = 0; by < stepy; by++) {
      const g: number[][] = [],
        ff: number[][] = [];
      for (let b = 0; b < N; b++) {
        const gb: number[] = [],
          fb: number[] = [];
        for (let i = 0; i < B; i++) {
          for (let j = 0; j < B; j++) {
            const ii = bx * shift + i,
              jj = by * shift + j;
            if (ii >= hp || jj >= wp) throw new Error('block outside the padded image');
            gb.push(sample(gt, b, ii, jj));
            fb.push(sample(f, b, ii, jj));
          }
        }
        g.push(gb);
        ff.push(fb);
      }
      const q = onionsQuality(g, ff, B);
      total += Math.sqrt(q.reduce((p, v) => p + v * v, 0));
    }
  }
  return total / (stepx * stepy);
}

// ---- PSNR / SSIM (UDL) --------------------------------------------------------------------------

export function psnr(gt: Img, f: Img, peak: number): number {
  let s = 0;
  for (let b = 0; b < gt.c; b++) {
    let se = 0;
    for (let i = 0; i < gt.h; i++) for (let j = 0; j < gt.w; j++) se += (at(f, b, i, j) / peak - at(gt, b, i, j) / peak) ** 2;
    s += 10 * Math.log10(1 / (se / (gt.h * gt.w)));
  }
  return s / gt.c;
}

export function ssim(gt: Img, f: Img, peak: number): number {
  const g1 = Array.from({ length: 11 }, (_, k) => Math.exp(-((k - 5) ** 2) / (2 * 1.5 * 1.5)));
  const tot = g1.reduce((a, b) => a + b, 0);
  const win = g1.map((v) => v / tot);
  const C1 = 0.01 ** 2,
    C2 = 0.03 ** 2;
  let acc = 0;
  for (let b = 0; b < gt.c; b++) {
    let sum = 0;
    for (let i = 0; i < gt.h; i++) {
      for (let j = 0; j < gt.w; j++) {
        let m1 = 0,
          m2 = 0,
          e11 = 0,
          e22 = 0,
          e12 = 0;
        for (let u = -5; u <= 5; u++) {
          for (let v = -5; v <= 5; v++) {
            const ii = i + u,
              jj = j + v;
            if (ii < 0 || jj < 0 || ii >= gt.h || jj >= gt.w) continue; // zero padding
            const wgt = win[u + 5]! * win[v + 5]!;
            const x = at(gt, b, ii, jj) / peak,
              y = at(f, b, ii, jj) / peak;
            m1 += wgt * x;
            m2 += wgt * y;
            e11 += wgt * x * x;
            e22 += wgt * y * y;
            e12 += wgt * x * y;
          }
        }
        const s1 = e11 - m1 * m1,
          s2 = e22 - m2 * m2,
          s12 = e12 - m1 * m2;
        sum += ((2 * m1 * m2 + C1) * (2 * s12 + C2)) / ((m1 * m1 + m2 * m2 + C1) * (s1 + s2 + C2));
      }
    }
    acc += sum / (gt.h * gt.w);
  }
  return acc / gt.c;
}

// ---- full resolution (D_lambda.m, D_s.m, D_lambda_K.m, QNR.m, HQNR.m) ---------------------------

/** The uqi subfunction: 4 cov mx my / (vx + vy) / (mx² + my²), MATLAB cov (n - 1). */
export function uqi(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((p, v) => p + v, 0) / n,
    my = y.reduce((p, v) => p + v, 0) / n;
  let c11 = 0,
    c22 = 0,
    c12 = 0;
  for (let k = 0; k < n; k++) {
    c11 += (x[k]! - mx) ** 2;
    c22 += (y[k]! - my) ** 2;
    c12 += (x[k]! - mx) * (y[k]! - my);
  }
  c11 /= n - 1;
  c22 /= n - 1;
  c12 /= n - 1;
  return (4 * c12 * mx * my) / (c11 + c22) / (mx * mx + my * my);
}

/** mean2(blockproc(a, [S S], uqi against the same block of b)), for band ba of a and bb of b. */
export function blockQ(a: Img, ba: number, b: Img, bb: number, S: number): number {
  let total = 0,
    count = 0;
  for (let i0 = 0; i0 < a.h; i0 += S) {
    for (let j0 = 0; j0 < a.w; j0 += S) {
      const x: number[] = [],
        y: number[] = [];
      for (let j = j0; j < j0 + S; j++)
        for (let i = i0; i < i0 + S; i++) {
          x.push(at(a, ba, i, j));
          y.push(at(b, bb, i, j));
        }
      total += uqi(x, y);
      count++;
    }
  }
  return total / count;
}

export function dLambda(f: Img, lms: Img, S: number, p: number): number {
  let acc = 0;
  for (let i = 0; i < f.c - 1; i++) {
    for (let j = i + 1; j < f.c; j++) {
      const qe = blockQ(lms, i, lms, j, S),
        qf = blockQ(f, i, f, j, S);
      acc += Math.abs(qf - qe) ** p;
    }
  }
  return (acc / ((f.c * f.c - f.c) / 2)) ** (1 / p);
}

/** pan, panLp: 1×H×W. */
export function dS(f: Img, lms: Img, pan: Img, panLp: Img, S: number, q: number): number {
  let acc = 0;
  for (let b = 0; b < f.c; b++) {
    const qh = blockQ(f, b, pan, 0, S),
      ql = blockQ(lms, b, panLp, 0, S);
    acc += Math.abs(qh - ql) ** q;
  }
  return (acc / f.c) ** (1 / q);
}

export function dLambdaK(lms: Img, fusedMtf: Img, S: number): number {
  return 1 - q2n(lms, fusedMtf, S, S);
}
