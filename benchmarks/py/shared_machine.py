"""PyTorch (Python) worker of benchmarks/shared-machine.mjs: one training or inference loop of the
same model, weights, batch and precision as the specfuse worker, for a fixed time, as PyTorch users
run it (eager, fp32, torch's default thread count). Prints one JSON line.

  python shared_machine.py init  MODEL OUT.pt                     seeded weights for both sides (panadapter)
  python shared_machine.py run   MODEL WEIGHTS CASE BATCH SECONDS time the loop, print JSON

MODEL: panadapter (the tiny preset, stage 2 when training) or fusionnet (a DLPan-Toolbox CNN, 8 bands).
"""
import json
import os
import statistics
import sys
import time

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "test", "pyref"))
sys.path.insert(0, os.path.join(here, "..", "..", "test", "cnn", "fixtures"))


def build(model_name, weights=None):
    torch.manual_seed(0)
    if model_name == "panadapter":
        from panadapter import PanAdapter, preset

        model = PanAdapter(preset("tiny"))
    else:
        from dlpan_ref import FusionNet

        model = FusionNet(8)
    if weights:
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
    return model


def forward(model_name, model, lms, pan, ms, stage):
    return model(lms, pan, ms, stage=stage) if model_name == "panadapter" else model(lms, pan, ms)


def main():
    cmd, model_name = sys.argv[1], sys.argv[2]
    if cmd == "init":
        torch.save({k: v.contiguous() for k, v in build(model_name).state_dict().items()}, sys.argv[3])
        return
    weights, case, batch, seconds = sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6])
    model = build(model_name, weights)
    bands = 8 if model_name == "fusionnet" else model.cfg.bands
    g = torch.Generator().manual_seed(1)
    lms, pan = torch.rand(batch, bands, 64, 64, generator=g), torch.rand(batch, 1, 64, 64, generator=g)
    ms, gt = torch.rand(batch, bands, 16, 16, generator=g), torch.rand(batch, bands, 64, 64, generator=g)
    times = []
    if case == "train":
        stage = 2
        if model_name == "panadapter":
            from panadapter import set_stage

            set_stage(model, stage)
        model.train()
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-5)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(forward(model_name, model, lms, pan, ms, stage), gt)
            loss.backward()
            opt.step()
            loss.item()

    else:
        model.eval()

        def step():
            with torch.inference_mode():
                forward(model_name, model, lms, pan, ms, 2).cpu()

    for _ in range(3):
        step()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 5:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"samplesPerSecond": batch / statistics.median(times), "steps": len(times), "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
