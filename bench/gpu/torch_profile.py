"""Where an exported torch package's forward + backward spends its GPU time, kernel by kernel
(torch.profiler, CUDA activity): python3 bench/gpu/torch_profile.py PACKAGES_DIR [pattern[:window] ...].
Defaults to the sliding window (window 1024) and causal packages at B=4, H=16, N=4096, D=64."""
import importlib
import sys

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, sys.argv[1])
for spec in sys.argv[2:] or ["sliding_window:1024", "causal"]:
    name, _, window = spec.partition(":")
    pkg = importlib.import_module(name + "_attention")
    q, k, v = [torch.randn(4, 16, 4096, 64, device="cuda", dtype=torch.bfloat16, requires_grad=True) for _ in range(3)]
    params = {"window": int(window)} if window else {}

    def step():
        o = pkg.attention(q, k, v, **params)
        o.backward(torch.ones_like(o))

    for _ in range(5):
        step()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(10):
            step()
        torch.cuda.synchronize()
    print("==", spec, "(10 steps)")
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=14, max_name_column_width=60))
