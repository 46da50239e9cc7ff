"""Self-checks of the PanAdapter reference: parameter counts, state-dict layout,
forward shapes, stage freezing and gradient flow.

    python check_counts.py [--full-forward]

Exits non-zero on the first failed assertion. ``--full-forward`` also times one
full-size WV3 stage-2 forward at batch 1 on CPU (slow).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from panadapter import PanAdapter, count_params, preset, set_stage  # noqa: E402

# Expected numbers from the reference document, section 3 (released architecture).
EXPECTED = {
    8: {
        "total": 159_802_606,
        "stage1": 3_346_496 + 6_240 + 98_400 + 449_288,  # sspen + a_proj + b_proj + tail2
        "stage2": 2_283_374,
        "modules": {
            "head": 33_227_136,
            "head_down": 5_308_992,
            "vit": 115_636_608,
            "sspen": 3_346_496,
            "a_proj": 6_240,
            "b_proj": 98_400,
            "adapters": 1_729_446,
            "tail2": 449_288,
        },
        "sub": {
            "vit.encoder": 47_837_952,
            "vit.decoder": 63_777_024,
            "vit.linear_encoding": 332_352,
            "vit.mlp_head": 2_657_088,
            "vit._query_embed": 884_736,
            "vit._position_encoding": 147_456,
            "sspen.spe_edsr": 1_637_312,
            "sspen.spe_edsr.head": 418_688,
            "sspen.spe_edsr.body": 1_181_696,
            "sspen.spe_edsr.single_layer": 36_928,
            "sspen.spa_edsr": 1_637_888,
            "sspen.spa_edsr.head": 419_264,
            "sspen.spe_lpes": 19_200,
            "sspen.spa_lpes": 19_200,
            "sspen.spe_proj": 16_448,
            "sspen.spa_proj": 16_448,
            "adapters.0": 288_241,
            "adapters.0.vit_to_k": 55_392,
            "adapters.0.k_to_vit": 55_872,
            "adapters.0.ctf_spa": 60_600,
            "adapters.0.ctf_spe": 60_600,
            "adapters.0.ctf_spa.w": 4_728,
            "adapters.0.ctf_spa.attn": 37_248,
            "adapters.0.ctf_spa.ffn": 18_624,
            "adapters.0.cti": 55_777,
            "adapters.0.cti.fus": 18_528,
        },
    },
    4: {
        "total": 159_774_954,
        "stage1": 3_341_888 + 6_240 + 98_400 + 446_980,
        "stage2": 2_281_066,
        "modules": {"head": 33_206_400, "tail2": 446_980},
        "sub": {"sspen.spe_edsr": 1_635_008, "sspen.spa_edsr": 1_635_584},
    },
}
EXPECTED_STATE_DICT_TENSORS = 819  # section 6.5; 818 parameters + 1 buffer (position_ids)

failures = []


def expected_tensor_count(cfg) -> int:
    """State-dict tensors implied by the section 6.5 layout for any config."""
    head = 2 + 2 + 4 + 4  # SE fc.0/fc.2 weights, conv, 2 ResBlocks
    vit = 2 + 4 + 1 + 10 * cfg.enc_layers + 14 * cfg.dec_layers + 2  # + pe, position_ids
    edsr = 12 + 4 * cfg.edsr_blocks + 2
    sspen = 2 * edsr + 2 * 4 * cfg.edsr_blocks + 4
    adapter = 2 + 2 + 2 * 12 + 7
    return head + 2 + vit + sspen + 4 + adapter * cfg.n_adapters + 6


def check(cond: bool, msg: str) -> None:
    print(("  ok   " if cond else "  FAIL ") + msg)
    if not cond:
        failures.append(msg)


def inputs(cfg, batch: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    s, c = cfg.patch, cfg.bands
    lms = torch.rand(batch, c, s, s, generator=g)
    pan = torch.rand(batch, 1, s, s, generator=g)
    ms = torch.rand(batch, c, cfg.img_dim, cfg.img_dim, generator=g)
    gt = torch.rand(batch, c, s, s, generator=g)
    return lms, pan, ms, gt


# --------------------------------------------------------------------------------------


def check_full(bands: int) -> None:
    name = "wv3" if bands == 8 else "qb"
    print(f"\n== full size, {bands} bands (preset {name}) ==")
    torch.manual_seed(0)
    t0 = time.time()
    model = PanAdapter(preset(name))
    print(f"  instantiated in {time.time() - t0:.1f} s")
    exp = EXPECTED[bands]
    total = count_params(model)
    print(f"  total params {total:,}")
    check(total == exp["total"], f"total == {exp['total']:,}")
    mods = dict(model.named_modules())
    for mname, n in {**exp["modules"], **exp["sub"]}.items():
        got = count_params(mods[mname])
        check(got == n, f"{mname}: {got:,} (expected {n:,})")
    for stage in (1, 2):
        set_stage(model, stage)
        got = count_params(model, trainable_only=True)
        check(got == exp[f"stage{stage}"], f"stage-{stage} trainable {got:,} ({100 * got / total:.3f}%)")
    sd = model.state_dict()
    buffers = [n for n, _ in model.named_buffers()]
    print(f"  state-dict tensors {len(sd)} (parameters {len(sd) - len(buffers)}, buffers {buffers})")
    check(len(sd) == EXPECTED_STATE_DICT_TENSORS == expected_tensor_count(model.cfg),
          f"state-dict tensors == {EXPECTED_STATE_DICT_TENSORS}")
    pid = sd["vit._position_encoding.position_ids"]
    check(pid.dtype == torch.int64 and tuple(pid.shape) == (1, 256), "position_ids int64 (1,256)")
    x = torch.rand(2, bands + 1, 8, 8)
    check(torch.equal(model.head[0](x), x * 0.5), f"SELayer({bands + 1}) == x * 0.5")
    del model, sd


def check_full_forward() -> None:
    print("\n== full size WV3 forward, batch 1, stage 2, no_grad ==")
    torch.manual_seed(0)
    cfg = preset("wv3")
    model = PanAdapter(cfg).eval()
    lms, pan, ms, _ = inputs(cfg, 1)
    with torch.no_grad():
        t0 = time.time()
        out = model(lms, pan, ms, stage=2)
        dt = time.time() - t0
    print(f"  forward {dt:.1f} s on {torch.get_num_threads()} threads")
    check(tuple(out.shape) == (1, 8, 64, 64), f"output {tuple(out.shape)}")
    check(bool(torch.isfinite(out).all()), "output finite")
    # released tail (ViT output unused), gamma != 0: the last adapter's injection path is
    # dead; the reference document counts 111,649 such parameters.
    with torch.no_grad():
        for a in model.adapters:
            a.cti.scale.fill_(0.5)
    t0 = time.time()
    dead, leaked = grad_report(model, 2, batch=1)
    params = dict(model.named_parameters())
    n_dead = sum(params[n].numel() for n in dead)
    print(f"  stage-2 forward+backward {time.time() - t0:.1f} s; zero-grad tensors {dead}")
    check(not leaked, "full size: no gradient on frozen tensors")
    check(n_dead == 111_649 and all(n.startswith("adapters.5.") for n in dead),
          f"full size gamma=0.5: dead parameters {n_dead:,} (expected 111,649, last adapter cti + k_to_vit)")


# --------------------------------------------------------------------------------------


def check_tiny_shapes() -> None:
    print("\n== tiny preset: size and forward shapes ==")
    for bands in (8, 4):
        torch.manual_seed(0)
        model = PanAdapter(preset("tiny", bands=bands))
        n = count_params(model)
        check(n < 2_000_000, f"tiny {bands} bands: {n:,} params < 2M")
        n_sd = len(model.state_dict())
        check(n_sd == expected_tensor_count(model.cfg), f"tiny {bands} bands: {n_sd} state-dict tensors")
        for stage in (1, 2):
            for batch in (1, 3):
                lms, pan, ms, _ = inputs(model.cfg, batch)
                with torch.no_grad():
                    out = model(lms, pan, ms, stage=stage)
                check(tuple(out.shape) == (batch, bands, 64, 64) and bool(torch.isfinite(out).all()),
                      f"bands {bands} stage {stage} batch {batch}: {tuple(out.shape)}")
    # variants: spectral input, attention roles, ViT features in the tail
    for over in (
        {"spectral_input": "bicubic_lms"},
        {"attention_roles": "vit_adapter"},
        {"tail_uses_vit": True},
        {"pos_every": False},
    ):
        torch.manual_seed(0)
        model = PanAdapter(preset("tiny", **over))
        lms, pan, ms, _ = inputs(model.cfg, 3)
        for stage in (1, 2):
            with torch.no_grad():
                out = model(lms, pan, None if over.get("spectral_input") else ms, stage=stage)
            check(tuple(out.shape) == (3, 8, 64, 64), f"{over} stage {stage}: {tuple(out.shape)}")
    # batch consistency: sample 1 of a batch of 3 equals the same sample alone
    torch.manual_seed(0)
    model = PanAdapter(preset("tiny"))
    with torch.no_grad():
        for cti in (a.cti for a in model.adapters):
            cti.scale.fill_(0.5)
    lms, pan, ms, _ = inputs(model.cfg, 3)
    with torch.no_grad():
        full = model(lms, pan, ms)
        one = model(lms[1:2], pan[1:2], ms[1:2])
    check(torch.allclose(full[1:2], one, atol=1e-5), "batch of 3 row 1 == batch of 1 (stage 2)")


def check_determinism() -> None:
    print("\n== deterministic init ==")
    sds = []
    for _ in range(2):
        torch.manual_seed(123)
        sds.append(PanAdapter(preset("tiny")).state_dict())
    check(all(torch.equal(sds[0][k], sds[1][k]) for k in sds[0]), "same seed -> identical state dict")
    torch.manual_seed(124)
    other = PanAdapter(preset("tiny")).state_dict()
    check(not torch.equal(sds[0]["tail2.net.0.weight"], other["tail2.net.0.weight"]), "other seed differs")


# --------------------------------------------------------------------------------------


def grad_report(model: PanAdapter, stage: int, batch: int = 2):
    """One MSE backward; returns (trainable names with zero/None grad, frozen names with grad)."""
    set_stage(model, stage)
    model.zero_grad(set_to_none=True)
    lms, pan, ms, gt = inputs(model.cfg, batch, seed=1)
    F.mse_loss(model(lms, pan, ms, stage=stage), gt).backward()
    dead, leaked = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            if p.grad is None or not bool((p.grad != 0).any()):
                dead.append(name)
        elif p.grad is not None:
            leaked.append(name)
    return dead, leaked


def expect_dead(dead, expected, label: str) -> None:
    extra, missing = sorted(set(dead) - set(expected)), sorted(set(expected) - set(dead))
    check(not extra and not missing, f"{label}: zero-grad trainable tensors as expected ({len(dead)})"
          + (f"; unexpected zero {extra}" if extra else "") + (f"; unexpectedly non-zero {missing}" if missing else ""))


def check_gradients() -> None:
    print("\n== gradient flow (tiny, batch 2, MSE) ==")
    cfg = preset("tiny")
    last = cfg.n_adapters - 1

    def names(model, prefix):
        return [n for n, _ in model.named_parameters() if n.startswith(prefix)]

    # stage 1: every SSPEN tensor except single_layer (output unused by SSPEN)
    torch.manual_seed(0)
    model = PanAdapter(cfg)
    dead, leaked = grad_report(model, 1)
    check(not leaked, "stage 1: no gradient on frozen tensors")
    expect_dead(dead, names(model, "sspen.spe_edsr.single_layer") + names(model, "sspen.spa_edsr.single_layer"),
                "stage 1 (only single_layer is dead)")
    print(f"    stage-1 zero-grad: {dead}")

    # stage 2, released init (gamma = 0)
    dead, leaked = grad_report(model, 2)
    check(not leaked, "stage 2 gamma=0: no gradient on frozen tensors")
    exp = []
    for j in range(cfg.n_adapters):
        exp += [f"adapters.{j}.k_to_vit.weight"] + [n for n in names(model, f"adapters.{j}.cti.")
                                                    if not n.endswith(".scale")]
    exp += [f"adapters.{last}.k_to_vit.bias", f"adapters.{last}.cti.scale"]
    expect_dead(dead, exp, "stage 2 gamma=0")
    print(f"    stage-2 gamma=0 zero-grad: {dead}")

    # stage 2, gamma != 0, released tail (ViT output unused): only the last adapter's
    # injection path is dead
    with torch.no_grad():
        for a in model.adapters:
            a.cti.scale.fill_(0.5)
    dead, leaked = grad_report(model, 2)
    check(not leaked, "stage 2 gamma=0.5: no gradient on frozen tensors")
    expect_dead(dead, names(model, f"adapters.{last}.cti.") + names(model, f"adapters.{last}.k_to_vit."),
                "stage 2 gamma=0.5, tail_uses_vit=False (last adapter's cti/k_to_vit dead)")
    g0 = model.adapters[0].k_to_vit.weight.grad.abs().sum().item()
    check(g0 > 0, f"adapters.0.k_to_vit gets gradient through the frozen ViT (|g| sum {g0:.3e})")

    # stage 2, gamma != 0, ViT features in the tail: every trainable tensor gets gradient
    for over in ({"tail_uses_vit": True}, {"tail_uses_vit": True, "attention_roles": "vit_adapter"}):
        torch.manual_seed(0)
        model = PanAdapter(preset("tiny", **over))
        with torch.no_grad():
            for a in model.adapters:
                a.cti.scale.fill_(0.5)
        dead, leaked = grad_report(model, 2)
        check(not leaked, f"stage 2 gamma=0.5 {over}: no gradient on frozen tensors")
        check(not dead, f"stage 2 gamma=0.5 {over}: every trainable tensor has non-zero grad"
              + (f" (zero: {dead})" if dead else ""))
        n_trainable = sum(1 for p in model.parameters() if p.requires_grad)
        print(f"    {n_trainable} trainable tensors, all non-zero")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--full-forward", action="store_true", help="also run a full-size WV3 forward and backward (slow)")
    args = ap.parse_args(argv)
    check_full(8)
    check_full(4)
    if args.full_forward:
        check_full_forward()
    check_tiny_shapes()
    check_determinism()
    check_gradients()
    print(f"\n{'FAILED: ' + str(len(failures)) if failures else 'all checks passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
