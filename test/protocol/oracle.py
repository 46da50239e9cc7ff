"""NumPy/SciPy oracle for the Wald-protocol ops and the classical baselines (test/protocol/*.test.ts).

Written from the formulas of the MATLAB toolbox (Vivone et al., DLPan-Toolbox Tools/ and the baseline
folders) independently of the C++ port: loops and scipy.ndimage instead of FFTs and matrices.

Usage: oracle.py DIR. DIR/in.json = {"arrays": {name: shape}, "tasks": [{"op", "inputs": [names],
"params": {...}, "out": name}]}; every array is DIR/<name>.f64 (little-endian float64, row-major).
Writes DIR/<out>.f64 per task and DIR/out.json = {name: shape}.
"""
import json
import os
import sys

import numpy as np
from scipy import ndimage

EPS = np.finfo(np.float64).eps

# genMTF.m / MTF_PAN.m (conventions.md B3); 'other' = 0.3 per band, PAN 0.15.
MS_GNYQ = {
    "qb": [0.34, 0.32, 0.30, 0.22],
    "ikonos": [0.26, 0.28, 0.29, 0.28],
    "geoeye1": [0.23] * 4,
    "wv4": [0.23] * 4,
    "wv2": [0.35] * 7 + [0.27],
    "wv3": [0.325, 0.355, 0.360, 0.350, 0.365, 0.360, 0.335, 0.315],
}
PAN_GNYQ = {"qb": 0.15, "ikonos": 0.17, "geoeye1": 0.16, "wv4": 0.16, "wv2": 0.11, "wv3": 0.14}


def ms_gnyq(sensor, bands):
    return MS_GNYQ.get(sensor, [0.3] * bands)


# ---- filter design (fspecial + fwind1 with kaiser(N)) -----------------------------------------------

def fspecial_gaussian(n, sigma):
    half = (n - 1) / 2
    y, x = np.mgrid[-half:half + 1, -half:half + 1]
    h = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    h[h < EPS * h.max()] = 0
    return h / h.sum()


def fsamp2(hd):
    h = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(hd)))
    return np.real(np.rot90(h, 2))


def huang_window(n, beta=0.5):
    w1 = np.kaiser(n, beta)
    t = (np.arange(n) - (n - 1) / 2) * (2.0 / (n - 1))
    t1, t2 = np.meshgrid(t, t)
    r = np.sqrt(t1 * t1 + t2 * t2)
    w = np.interp(r, t, w1)
    w[(r < t[0]) | (r > t[-1])] = 0
    return w


def gaussian_fir(gnyq, ratio, n=41, span=None):
    span = n - 1 if span is None else span
    fcut = 1.0 / ratio
    sigma = np.sqrt((span * (fcut / 2)) ** 2 / (-2 * np.log(gnyq)))
    H = fspecial_gaussian(n, sigma)
    hd = H / H.max()
    return fsamp2(hd) * huang_window(n)


def mtf_kernels(sensor, bands, ratio):
    return np.stack([gaussian_fir(g, ratio) for g in ms_gnyq(sensor, bands)])


def lp_gauss(ratio):
    return gaussian_fir(0.3, ratio, 41, 41)


# ---- filtering and resampling -----------------------------------------------------------------------

def imfilter_replicate(img, h):  # img [H, W]
    return ndimage.correlate(img, h, mode="nearest")


def mtf_filter(x, sensor, ratio):  # x [C, H, W]
    ks = mtf_kernels(sensor, x.shape[0], ratio)
    return np.stack([imfilter_replicate(x[c], ks[c]) for c in range(x.shape[0])])


def decimate(x, ratio):
    # imresize(., 1/ratio, 'nearest'): output x (1-based) reads input round-half-down of 4x - 1.5 + ...
    off = ratio // 2
    return x[..., off::ratio, off::ratio]


def matlab_cubic(x):
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))


def imresize_dim(x, axis, scale, antialias=True):
    """MATLAB imresize along one axis: contributions() + resizeAlongDim, written as loops."""
    n_in = x.shape[axis]
    n_out = int(np.ceil(scale * n_in))
    if scale < 1 and antialias:
        kernel = lambda d: scale * matlab_cubic(scale * d)
        width = 4.0 / scale
    else:
        kernel = matlab_cubic
        width = 4.0
    xm = np.moveaxis(x, axis, -1)
    out = np.zeros(xm.shape[:-1] + (n_out,))
    aux = np.concatenate([np.arange(1, n_in + 1), np.arange(n_in, 0, -1)])
    P = int(np.ceil(width)) + 2
    for o in range(1, n_out + 1):
        u = o / scale + 0.5 * (1 - 1 / scale)
        left = int(np.floor(u - width / 2))
        idx = left + np.arange(P)
        w = kernel(u - idx)
        w = w / w.sum()
        src = aux[np.mod(idx - 1, len(aux))] - 1
        acc = np.zeros(xm.shape[:-1])
        for k in range(P):
            acc = acc + w[k] * xm[..., src[k]]
        out[..., o - 1] = acc
    return np.moveaxis(out, -1, axis)


def imresize(x, scale, antialias=True):  # x [..., H, W]; MATLAB resizes dim 1 (rows) first
    y = imresize_dim(x, x.ndim - 2, scale, antialias)
    return imresize_dim(y, y.ndim - 1, scale, antialias)


CDF23 = 2 * np.array([0.5, 0.305334091185, 0, -0.072698593239, 0, 0.021809577942, 0, -0.005192756653, 0,
                      0.000807762146, 0, -0.000060081482])
CDF23 = np.concatenate([CDF23[1:][::-1], CDF23])


def interp23tap(x, ratio):  # x [C, h, w]
    first = True
    stages = int(round(np.log2(ratio)))
    for _ in range(stages):
        c, r, cc = x.shape
        up = np.zeros((c, 2 * r, 2 * cc))
        if first:
            up[:, 1::2, 1::2] = x
            first = False
        else:
            up[:, 0::2, 0::2] = x
        up = ndimage.correlate1d(up, CDF23, axis=1, mode="wrap")
        x = ndimage.correlate1d(up, CDF23, axis=2, mode="wrap")
    return x


def wdec1d(x, f):  # MATLAB ndwt2's wdec1D in 'sym' mode, along the last axis
    lf = len(f)
    n = x.shape[-1]
    ext = np.concatenate([x[..., lf - 2::-1], x, x[..., :n - lf - 1:-1]], axis=-1)  # lf-1 left, lf right
    full = np.apply_along_axis(lambda v: np.convolve(v, f), -1, ext)
    full = full[..., lf - 1:full.shape[-1] - lf + 1]
    lc = n + lf - 1
    first = (full.shape[-1] - lc) // 2
    return full[..., first:first + lc]


def wrec1d(x, f):
    return np.apply_along_axis(lambda v: np.convolve(v, f), -1, x)


def lp_plus_dec(img, ratio):  # img [H, W]: LPfilterPlusDec.m (ndwt2_working + indwt2_working 'c')
    h = np.array([1, 4, 6, 4, 1]) / 16 * np.sqrt(2)
    ht = h.copy()
    levels = int(np.ceil(np.log2(ratio)))
    x = img
    sizes = [x.shape]
    for _ in range(levels):  # approximation branch: columns (dim 2) then rows (dim 1)
        a = wdec1d(x, h)
        x = wdec1d(a.T, h).T
        sizes.append(x.shape)
    for k in range(levels):
        target = sizes[levels - 1 - k]
        w = wrec1d(x.T, ht).T  # along dim 1
        y = wrec1d(w, ht) / 4  # along dim 2
        F = [(y.shape[i] - target[i]) // 2 for i in range(2)]
        x = y[F[0]:F[0] + target[0], F[1]:F[1] + target[1]]
    return decimate(x, ratio)


def degrade(ms, pan, sensor, ratio, pan_mtf=False):  # ms [C, h, w], pan [H, W]
    ms_lr = decimate(mtf_filter(ms, sensor, ratio), ratio)
    if pan_mtf:
        pan_lr = decimate(imfilter_replicate(pan, gaussian_fir(PAN_GNYQ.get(sensor, 0.15), ratio)), ratio)
    else:
        pan_lr = imresize(pan, 1.0 / ratio)
    return ms_lr, pan_lr, interp23tap(ms_lr, ratio)


# ---- baselines ---------------------------------------------------------------------------------------

def std2(x):
    return np.std(x, ddof=1)


def brovey(lms, pan):
    I = lms.mean(0)
    P = (pan - pan.mean()) * (std2(I) / std2(pan)) + I.mean()
    return lms * (P / (I + EPS))[None]


def bt_h(lms, pan, ratio):
    C = lms.shape[0]
    if C == 4:
        f = [0.95, 0.45, 0.40, 0.05]
        L = np.array([f[b] * np.percentile(lms[b].ravel(), 1, method="hazen") for b in range(4)])
    else:
        L = np.array([lms[b].min() for b in range(C)])
    L = L[:, None, None]
    P_lp = imfilter_replicate(pan, lp_gauss(ratio))
    A = lms.reshape(C, -1).T
    w = np.linalg.lstsq(A, P_lp.ravel(), rcond=None)[0]
    I = ((lms - L) * w[:, None, None]).sum(0)
    P = (pan - P_lp.mean()) * (std2(I) / std2(P_lp)) + I.mean()
    ms_l = np.maximum(lms - L, 0)
    return ms_l * (P / (I + EPS))[None] + L


def gsa(lms, pan, ms, ratio):
    C = lms.shape[0]
    up0 = lms - lms.mean(axis=(1, 2), keepdims=True)
    lr0 = ms - ms.mean(axis=(1, 2), keepdims=True)
    P0 = pan - pan.mean()
    P0_lr = lp_plus_dec(P0, ratio)
    A = np.concatenate([lr0.reshape(C, -1).T, np.ones((lr0[0].size, 1))], axis=1)
    alpha = np.linalg.lstsq(A, P0_lr.ravel(), rcond=None)[0]
    I = (up0 * alpha[:C, None, None]).sum(0) + alpha[C]
    I0 = I - I.mean()
    g = np.array([np.cov(I0.ravel(), up0[b].ravel())[0, 1] / np.var(I0.ravel(), ddof=1) for b in range(C)])
    delta = P0 - I0
    fused = up0 + delta[None] * g[:, None, None]
    return fused - fused.mean(axis=(1, 2), keepdims=True) + lms.mean(axis=(1, 2), keepdims=True)


def mtf_glp_hpm(lms, pan, sensor, ratio):
    C = lms.shape[0]
    ks = mtf_kernels(sensor, C, ratio)
    s_lp = std2(imfilter_replicate(pan, lp_gauss(ratio)))
    out = np.zeros_like(lms)
    for b in range(C):
        P = (pan - pan.mean()) * (std2(lms[b]) / s_lp) + lms[b].mean()
        low = decimate(imfilter_replicate(P, ks[b]), ratio)
        low = interp23tap(low[None], ratio)[0]
        out[b] = lms[b] * (P / (low + EPS))
    return out


def torch_bicubic(x, ratio):
    import torch
    import torch.nn.functional as F
    t = torch.from_numpy(np.ascontiguousarray(x)).double()
    while t.dim() < 4:
        t = t.unsqueeze(0)
    y = F.interpolate(t, scale_factor=1.0 / ratio, mode="bicubic", align_corners=False)
    return y.reshape(x.shape[:-2] + y.shape[-2:]).numpy()


def torch_antialias_bicubic(x, ratio):  # PIL-style antialiased bicubic (a = -0.5): equals MATLAB away from borders
    import torch
    import torch.nn.functional as F
    t = torch.from_numpy(np.ascontiguousarray(x)).double()
    while t.dim() < 4:
        t = t.unsqueeze(0)
    y = F.interpolate(t, scale_factor=1.0 / ratio, mode="bicubic", align_corners=False, antialias=True)
    return y.reshape(x.shape[:-2] + y.shape[-2:]).numpy()


def run_task(op, a, p):
    if op == "mtf_kernels":
        return mtf_kernels(p["sensor"], p["bands"], p["ratio"])
    if op == "pan_kernel":
        return gaussian_fir(PAN_GNYQ.get(p["sensor"], 0.15), p["ratio"])
    if op == "lp_gauss":
        return lp_gauss(p["ratio"])
    if op == "mtf_filter":
        return mtf_filter(a[0], p["sensor"], p["ratio"])
    if op == "decimate":
        return decimate(a[0], p["ratio"])
    if op == "imresize":
        return imresize(a[0], p["scale"], p.get("antialias", True))
    if op == "interp23tap":
        return interp23tap(a[0], p["ratio"])
    if op == "lp_plus_dec":
        return lp_plus_dec(a[0], p["ratio"])
    if op == "torch_bicubic":
        return torch_bicubic(a[0], p["ratio"])
    if op == "torch_aa_bicubic":
        return torch_antialias_bicubic(a[0], p["ratio"])
    if op.startswith("degrade_"):
        ms_lr, pan_lr, lms = degrade(a[0], a[1], p["sensor"], p["ratio"], p.get("pan_mtf", False))
        return {"degrade_ms": ms_lr, "degrade_pan": pan_lr, "degrade_lms": lms}[op]
    if op == "brovey":
        return brovey(a[0], a[1])
    if op == "bt_h":
        return bt_h(a[0], a[1], p["ratio"])
    if op == "gsa":
        return gsa(a[0], a[1], a[2], p["ratio"])
    if op == "mtf_glp_hpm":
        return mtf_glp_hpm(a[0], a[1], p["sensor"], p["ratio"])
    raise ValueError("unknown op " + op)


def main():
    d = sys.argv[1]
    spec = json.load(open(os.path.join(d, "in.json")))
    arrays = {}
    for name, shape in spec["arrays"].items():
        arrays[name] = np.fromfile(os.path.join(d, name + ".f64"), dtype="<f8").reshape(shape)
    shapes = {}
    for task in spec["tasks"]:
        y = np.ascontiguousarray(run_task(task["op"], [arrays[n] for n in task.get("inputs", [])], task.get("params", {})), dtype="<f8")
        y.tofile(os.path.join(d, task["out"] + ".f64"))
        shapes[task["out"]] = list(y.shape)
    json.dump(shapes, open(os.path.join(d, "out.json"), "w"))


if __name__ == "__main__":
    main()
