# Kernels of one attnc and one Flex training step (fwd+bwd) through torch, by CUDA time, and the wall time of a
# step (20 steps, synchronised at the end) against its GPU time: a step whose wall time passes its GPU time is the host's.
# argv[1]: package dir; argv[2]: patterns (default "sliding_window causal").
import os, sys, torch, importlib
sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else "/tmp/attnc_torch_packages"); sys.path.insert(0, "bench/gpu")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoststep import host_and_wall
from torch.profiler import profile, ProfilerActivity
from torch.nn.attention.flex_attention import flex_attention, create_block_mask
from bench_patterns import extras, mask_mod, score_mod
torch._dynamo.config.cache_size_limit = 64
flex = torch.compile(flex_attention, dynamic=False)
B, H, N, D = 4, 16, 4096, 64
q, k, v = [torch.randn(B, H, N, D, device="cuda", dtype=torch.bfloat16, requires_grad=True) for _ in range(3)]
dout = torch.randn(B, H, N, D, device="cuda", dtype=torch.bfloat16)
for p in (sys.argv[2] if len(sys.argv) > 2 else "sliding_window causal").split():
    pkg = importlib.import_module(p + "_attention")
    e = extras(p, B, H, N); params = {"window": 1024} if p == "sliding_window" else {}
    ours_in = [e[n] for n in ("doc", "slopes") if n in e]
    mm, sm = mask_mod(p, e), score_mod(p, e)
    bm = create_block_mask(mm, B if p == "document" else None, None, N, N, device="cuda") if mm else None
    for name, fwd in (("attnc", lambda: pkg.attention(q, k, v, *ours_in, **params)), ("flex", lambda: flex(q, k, v, score_mod=sm, block_mask=bm))):
        def step():
            q.grad = k.grad = v.grad = None
            fwd().backward(dout)
        for _ in range(5): step()
        host, wall = host_and_wall(step, 20)
        with profile(activities=[ProfilerActivity.CUDA, ProfilerActivity.CPU]) as prof:
            for _ in range(10): step()
            torch.cuda.synchronize()
        print(f"==== {p} {name} (10 steps): host {host * 1e6:.0f} us a step to queue, wall {wall * 1e6:.0f} us a step")
        print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=12, max_name_column_width=60))
