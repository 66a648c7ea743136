"""What do_bench's L2 flush costs the kernel timed after it.

do_bench writes zeros over 256 MiB before each run, so the run starts with L2 full of dirty lines,
and the kernel's reads evict them: their write-back to HBM falls inside the timed interval. This
times the same calls after that flush ("dirty") and after the same flush followed by a read of
another 512 MiB ("clean": the write-back happens before the start event, and L2 holds clean lines),
median of 200 runs each, CUDA events around the call alone. Calls: SDPA's cuDNN decode (B=8, H=32,
Hkv=8, D=128, bf16, Nq=1) and a plain read of the same K and V (torch.sum over both), at Nkv 4K
and 32K. Usage: python3 bench/gpu/probes/flush.py
"""
import statistics
import torch
from torch.nn.attention import sdpa_kernel, SDPBackend

B, H, HKV, D = 8, 32, 8, 128
dirty = torch.empty(256 << 20, dtype=torch.int8, device="cuda")
other = torch.ones(512 << 20, dtype=torch.int8, device="cuda")


def timed(fn, clean, runs=200):
    for _ in range(20): fn()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
    stops = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
    for i in range(runs):
        dirty.zero_()
        if clean: other.sum(dtype=torch.int32)
        starts[i].record(); fn(); stops[i].record()
    torch.cuda.synchronize()
    return statistics.median(s.elapsed_time(e) for s, e in zip(starts, stops))


for nkv in (4096, 32768):
    k, v = [torch.randn(B, HKV, nkv, D, device="cuda", dtype=torch.bfloat16) for _ in range(2)]
    q = torch.randn(B, H, 1, D, device="cuda", dtype=torch.bfloat16)
    gb = 2 * B * HKV * nkv * D * 2 / 1e9

    def cudnn():
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION): return torch.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=True)

    def read():
        return k.sum(dtype=torch.float32) + v.sum(dtype=torch.float32)

    for name, fn in (("cudnn", cudnn), ("read K, V", read)):
        d, c = timed(fn, False), timed(fn, True)
        print(f"{name:10s} Nkv={nkv:6d}  dirty {d:.4f} ms ({gb / d * 1e3:5.0f} GB/s)  clean {c:.4f} ms ({gb / c * 1e3:5.0f} GB/s)  dirty - clean {1e3 * (d - c):5.1f} us", flush=True)
