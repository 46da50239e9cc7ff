"""PyTorch reference ("oracle") of CrossDiff, written from ../shared/reference/crossdiff.md (§2.1
UNet, §2.2 schedule, §3.2 fusion head); used only by tests, never on the product's run path.

`python crossdiff.py OUT_DIR` writes, for a tiny and a reference-width configuration:
  <name>.layout.json       the state dict's names and shapes in order (p2m.*, m2p.*, head.*)
  <name>.safetensors       seeded weights and inputs, and the oracle's outputs:
    in.lms, in.pan (in [0, 1]); in.xt_p2m, in.xt_m2p (noisy targets in [-1, 1]);
    out.eps_p2m, out.eps_m2p (ε̂ at t = 333), out.fused (stage 2 with zero feature noise),
    out.alpha_bar (the cosine schedule, T = 1000)
"""
import json
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file


class Dense(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.dense = nn.Linear(i, o)

    def forward(self, x):
        return self.dense(x)[..., None, None]


class Level(nn.Module):
    """x + Dense(emb) -> GroupNorm -> SiLU -> stride-2 conv (down) or transposed conv (up)."""

    def __init__(self, cin, cout, e, groups, up):
        super().__init__()
        if up:
            self.conv20 = nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1)
        else:
            self.conv20 = nn.Conv2d(cin, cout, 3, stride=2, padding=1)
        self.dense1 = Dense(e, cin)
        self.groupnorm1 = nn.GroupNorm(min(groups, cin), cin)

    def forward(self, x, emb):
        return self.conv20(F.silu(self.groupnorm1(x + self.dense1(emb))))


class UNet(nn.Module):
    def __init__(self, target, cond, width=32, e=256, tdim=32):
        super().__init__()
        c0, c1, c2, c3 = width, 2 * width, 4 * width, 8 * width
        io = target + cond
        self.tdim = tdim
        self.embed = nn.Sequential(nn.Linear(tdim, e))
        self.conv1 = nn.Conv2d(io, c0, 3, padding=1)
        self.res3 = Level(c0, c1, e, 4, False)
        self.down1 = Level(c1, c2, e, 32, False)
        self.down2 = Level(c2, c3, e, 32, False)
        self.up1 = Level(c3, c2, e, 32, True)
        self.dense2 = Dense(e, c2)
        self.groupnorm2 = nn.GroupNorm(min(32, c2), c2)
        self.up2 = nn.ConvTranspose2d(2 * c2, c1, 3, stride=2, padding=1, output_padding=1)
        self.dense3 = Dense(e, c1)
        self.groupnorm3 = nn.GroupNorm(min(32, c1), c1)
        self.up3 = nn.ConvTranspose2d(2 * c1, c0, 3, stride=2, padding=1, output_padding=1)
        self.dense4 = Dense(e, c0)
        self.groupnorm4 = nn.GroupNorm(min(4, c0), c0)
        self.final1 = nn.Conv2d(2 * c0, c0, 3, padding=1)
        self.dense5 = Dense(e, c0)
        self.groupnorm5 = nn.GroupNorm(min(4, c0), c0)
        self.final2 = nn.Conv2d(c0 + io, target, 3, padding=1)

    def emb(self, t):
        half = self.tdim // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
        a = t.float()[:, None] * freqs[None]
        return F.silu(self.embed(torch.cat([torch.cos(a), torch.sin(a)], 1)))

    def encode(self, x, t, c):
        e = self.emb(t)
        h1 = self.conv1(torch.cat([x, c], 1))
        h2 = self.res3(h1, e)
        h3 = self.down1(h2, e)
        h4 = self.down2(h3, e)
        return [h1, h2, h3, h4], e

    def forward(self, x, t, c):
        (h1, h2, h3, h4), e = self.encode(x, t, c)
        h = self.up1(h4, e)
        h = self.up2(torch.cat([F.silu(self.groupnorm2(h + self.dense2(e))), h3], 1))
        h = self.up3(torch.cat([F.silu(self.groupnorm3(h + self.dense3(e))), h2], 1))
        h = self.final1(torch.cat([F.silu(self.groupnorm4(h + self.dense4(e))), h1], 1))
        return self.final2(torch.cat([F.silu(self.groupnorm5(h + self.dense5(e))), x, c], 1))


class CSSE(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.cSE = nn.Module()
        self.cSE.fc1 = nn.Linear(c, c // 2)
        self.cSE.fc2 = nn.Linear(c // 2, c)
        self.sSE = nn.Module()
        self.sSE.conv = nn.Conv2d(c, 1, 1)

    def forward(self, x):
        g = F.leaky_relu(self.cSE.fc2(F.relu(self.cSE.fc1(x.mean((2, 3))))))
        return x * g[..., None, None] + x * F.leaky_relu(self.sSE.conv(x))


class Holder(nn.Module):
    def __init__(self, *mods):
        super().__init__()
        self.block = nn.Sequential(*mods)

    def forward(self, x):
        return self.block(x)


class Head(nn.Module):
    def __init__(self, bands, width=32, inner=32, use_finest=True):
        super().__init__()
        self.use_finest = use_finest
        self.decoder = nn.ModuleList()
        for level in range(4):
            d = 2 * width * (8 >> level)
            self.decoder.append(Holder(nn.Conv2d(d, d, 3, padding=1), nn.LeakyReLU()))
            if level < 3:
                self.decoder.append(Holder(nn.Conv2d(d, d // 2, 3, padding=1), nn.LeakyReLU(), CSSE(d // 2)))
        self.final = nn.Conv2d(2 * width, inner, 3, padding=1)
        self.final2 = nn.Conv2d(inner, bands, 3, padding=1)

    def forward(self, a, b):
        x = None
        for level in range(4):
            d = self.decoder[2 * level](torch.cat([a[3 - level], b[3 - level]], 1))
            if level > 0:
                d = d + x
            if level < 3:
                x = F.interpolate(self.decoder[2 * level + 1](d), scale_factor=2, mode='area')
        return self.final2(F.leaky_relu(self.final(d if self.use_finest else x)))


def alpha_bar(T=1000, s=0.008):
    f = lambda u: math.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    out, prod = [1.0], 1.0
    for i in range(1, T + 1):
        prod *= 1 - min(1 - f(i / T) / f((i - 1) / T), 0.999)
        out.append(prod)
    return torch.tensor(out, dtype=torch.float64)


def case(out_dir, name, bands, width, e, inner, use_finest, size, seed):
    torch.manual_seed(seed)
    p2m, m2p, head = UNet(bands, 1, width, e), UNet(1, bands, width, e), Head(bands, width, inner, use_finest)
    sd = {}
    for prefix, m in (('p2m', p2m), ('m2p', m2p), ('head', head)):
        for k, v in m.state_dict().items():
            sd[f'{prefix}.{k}'] = v.detach().clone().contiguous()
    layout = [[k, list(v.shape)] for k, v in sd.items()]
    json.dump({'tensors': layout}, open(f'{out_dir}/{name}.layout.json', 'w'))
    g = torch.Generator().manual_seed(seed + 1)
    lms = torch.rand(2, bands, size, size, generator=g)
    pan = torch.rand(2, 1, size, size, generator=g)
    xt_p2m = torch.randn(2, bands, size, size, generator=g)
    xt_m2p = torch.randn(2, 1, size, size, generator=g)
    ab = alpha_bar()
    with torch.no_grad():
        t = torch.full((2,), 333, dtype=torch.long)
        eps_p2m = p2m(xt_p2m, t, pan * 2 - 1)
        eps_m2p = m2p(xt_m2p, t, lms * 2 - 1)
        t50 = torch.full((2,), 50, dtype=torch.long)
        a50 = float(ab[50]) ** 0.5
        fa, _ = p2m.encode(a50 * (lms * 2 - 1), t50, pan * 2 - 1)  # zero feature noise
        fb, _ = m2p.encode(a50 * (pan * 2 - 1), t50, lms * 2 - 1)
        fused = lms + head(fa, fb)
    sd.update({'in.lms': lms, 'in.pan': pan, 'in.xt_p2m': xt_p2m, 'in.xt_m2p': xt_m2p,
               'out.eps_p2m': eps_p2m, 'out.eps_m2p': eps_m2p, 'out.fused': fused, 'out.alpha_bar': ab})
    save_file({k: v.contiguous() for k, v in sd.items()}, f'{out_dir}/{name}.safetensors')


if __name__ == '__main__':
    out = sys.argv[1]
    torch.set_num_threads(2)
    case(out, 'tiny', 4, 8, 64, 16, True, 32, 0)
    case(out, 'tiny8_released', 8, 8, 64, 16, False, 16, 1)
    case(out, 'qb', 4, 32, 256, 32, True, 32, 2)
