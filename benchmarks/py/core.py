"""PyTorch side of benchmarks/core.mjs: the same measurements, printed as JSON."""
import json
import statistics
import sys
import time

import numpy as np
import torch

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)


def time_it(fn, reps, inner):
    for _ in range(min(3, reps)):
        fn()
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
    return statistics.median(samples)


a = torch.tensor([1.0])
b = torch.tensor([2.0])
op = time_it(lambda: a + b, 15, 2000)

n = 64 * 2**20 // 4
big = (np.arange(n) % 1000).astype(np.float32)
copy_in = time_it(lambda: torch.from_numpy(big).clone(), 15, 1)  # a copy, as specfuse makes
t = torch.from_numpy(big).clone()
copy_out = time_it(lambda: t.numpy().copy(), 15, 1)  # numpy() alone is a view: copy to match
print(json.dumps({"op_sec": op, "in_sec": copy_in, "out_sec": copy_out, "torch": torch.__version__}))
