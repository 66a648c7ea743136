# The peers of the GPU backward on the lent GPU: FlexAttention (compiled) and SDPA's
# FlashAttention-2 and cuDNN backends, backward only (the forward's graph kept), on the shapes
# and patterns attnc.bench.gpu.BackwardCheck times in the same device call (bench/gpu/patterns:
# softcap is dense, ALiBi causal). PATTERNS="softcap alibi" limits the run.
# TFLOP/s = 2.5 * 2*B*H*N*N*(D + Dv)*visible / time (4*B*H*N*N*D where Dv = D), as FlashAttention counts the backward.
# Usage: [SHAPES="2,16,8192,192,128"] python3 peers_backward.py   (B,H,N,D[,Dv] separated by ';'; writes $OUT/peers_backward.json)
import json, os
import torch
from triton.testing import do_bench
from torch.nn.attention import sdpa_kernel, SDPBackend
from torch.nn.attention.flex_attention import flex_attention, create_block_mask
from bench_patterns import extras, mask_mod, score_mod, visible

print("torch", torch.__version__, torch.cuda.get_device_name(0), flush=True)
torch._dynamo.config.cache_size_limit = 256
if hasattr(torch._dynamo.config, "recompile_limit"): torch._dynamo.config.recompile_limit = 256
flex = torch.compile(flex_attention, dynamic=False)
SHAPES = [tuple(int(x) for x in t.split(",")) for t in os.environ["SHAPES"].split(";")] if os.environ.get("SHAPES") else [(4, 16, 4096, 64), (2, 16, 8192, 128)]
PATTERNS = os.environ.get("PATTERNS", "dense causal sliding_window document softcap alibi").split()

def bench(make):
    try:
        o, g = make()
        fn = lambda: o.backward(g, retain_graph=True)
        fn(); torch.cuda.synchronize()
        return do_bench(fn, warmup=20, rep=100, return_mode="median")
    except Exception as ex:
        print("   failed:", type(ex).__name__, str(ex)[:160], flush=True); return None

rows = []
for shape in SHAPES:
    B, H, N, D = shape[:4]
    DV = shape[4] if len(shape) > 4 else D
    q, k = [torch.randn(B, H, N, D, device="cuda", dtype=torch.bfloat16, requires_grad=True) for _ in range(2)]
    v = torch.randn(B, H, N, DV, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    g = torch.randn(B, H, N, DV, device="cuda", dtype=torch.bfloat16)
    for p in PATTERNS:
        e = extras(p, B, H, N)
        vis = visible(p, e, B, N)
        flops = 2.5 * 2 * B * H * N * N * (D + DV) * vis
        mm, sm = mask_mod(p, e), score_mod(p, e)
        bm = create_block_mask(mm, B if p == "document" else None, None, N, N, device="cuda") if mm else None
        t = {"flex": bench(lambda: (flex(q, k, v, score_mod=sm, block_mask=bm), g))}
        if p in ("dense", "causal"):
            for name, be in (("sdpa-flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)):
                def make(be=be):
                    with sdpa_kernel(be): return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=(p == "causal")), g
                t[name] = bench(make)
        for name, ms in t.items():
            tf = None if ms is None else flops / ms / 1e9
            rows.append({"pattern": p, "B": B, "H": H, "N": N, "D": D, "Dv": DV, "visible": vis, "peer": name, "ms": ms, "tflops": tf})
            print(f"{p:16s} {B},{H},{N},{D}{'' if DV == D else '/' + str(DV)}  vis {vis:.4f}  {name:10s} {'-' if ms is None else f'{ms:8.3f} ms {tf:7.1f} TFLOP/s'}", flush=True)
json.dump(rows, open(os.path.join(os.environ.get("OUT", "."), "peers_backward.json"), "w"), indent=1)
