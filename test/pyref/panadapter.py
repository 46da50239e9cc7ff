"""PyTorch reference ("oracle") implementation of PanAdapter.

Used only by tests and benchmarks to produce golden state-dict layouts, parameter
counts and numerical outputs for the C++/libtorch port. It is never on the
product's run path.

Written from ../shared/reference/panadapter.md (sections 1, 2, 3, 6.5, 7, 8, 9).
The released code's defects are fixed as that document recommends:

* the INR sampling grid is expanded to the batch size (7.4);
* gradients flow through the frozen ViT's activations; its parameters stay frozen (7.2, Q6);
* SELayer(C+1) keeps its 0-unit hidden layer, so it is exactly x * 0.5 (7.9);
* the decoder memory is the encoder output after the encoder-side injections (Q5);
* the ViT output (mlp_head(x) + x) is only computed and used when
  ``tail_uses_vit`` is set (Q7);
* stage 1 is implemented as option (a) of Q1: SSPEN (with gradient through the
  EDSR body) -> priors -> a_proj/b_proj tokens -> INR tail -> + lms.

Layouts: NCHW for images; token tensors are sequence-first (L, B, E), as in
``nn.MultiheadAttention``'s default.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from typing import Callable, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "PanAdapterConfig",
    "PRESETS",
    "preset",
    "PanAdapter",
    "set_stage",
    "stage_trainable_prefixes",
    "count_params",
]

RATIO = 4  # PAN / MS pixel-size ratio; also the Unfold kernel/stride and head_down stride.


# --------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PanAdapterConfig:
    bands: int = 8  # C: 8 (WV3, WV2) or 4 (QB, GF2, IKONOS)
    n_feats: int = 576  # ViT width D
    heads: int = 12  # ViT heads
    enc_layers: int = 12
    dec_layers: int = 12
    hidden_dim: int = 2304  # ViT FFN width (also mlp_head hidden width)
    num_queries: int = 6  # IPT task queries
    query_index: int = 0  # IPT SR x2 query
    img_dim: int = 16  # token grid side; the image patch side is RATIO * img_dim = 64
    edsr_feats: int = 64
    edsr_blocks: int = 16  # ResBlocks per EDSR; one LPE block per ResBlock output
    lpe_ch: int = 16  # d'
    prior_ch: int = 64  # m
    k: int = 96  # adapter token width
    adapter_heads: int = 4
    n_adapters: int = 6
    inject_every: int = 4
    inr_hidden: int = 576
    pos_every: bool = True
    tail_uses_vit: bool = False  # Q7
    spectral_input: str = "ms"  # Q10: 'ms' (dataset LRMS) or 'bicubic_lms' (released)
    attention_roles: str = "released"  # Q8: 'released' or 'vit_adapter'
    se_reduction: int = 16

    def __post_init__(self) -> None:
        if self.bands < 1:
            raise ValueError("bands must be >= 1")
        if self.n_feats % self.heads:
            raise ValueError("n_feats must be divisible by heads")
        if self.k % self.adapter_heads:
            raise ValueError("k must be divisible by adapter_heads")
        if self.k < 4:
            raise ValueError("k must be >= 4 (WeightingNet hidden width is k // 4)")
        if self.lpe_ch < 1 or self.edsr_blocks < 1:
            raise ValueError("lpe_ch and edsr_blocks must be >= 1")
        if not 0 <= self.query_index < self.num_queries:
            raise ValueError("query_index out of range")
        total = self.enc_layers + self.dec_layers
        if self.inject_every < 1 or total % self.inject_every:
            raise ValueError("enc_layers + dec_layers must be a multiple of inject_every")
        if total // self.inject_every != self.n_adapters:
            raise ValueError(
                f"(enc_layers + dec_layers) / inject_every = {total // self.inject_every} "
                f"must equal n_adapters = {self.n_adapters}"
            )
        if self.spectral_input not in ("ms", "bicubic_lms"):
            raise ValueError("spectral_input must be 'ms' or 'bicubic_lms'")
        if self.attention_roles not in ("released", "vit_adapter"):
            raise ValueError("attention_roles must be 'released' or 'vit_adapter'")

    # derived sizes --------------------------------------------------------------------
    @property
    def patch(self) -> int:
        """Side of the lms / pan / output patch (64)."""
        return RATIO * self.img_dim

    @property
    def seq_len(self) -> int:
        """Number of ViT / prior tokens (256)."""
        return self.img_dim * self.img_dim

    @property
    def inr_in(self) -> int:
        """INR tail input channels: 2k + 2 (+ n_feats with tail_uses_vit)."""
        return 2 * self.k + 2 + (self.n_feats if self.tail_uses_vit else 0)


_FULL = PanAdapterConfig()

PRESETS = {
    "wv3": replace(_FULL, bands=8),
    "wv2": replace(_FULL, bands=8),
    "qb": replace(_FULL, bands=4),
    "gf2": replace(_FULL, bands=4),
    "ikonos": replace(_FULL, bands=4),
    # Same structure, small widths / depths (64x64 patch, 16x16 token grid kept).
    "tiny": replace(
        _FULL,
        bands=8,
        n_feats=48,
        heads=4,
        enc_layers=4,
        dec_layers=4,
        hidden_dim=96,
        edsr_feats=16,
        edsr_blocks=4,
        lpe_ch=4,
        prior_ch=16,
        k=24,
        adapter_heads=4,
        n_adapters=2,
        inject_every=4,
        inr_hidden=48,
    ),
}


def preset(name: str, bands: Optional[int] = None, **overrides) -> PanAdapterConfig:
    """Return a preset config, optionally overriding ``bands`` and other fields."""
    try:
        cfg = PRESETS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; known: {sorted(PRESETS)}") from None
    if bands is not None:
        overrides["bands"] = bands
    return replace(cfg, **overrides) if overrides else cfg


# --------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------


def conv(cin: int, cout: int, ksize: int, **kw) -> nn.Conv2d:
    """Conv2d with 'same' padding for odd kernels, bias on."""
    return nn.Conv2d(cin, cout, ksize, padding=ksize // 2, **kw)


class ResBlock(nn.Module):
    """x + Conv(ReLU(Conv(x))); the convs are ``body.0`` and ``body.2`` (res_scale 1)."""

    def __init__(self, ch: int, ksize: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv(ch, ch, ksize), nn.ReLU(), conv(ch, ch, ksize))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SELayer(nn.Module):
    """Squeeze-and-excitation with bias-free FCs (``fc.0``, ``fc.2``).

    With C+1 = 9 or 5 channels and reduction 16 the hidden layer has 0 units:
    Linear(C+1, 0) -> ReLU -> Linear(0, C+1) yields zeros, the sigmoid gives 0.5, so
    the layer is exactly x * 0.5. It is reproduced as is, not special-cased.
    """

    def __init__(self, ch: int, reduction: int) -> None:
        super().__init__()
        hidden = ch // reduction
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        with warnings.catch_warnings():
            # hidden == 0: PyTorch warns that initialising a zero-element tensor is a no-op.
            warnings.filterwarnings("ignore", message="Initializing zero-element tensors")
            self.fc = nn.Sequential(
                nn.Linear(ch, hidden, bias=False),
                nn.ReLU(),
                nn.Linear(hidden, ch, bias=False),
                nn.Sigmoid(),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        y = self.fc(self.avg_pool(x).view(b, c)).view(b, c, 1, 1)
        return x * y


class Sine(nn.Module):
    """sin(omega * x) with omega = 1 (plain sin)."""

    def __init__(self, omega: float = 1.0) -> None:
        super().__init__()
        self.omega = omega

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega * x)


def with_pos(x: torch.Tensor, pos: Optional[torch.Tensor]) -> torch.Tensor:
    return x if pos is None else x + pos


def tokens_to_map(tokens: torch.Tensor, side: int) -> torch.Tensor:
    """(L, B, E) sequence-first tokens -> (B, E, side, side), row-major (index = y*side+x)."""
    L, B, E = tokens.shape
    return tokens.permute(1, 2, 0).reshape(B, E, side, side)


def map_to_tokens(x: torch.Tensor) -> torch.Tensor:
    """(B, E, h, w) -> (h*w, B, E) sequence-first; equals unfold(patch 1) + transposes."""
    return x.flatten(2).permute(2, 0, 1)


def coord_grid(size: int, batch: int, device=None, dtype=None) -> torch.Tensor:
    """Edge-aligned INR coordinates: (batch, size, size, 2), last dim (x, y).

    x and y are linspace(-1, 1, size); grid[b, i, j] = (x_j, y_i), i.e. the standard
    ``grid_sample`` convention (x indexes the width, y the height).
    """
    lin = torch.linspace(-1.0, 1.0, size, device=device, dtype=dtype)
    gy, gx = torch.meshgrid(lin, lin, indexing="ij")
    grid = torch.stack([gx, gy], dim=-1)  # (size, size, 2)
    return grid.unsqueeze(0).expand(batch, size, size, 2)


# --------------------------------------------------------------------------------------
# IPT ViT body (frozen)
# --------------------------------------------------------------------------------------


class TransformerEncoderLayer(nn.Module):
    """Pre-LN IPT encoder layer; MHA without biases, ReLU FFN."""

    def __init__(self, d: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, bias=False)
        self.linear1 = nn.Linear(d, hidden)
        self.linear2 = nn.Linear(hidden, d)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        # IPT re-initialises the encoder self-attention projection (6.4).
        nn.init.kaiming_uniform_(self.self_attn.in_proj_weight, a=math.sqrt(5))

    def forward(self, x: torch.Tensor, pos: Optional[torch.Tensor]) -> torch.Tensor:
        s = self.norm1(x)
        qk = with_pos(s, pos)
        x = x + self.self_attn(qk, qk, s, need_weights=False)[0]
        x = x + self.linear2(F.relu(self.linear1(self.norm2(x))))
        return x


class TransformerDecoderLayer(nn.Module):
    """Pre-LN IPT decoder layer (self-attention, cross-attention, ReLU FFN)."""

    def __init__(self, d: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, bias=False)
        self.multihead_attn = nn.MultiheadAttention(d, heads, bias=False)
        self.linear1 = nn.Linear(d, hidden)
        self.linear2 = nn.Linear(hidden, d)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.norm3 = nn.LayerNorm(d)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        pos: Optional[torch.Tensor],
        query_pos: torch.Tensor,
    ) -> torch.Tensor:
        s = self.norm1(x)
        qk = with_pos(s, query_pos)
        x = x + self.self_attn(qk, qk, s, need_weights=False)[0]
        s = self.norm2(x)
        x = x + self.multihead_attn(
            with_pos(s, query_pos), with_pos(memory, pos), memory, need_weights=False
        )[0]
        x = x + self.linear2(F.relu(self.linear1(self.norm3(x))))
        return x


class TransformerStack(nn.Module):
    """Holds ``layers.{i}`` (names as in IPT's TransformerEncoder/Decoder)."""

    def __init__(self, layers: List[nn.Module]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)


class LearnedPositionalEncoding(nn.Module):
    """``pe`` (Embedding(L, D)) and the int64 buffer ``position_ids`` (1, L)."""

    def __init__(self, seq_len: int, d: int) -> None:
        super().__init__()
        self.pe = nn.Embedding(seq_len, d)
        self.register_buffer(
            "position_ids", torch.arange(seq_len, dtype=torch.long).unsqueeze(0)
        )

    def forward(self) -> torch.Tensor:
        """(L, 1, D), broadcast over the batch."""
        return self.pe(self.position_ids).transpose(0, 1)


class VisionTransformer(nn.Module):
    """IPT body at img_dim 16, patch_dim 1 (256 tokens of width n_feats)."""

    def __init__(self, cfg: PanAdapterConfig) -> None:
        super().__init__()
        d, L = cfg.n_feats, cfg.seq_len
        self.cfg = cfg
        self.linear_encoding = nn.Linear(d, d)
        # Indices 0 and 3 carry the weights, as in IPT (Linear, Dropout, ReLU, Linear).
        self.mlp_head = nn.Sequential(
            nn.Linear(d, cfg.hidden_dim), nn.Dropout(0.0), nn.ReLU(), nn.Linear(cfg.hidden_dim, d)
        )
        self._query_embed = nn.Embedding(cfg.num_queries, d * L)
        self.encoder = TransformerStack(
            [TransformerEncoderLayer(d, cfg.heads, cfg.hidden_dim) for _ in range(cfg.enc_layers)]
        )
        self.decoder = TransformerStack(
            [TransformerDecoderLayer(d, cfg.heads, cfg.hidden_dim) for _ in range(cfg.dec_layers)]
        )
        self._position_encoding = LearnedPositionalEncoding(L, d)

    def forward_with_injections(
        self,
        feat: torch.Tensor,
        inject: Callable[[torch.Tensor, int], torch.Tensor],
        with_mlp_head: bool = True,
    ) -> torch.Tensor:
        """Run the frozen body on a (B, D, 16, 16) feature, calling ``inject(tokens, j)``
        after every ``inject_every``-th layer (encoder layers first, then decoder).

        No ``no_grad`` here: gradients reach earlier adapters through the activations.
        Returns (L, B, D) tokens: mlp_head(x) + x if ``with_mlp_head`` else x.
        """
        cfg = self.cfg
        B = feat.shape[0]
        x = map_to_tokens(feat)  # (L, B, D)
        x = self.linear_encoding(x) + x
        pos = self._position_encoding()  # (L, 1, D)
        query_pos = (
            self._query_embed.weight[cfg.query_index].view(cfg.seq_len, 1, cfg.n_feats).repeat(1, B, 1)
        )
        if not cfg.pos_every:
            # IPT pretraining mode: position added once at the encoder input, no
            # position term on the decoder's cross-attention keys.
            x = x + pos
            enc_pos, mem_pos = None, None
        else:
            enc_pos, mem_pos = pos, pos

        n_done = 0

        def after_layer(t: torch.Tensor) -> torch.Tensor:
            nonlocal n_done
            n_done += 1
            if n_done % cfg.inject_every == 0:
                t = inject(t, n_done // cfg.inject_every - 1)
            return t

        for layer in self.encoder.layers:
            x = after_layer(layer(x, enc_pos))
        memory = x  # encoder output, including the encoder-side injections
        for layer in self.decoder.layers:
            x = after_layer(layer(x, memory, mem_pos, query_pos))
        if with_mlp_head:
            x = self.mlp_head(x) + x
        return x


# --------------------------------------------------------------------------------------
# SSPEN: two modified EDSR-baselines + LPE
# --------------------------------------------------------------------------------------


class MSEncoder(nn.Module):
    """New EDSR head: Conv3x3(in->f) -> ResBlock(k5) -> ResBlock(k5) -> Conv1x1(f->f)."""

    def __init__(self, cin: int, f: int) -> None:
        super().__init__()
        self.head = nn.Sequential(conv(cin, f, 3), ResBlock(f, 5), ResBlock(f, 5), conv(f, f, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)


class EDSRTrunk(nn.Module):
    """EDSR-baseline without MeanShift / tail; returns (single_layer(r_n) + x0, taps)."""

    def __init__(self, cin: int, f: int, n_blocks: int) -> None:
        super().__init__()
        self.head = MSEncoder(cin, f)
        self.body = nn.ModuleList([ResBlock(f, 3) for _ in range(n_blocks)])
        self.single_layer = conv(f, f, 3)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        x0 = self.head(x)
        r = x0
        taps = []
        for block in self.body:
            r = block(r)
            taps.append(r)
        return self.single_layer(r) + x0, taps


class LPE(nn.Module):
    """Local Prior Extraction: DWConv3x3(GELU(Conv1x1(f -> d')))."""

    def __init__(self, f: int, d: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(f, d, 1)
        self.act = nn.GELU()
        self.dw = nn.Conv2d(d, d, 3, padding=1, groups=d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dw(self.act(self.conv1(x)))


class SSPEN(nn.Module):
    def __init__(self, cfg: PanAdapterConfig) -> None:
        super().__init__()
        f, n, d, m = cfg.edsr_feats, cfg.edsr_blocks, cfg.lpe_ch, cfg.prior_ch
        self.spe_edsr = EDSRTrunk(cfg.bands, f, n)
        self.spa_edsr = EDSRTrunk(cfg.bands + 1, f, n)
        self.spe_lpes = nn.ModuleList([LPE(f, d) for _ in range(n)])
        self.spa_lpes = nn.ModuleList([LPE(f, d) for _ in range(n)])
        self.spe_proj = nn.Conv2d(n * d, m, 1)
        self.spa_proj = nn.Conv2d(n * d, m, 1)

    def forward(self, m_in: torch.Tensor, q_in: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """M (B,C,16,16), Q (B,C+1,64,64) -> A (B,m,16,16), B (B,m,64,64)."""
        _, t_spe = self.spe_edsr(m_in)
        _, t_spa = self.spa_edsr(q_in)
        a = self.spe_proj(torch.cat([lpe(t) for lpe, t in zip(self.spe_lpes, t_spe)], 1))
        b = self.spa_proj(torch.cat([lpe(t) for lpe, t in zip(self.spa_lpes, t_spa)], 1))
        return a, b


# --------------------------------------------------------------------------------------
# adapters
# --------------------------------------------------------------------------------------


class WeightingNet(nn.Module):
    """sigmoid(fc2(GELU(fc1(x)))), hidden width k // 4."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(k, k // 4)
        self.fc2 = nn.Linear(k // 4, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc2(F.gelu(self.fc1(x))))


class TokenFFN(nn.Module):
    """fc2(GELU(fc1(x))), both k -> k (the residual is added by the caller)."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(k, k)
        self.fc2 = nn.Linear(k, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class CTF(nn.Module):
    """Interaction module: gate the prior by the other branch, attend, FFN."""

    def __init__(self, k: int, heads: int, roles: str) -> None:
        super().__init__()
        self.roles = roles
        self.w = WeightingNet(k)
        self.attn = nn.MultiheadAttention(k, heads)
        self.ffn = TokenFFN(k)

    def forward(self, prior: torch.Tensor, other: torch.Tensor, vk: torch.Tensor) -> torch.Tensor:
        f = prior * self.w(other) + prior
        if self.roles == "released":
            f = self.attn(vk, f, f, need_weights=False)[0] + f  # q = ViT, kv = prior
        else:
            f = self.attn(f, vk, vk, need_weights=False)[0] + f  # q = prior, kv = ViT
        return f + self.ffn(f)


class CTI(nn.Module):
    """Injection module: gamma * MHA over the fused priors and the projected ViT tokens."""

    def __init__(self, k: int, heads: int, roles: str) -> None:
        super().__init__()
        self.roles = roles
        self.scale = nn.Parameter(torch.zeros(1))  # zero-init gate gamma
        self.fus = nn.Linear(2 * k, k)
        self.attn = nn.MultiheadAttention(k, heads)

    def forward(self, spe: torch.Tensor, spa: torch.Tensor, vk: torch.Tensor) -> torch.Tensor:
        u = self.fus(torch.cat([spa, spe], dim=-1))  # spatial first, then spectral
        if self.roles == "released":
            out = self.attn(u, vk, vk, need_weights=False)[0]  # q = prior, kv = ViT
        else:
            out = self.attn(vk, u, u, need_weights=False)[0]  # q = ViT, kv = prior
        return self.scale * out


class PanAdapterLayer(nn.Module):
    def __init__(self, cfg: PanAdapterConfig) -> None:
        super().__init__()
        k, h, roles = cfg.k, cfg.adapter_heads, cfg.attention_roles
        self.vit_to_k = nn.Linear(cfg.n_feats, k)
        self.k_to_vit = nn.Linear(k, cfg.n_feats)
        self.ctf_spa = CTF(k, h, roles)
        self.ctf_spe = CTF(k, h, roles)
        self.cti = CTI(k, h, roles)

    def forward(
        self, v: torch.Tensor, s_spe: torch.Tensor, s_spa: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        vk = self.vit_to_k(v)
        new_spa = self.ctf_spa(s_spa, s_spe, vk)
        new_spe = self.ctf_spe(s_spe, s_spa, vk)  # uses the old spatial tokens
        delta = self.cti(new_spe, new_spa, vk)
        return v + self.k_to_vit(delta), new_spe, new_spa


# --------------------------------------------------------------------------------------
# INR tail and the full model
# --------------------------------------------------------------------------------------


class INRTail(nn.Module):
    """1x1-conv sine MLP: in -> hidden -> sin -> hidden -> sin -> C (``net.{0,2,4}``)."""

    def __init__(self, cin: int, hidden: int, cout: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(cin, hidden, 1), Sine(), nn.Conv2d(hidden, hidden, 1), Sine(), nn.Conv2d(hidden, cout, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PanAdapter(nn.Module):
    def __init__(self, cfg: PanAdapterConfig = PRESETS["wv3"]) -> None:
        super().__init__()
        self.cfg = cfg
        c1 = cfg.bands + 1
        # ViT input stem (random, frozen)
        self.head = nn.Sequential(
            SELayer(c1, cfg.se_reduction),
            conv(c1, cfg.n_feats, 3),
            ResBlock(cfg.n_feats, 5),
            ResBlock(cfg.n_feats, 5),
        )
        self.head_down = nn.Conv2d(cfg.n_feats, cfg.n_feats, RATIO, stride=RATIO)
        self.vit = VisionTransformer(cfg)
        self.sspen = SSPEN(cfg)
        self.a_proj = nn.Linear(cfg.prior_ch, cfg.k)
        self.b_proj = nn.Linear(cfg.prior_ch * RATIO * RATIO, cfg.k)
        self.adapters = nn.ModuleList([PanAdapterLayer(cfg) for _ in range(cfg.n_adapters)])
        self.tail2 = INRTail(cfg.inr_in, cfg.inr_hidden, cfg.bands)

    # ---------------------------------------------------------------------------------
    def spectral_source(self, lms: torch.Tensor, ms: Optional[torch.Tensor]) -> torch.Tensor:
        """M: dataset ``ms`` (Q10 'ms') or bicubic 1/4 of ``lms`` ('bicubic_lms')."""
        if self.cfg.spectral_input == "bicubic_lms":
            return F.interpolate(lms, scale_factor=1.0 / RATIO, mode="bicubic", align_corners=False)
        if ms is None:
            raise ValueError("spectral_input='ms' needs the ms argument (B, C, 16, 16)")
        return ms

    def tokenise_priors(self, a: torch.Tensor, b: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """A (B,m,16,16), B (B,m,64,64) -> spe_tok, spa_tok, each (256, B, k)."""
        spe = self.a_proj(a.flatten(2).transpose(1, 2))  # (B, 256, k)
        patches = F.unfold(b, kernel_size=RATIO, stride=RATIO)  # (B, m*16, 256)
        spa = self.b_proj(patches.transpose(1, 2))  # (B, 256, k)
        return spe.transpose(0, 1), spa.transpose(0, 1)

    def decode(
        self,
        spe_tok: torch.Tensor,
        spa_tok: torch.Tensor,
        vit_tok: Optional[torch.Tensor],
        lms: torch.Tensor,
    ) -> torch.Tensor:
        """INR tail: grid-sample the token maps to 64x64, add coordinates, sine MLP, + lms."""
        cfg = self.cfg
        B = lms.shape[0]
        grid = coord_grid(cfg.patch, B, device=lms.device, dtype=spe_tok.dtype)

        def up(tok: torch.Tensor) -> torch.Tensor:
            return F.grid_sample(
                tokens_to_map(tok, cfg.img_dim), grid, mode="bilinear", padding_mode="zeros", align_corners=False
            )

        parts = [up(spe_tok), up(spa_tok), grid.permute(0, 3, 1, 2)]
        if cfg.tail_uses_vit:
            if vit_tok is None:  # stage 1 has no ViT: the ViT channels are zeros
                parts.append(spe_tok.new_zeros(B, cfg.n_feats, cfg.patch, cfg.patch))
            else:
                parts.append(up(vit_tok))
        return self.tail2(torch.cat(parts, 1)) + lms

    def forward(
        self, lms: torch.Tensor, pan: torch.Tensor, ms: Optional[torch.Tensor] = None, stage: int = 2
    ) -> torch.Tensor:
        """lms (B,C,64,64), pan (B,1,64,64), ms (B,C,16,16) -> prediction (B,C,64,64)."""
        if stage not in (1, 2):
            raise ValueError("stage must be 1 or 2")
        m_in = self.spectral_source(lms, ms)
        q_in = torch.cat([lms, pan], dim=1)  # LMS bands first, then PAN

        if stage == 1:
            a, b = self.sspen(m_in, q_in)  # gradient through EDSR heads and bodies
            spe_tok, spa_tok = self.tokenise_priors(a, b)
            return self.decode(spe_tok, spa_tok, None, lms)

        with torch.no_grad():
            a, b = self.sspen(m_in, q_in)
        spe_tok, spa_tok = self.tokenise_priors(a, b)
        streams = {"spe": spe_tok, "spa": spa_tok}

        def inject(tokens: torch.Tensor, j: int) -> torch.Tensor:
            tokens, streams["spe"], streams["spa"] = self.adapters[j](tokens, streams["spe"], streams["spa"])
            return tokens

        feat = self.head_down(self.head(q_in))  # (B, D, 16, 16)
        vit_out = self.vit.forward_with_injections(feat, inject, with_mlp_head=self.cfg.tail_uses_vit)
        return self.decode(
            streams["spe"], streams["spa"], vit_out if self.cfg.tail_uses_vit else None, lms
        )


# --------------------------------------------------------------------------------------
# stages and counting
# --------------------------------------------------------------------------------------


def stage_trainable_prefixes(stage: int) -> Tuple[str, ...]:
    """Top-level module names trained in each stage."""
    if stage == 1:
        # The stage-1 objective (spec 5.3, Q1 a) runs SSPEN -> a_proj/b_proj -> INR tail -> + LMS:
        # the projections and the tail train with it and initialise stage 2.
        return ("sspen", "a_proj", "b_proj", "tail2")
    if stage == 2:
        return ("adapters", "a_proj", "b_proj", "tail2")
    raise ValueError("stage must be 1 or 2")


def set_stage(model: PanAdapter, stage: int) -> PanAdapter:
    """Freeze everything, then unfreeze the stage's modules.

    Stage 1: all of ``sspen`` (LPE, proj, EDSR heads and bodies, single_layer), a_proj, b_proj, tail2.
    Stage 2: ``adapters``, ``a_proj``, ``b_proj``, ``tail2``.
    """
    prefixes = stage_trainable_prefixes(stage)
    for name, p in model.named_parameters():
        p.requires_grad_(name.split(".", 1)[0] in prefixes)
    return model


def count_params(module: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
