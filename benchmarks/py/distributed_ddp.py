"""PyTorch (Python) side of benchmarks/distributed.mjs and benchmarks/nccl.mjs: one rank of
PanAdapter training under DistributedDataParallel on Gloo, or on NCCL for DEVICE cuda (plain,
without DDP, when WORLD_SIZE is 1 unless DDP is "ddp"), the same weights (benchmarks/py/panadapter.py
init), per-rank batch, stage and intra-op threads as specfuse's ranks.

  python distributed_ddp.py PRESET WEIGHTS STAGE BATCH_PER_RANK STEPS WARMUP THREADS [DEVICE [DDP]]
  (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT in the environment, as torchrun sets them;
  DEVICE cpu (default) or cuda, which trains on cuda:LOCAL_RANK)

Prints one JSON line: median step seconds, and the seconds per step spent from the launch of each
of DDP's bucket all-reduces to its completion (they overlap with backward: not all of it is on the
critical path).
"""
import importlib.util
import json
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist

# benchmarks/py/panadapter.py (build, inputs) under another name: it imports test/pyref's panadapter
_spec = importlib.util.spec_from_file_location("bench_panadapter", os.path.join(os.path.dirname(os.path.abspath(__file__)), "panadapter.py"))
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)
build, inputs, set_stage = bench.build, bench.inputs, bench.set_stage


def main():
    preset, weights, stage, batch, steps, warmup, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
    cuda = len(sys.argv) > 8 and sys.argv[8] == "cuda"
    force_ddp = len(sys.argv) > 9 and sys.argv[9] == "ddp"
    torch.set_num_threads(threads)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    model = build(preset, weights, device)
    set_stage(model, stage)
    model.train()
    comm = [0.0]
    use_ddp = world > 1 or force_ddp
    if use_ddp:
        if cuda:
            dist.init_process_group("nccl", device_id=device)
        else:
            dist.init_process_group("cpu:gloo")
        # stage 2 leaves some trainable tensors out of the forward (stage 1's tail): DDP must be told
        ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if cuda else None, find_unused_parameters=True)

        def timed_allreduce(state, bucket):
            t0 = time.perf_counter()
            fut = dist.all_reduce(bucket.buffer().div_(world), async_op=True).get_future()

            def done(f):
                comm[0] += time.perf_counter() - t0
                return f.value()[0]
            return fut.then(done)
        ddp.register_comm_hook(None, timed_allreduce)
        fwd = ddp
    else:
        fwd = model
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-5)
    lms, pan, ms, gt = inputs(model.cfg, batch * world, device)
    lms, pan, ms, gt = (t[rank * batch:(rank + 1) * batch] for t in (lms, pan, ms, gt))
    times, comms = [], []
    for i in range(warmup + steps):
        c0 = comm[0]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        out = fwd(lms, pan, ms, stage=stage)
        loss = torch.nn.functional.mse_loss(out.float(), gt)
        loss.backward()
        opt.step()
        loss.item()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
            comms.append(comm[0] - c0)
    print(json.dumps({"rank": rank, "seconds": statistics.median(times), "commSeconds": statistics.median(comms)}), flush=True)
    if use_ddp:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
