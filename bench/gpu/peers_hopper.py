# The peers of the Hopper path on the lent GPU: FlexAttention (compiled, recompile limit raised),
# SDPA's FlashAttention-2 and cuDNN backends, on the shapes and patterns attnc.bench.gpu.HopperCheck
# times in the same device call. TFLOP/s = 4*B*H*N*N*D*visible / time; visible is counted from
# the dense mask of the same inputs (8 sorted document ids per sequence, ALiBi slopes 2^(-8(i+1)/H)).
# Usage: python3 peers_hopper.py   (writes $OUT/peers_hopper.json)
import json, os
import torch
from peer_timing import median_ms
from torch.nn.attention import sdpa_kernel, SDPBackend
from torch.nn.attention.flex_attention import flex_attention, create_block_mask
from bench_patterns import extras, mask_mod, score_mod, visible

print("torch", torch.__version__, torch.cuda.get_device_name(0), flush=True)
torch._dynamo.config.cache_size_limit = 256
if hasattr(torch._dynamo.config, "recompile_limit"): torch._dynamo.config.recompile_limit = 256
flex = torch.compile(flex_attention, dynamic=False)
SHAPES = [(4, 16, 4096, 64), (2, 16, 8192, 128), (1, 16, 16384, 128), (1, 16, 8192, 256)]
DIMS = os.environ.get("DIMS", "").replace(",", " ").split()  # the head dims timed, as HopperCheck's DIMS; all when empty
SHAPES = [s for s in SHAPES if not DIMS or str(s[3]) in DIMS]
PATTERNS = os.environ.get("PATTERNS", "dense causal sliding_window document softcap alibi").split()

def bench(fn): return median_ms(fn, warmup=50, rep=200)

rows = []
for (B, H, N, D) in SHAPES:
    q, k, v = [torch.randn(B, H, N, D, device="cuda", dtype=torch.bfloat16) for _ in range(3)]
    for p in PATTERNS if D < 256 else [p for p in PATTERNS if p in ("dense", "causal")]:
        e = extras(p, B, H, N)
        vis = visible(p, e, B, N)
        flops = 4 * B * H * N * N * D * vis
        mm, sm = mask_mod(p, e), score_mod(p, e)
        bm = create_block_mask(mm, B if p == "document" else None, None, N, N, device="cuda") if mm else None
        t = {"flex": bench(lambda: flex(q, k, v, score_mod=sm, block_mask=bm))}
        if p in ("dense", "causal"):
            for name, be in (("sdpa-flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)):
                def run(be=be):
                    with sdpa_kernel(be): return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=(p == "causal"))
                t[name] = bench(run)
        for name, ms in t.items():
            tf = None if ms is None else flops / ms / 1e9
            rows.append({"pattern": p, "B": B, "H": H, "N": N, "D": D, "visible": vis, "peer": name, "ms": ms, "tflops": tf})
            print(f"{p:16s} {B},{H},{N},{D}  vis {vis:.4f}  {name:10s} {'-' if ms is None else f'{ms:8.3f} ms {tf:7.1f} TFLOP/s'}", flush=True)
json.dump(rows, open(os.path.join(os.environ.get("OUT", "."), "peers_hopper.json"), "w"), indent=1)
