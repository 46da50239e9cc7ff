"""PyTorch (Python) side of benchmarks/panadapter.mjs: the same model (test/pyref/panadapter.py), the
same weights, batches, precision and device, timed the way PyTorch users run it (eager; fp32, or
torch.autocast(bfloat16) for bf16; torch.compile and channels-last as further rows).

  python panadapter.py init  PRESET OUT.safetensors          write seeded weights for both sides
  python panadapter.py flops PRESET                          counted forward/backward FLOPs per sample
  python panadapter.py run   PRESET WEIGHTS DEVICE JSON_SPEC  time the cases in JSON_SPEC, print JSON
  python panadapter.py serve PRESET WEIGHTS DEVICE            one step per request on stdin (lockstep)
"""
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "pyref"))
from panadapter import PanAdapter, preset, set_stage  # noqa: E402


def build(name, weights=None, device="cpu"):
    torch.manual_seed(0)
    model = PanAdapter(preset(name))
    if weights:
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
    return model.to(device)


def inputs(cfg, batch, device, seed=1, channels_last=False):
    g = torch.Generator(device="cpu").manual_seed(seed)
    p = cfg.patch if hasattr(cfg, "patch") else 64
    lms = torch.rand(batch, cfg.bands, 64, 64, generator=g)
    pan = torch.rand(batch, 1, 64, 64, generator=g)
    ms = torch.rand(batch, cfg.bands, 16, 16, generator=g)
    gt = torch.rand(batch, cfg.bands, 64, 64, generator=g)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return [t.to(device).contiguous(memory_format=fmt) for t in (lms, pan, ms, gt)]


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def train_step(model, stage, batch, precision, device, compiled=False, channels_last=False):
    """One timed training step as a closure (seconds): run in a loop by time_steps, or one request
    at a time by serve (lockstep)."""
    set_stage(model, stage)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-5)
    lms, pan, ms, gt = inputs(model.cfg, batch, device, channels_last=channels_last)
    fwd = torch.compile(model) if compiled else model

    def step():
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=precision == "bf16"):
            out = fwd(lms, pan, ms, stage=stage)
            loss = torch.nn.functional.mse_loss(out.float(), gt)
        loss.backward()
        opt.step()
        loss.item()  # as a training loop logging its loss does (and a sync point)
        return time.perf_counter() - t0

    return step


def infer_step(model, batch, precision, device, compiled=False, channels_last=False):
    """One timed inference call as a closure (seconds), under inference_mode."""
    model.eval()
    lms, pan, ms, _ = inputs(model.cfg, batch, device, channels_last=channels_last)
    fwd = torch.compile(model) if compiled else model

    def step():
        with torch.inference_mode():
            t0 = time.perf_counter()
            with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=precision == "bf16"):
                out = fwd(lms, pan, ms, stage=2)
            out.float().cpu()
            return time.perf_counter() - t0

    return step


def time_steps(step, device, steps, warmup):
    times = []
    for i in range(warmup + steps):
        t = step()
        if i >= warmup:
            times.append(t)
        if i == warmup - 1:
            peak_reset(device)  # steady-state peak, as on the specfuse side
    return statistics.median(times)


def case_step(model, case, device):
    """The step closure of one case of a JSON spec, the module laid out as the case asks."""
    # "channelsLast": the documented PyTorch recipe (module and inputs in torch.channels_last)
    cl = case.get("channelsLast", False)
    model.to(memory_format=torch.channels_last if cl else torch.contiguous_format)
    if case["kind"] == "train":
        return train_step(model, case["stage"], case["batch"], case["precision"], device, case.get("compiled", False), cl)
    return infer_step(model, case["batch"], case["precision"], device, case.get("compiled", False), cl)


def serve(model, device):
    """Lockstep mode: one JSON request per stdin line, one JSON answer per stdout line.
    {"case": {...}} prepares a case (answers {"ready": true}); {"step": true} runs one step of it
    (answers {"seconds": s}). The caller alternates these with its own steps, so each pair of steps
    is timed seconds apart on the same machine state."""
    hello = {**describe(device), "threads": torch.get_num_threads()}
    sys.stdout.write(json.dumps(hello) + "\n")
    sys.stdout.flush()
    step = None
    for line in sys.stdin:
        req = json.loads(line)
        if "case" in req:
            step = None  # the previous case's tensors go before the next case's are made
            step = case_step(model, req["case"], device)
            answer = {"ready": True}
        else:
            answer = {"seconds": step()}  # no peak memory: lockstep reports specfuse's only
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def describe(device):
    return {"torch": torch.__version__, "device": torch.cuda.get_device_name() if device.startswith("cuda") else "cpu"}


def peak_reset(device):
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()


def peak(device):
    return torch.cuda.max_memory_allocated() if device.startswith("cuda") else None


def main():
    cmd = sys.argv[1]
    name = sys.argv[2]
    if cmd == "init":
        # a plain torch.save state dict: specfuse reads it with its restricted unpickler
        model = build(name)
        torch.save({k: v.contiguous() for k, v in model.state_dict().items()}, sys.argv[3])
        return
    if cmd == "flops":
        from torch.utils.flop_counter import FlopCounterMode

        model = build(name)
        out = {}
        lms, pan, ms, gt = inputs(model.cfg, 1, "cpu")
        with FlopCounterMode(display=False) as fc, torch.no_grad():
            model(lms, pan, ms, stage=2)
        out["forward"] = fc.get_total_flops()
        for stage in (1, 2):
            set_stage(model, stage)
            with FlopCounterMode(display=False) as fc:
                loss = torch.nn.functional.mse_loss(model(lms, pan, ms, stage=stage), gt)
                loss.backward()
            out[f"train_stage{stage}"] = fc.get_total_flops()
            model.zero_grad(set_to_none=True)
        print(json.dumps(out))
        return
    weights, device = sys.argv[3], sys.argv[4]
    torch.backends.cudnn.benchmark = False  # eager defaults, as users run it
    model = build(name, weights, device)
    if cmd == "serve":
        serve(model, device)
        return
    spec = json.loads(sys.argv[5])
    rows = []
    for case in spec:
        peak_reset(device)
        sec = time_steps(case_step(model, case, device), device, case["steps"], case["warmup"])
        rows.append({**case, "seconds": sec, "peakBytes": peak(device)})
    print(json.dumps({**describe(device), "rows": rows}))


if __name__ == "__main__":
    main()
