"""Print the golden state-dict layout of the PanAdapter reference as JSON.

    python dump_names.py PRESET [--bands N] [--tail-uses-vit]

Output: {"preset", "bands", "tail_uses_vit", "tensors": [[name, shape, is_buffer], ...]
(state_dict order), "counts": {...}}. The model is built on the meta device, so even
the full presets take no memory or time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from panadapter import PRESETS, PanAdapter, count_params, preset, set_stage  # noqa: E402


def layout(model: torch.nn.Module):
    buffers = {name for name, _ in model.named_buffers()}
    return [[name, list(t.shape), name in buffers] for name, t in model.state_dict().items()]


def counts(model: PanAdapter, tensors) -> dict:
    n_buf = sum(1 for t in tensors if t[2])
    out = {
        "state_dict_tensors": len(tensors),
        "parameter_tensors": len(tensors) - n_buf,
        "buffer_tensors": n_buf,
        "params_total": count_params(model),
        "modules": {name: count_params(m) for name, m in model.named_children()},
    }
    for stage in (1, 2):
        set_stage(model, stage)
        out[f"stage{stage}_trainable"] = count_params(model, trainable_only=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("preset", choices=sorted(PRESETS))
    ap.add_argument("--bands", type=int, default=None)
    ap.add_argument("--tail-uses-vit", action="store_true")
    args = ap.parse_args(argv)

    cfg = preset(args.preset, bands=args.bands, tail_uses_vit=args.tail_uses_vit)
    with torch.device("meta"):
        model = PanAdapter(cfg)
    tensors = layout(model)
    json.dump(
        {
            "preset": args.preset,
            "bands": cfg.bands,
            "tail_uses_vit": cfg.tail_uses_vit,
            "tensors": tensors,
            "counts": counts(model, tensors),
        },
        sys.stdout,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
