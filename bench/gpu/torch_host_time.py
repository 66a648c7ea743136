"""The host's time per call of an exported package's op, where the GPU is never the bottleneck (B = 1,
H = 2, N = 256, D = 64): sliding window forward+backward and a forward with grad on, PyTorch SDPA's
forward+backward for scale, and a dense decode step (B = 8, H = 32, Hkv = 8, Nq = 1, Nkv = 4096,
D = 128), each through the op (ATTNC_TORCH_EAGER=0) and the eager path. Each is timed three ways
over 200 calls after 30: queued (host wall, one synchronisation at the end), synchronised after
every call, and CUDA events around the queue; then torch.profiler's tables (CPU and device time
by op) for 20 calls of the forward+backward and of the decode step.
Usage (on the GPU machine, packages exported with `attnc export ... --target torch -o PKGS`, for
bench/gpu/patterns/sliding_window.attn and dense.attn):
    python3 bench/gpu/torch_host_time.py PKGS
"""
import importlib
import os
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, sys.argv[1])
dev = "cuda"
sliding = importlib.import_module("sliding_window_attention")
dense = importlib.import_module("dense_attention")
B, H, N, D = 1, 2, 256, 64
q, k, v = [torch.randn(B, H, N, D, device=dev, dtype=torch.bfloat16, requires_grad=True) for _ in range(3)]
dout = torch.randn(B, H, N, D, device=dev, dtype=torch.bfloat16)
qd = torch.randn(8, 32, 1, 128, device=dev, dtype=torch.bfloat16)
kd, vd = [torch.randn(8, 8, 4096, 128, device=dev, dtype=torch.bfloat16) for _ in range(2)]


def step():
    q.grad = k.grad = v.grad = None
    sliding.attention(q, k, v, window=1024).backward(dout)


def forward_with_grad():
    sliding.attention(q, k, v, window=1024)


def sdpa_step():
    q.grad = k.grad = v.grad = None
    torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).backward(dout)


def decode():
    with torch.no_grad():
        dense.attention(qd, kd, vd)


def timed(name, fn):
    for _ in range(30):
        fn()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(200):
        fn()
    queued = (time.perf_counter() - t) / 200
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(200):
        fn()
        torch.cuda.synchronize()
    synced = (time.perf_counter() - t) / 200
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(200):
        fn()
    end.record()
    torch.cuda.synchronize()
    print(f"{name:18s} host queued {queued * 1e6:8.1f} us | with sync each {synced * 1e6:8.1f} us | events {start.elapsed_time(end) / 200 * 1e3:8.1f} us",
          flush=True)


# Each of the package's calls through its custom op (ATTNC_TORCH_EAGER=0, as torch.compile runs it) and its eager path.
for name, fn in (("fwd+bwd", step), ("fwd(grad on)", forward_with_grad), ("decode 4K", decode)):
    os.environ["ATTNC_TORCH_EAGER"] = "0"
    timed(name + " op", fn)
    del os.environ["ATTNC_TORCH_EAGER"]
    timed(name + " eager", fn)
timed("sdpa fwd+bwd", sdpa_step)
for name, fn in (("fwd+bwd", step), ("decode 4K", decode)):
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(20):
            fn()
        torch.cuda.synchronize()
    print("==", name)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=22, max_name_column_width=60))
    print(prof.key_averages().table(sort_by="self_device_time_total", row_limit=12, max_name_column_width=60))
