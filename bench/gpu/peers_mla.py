# Same-call peers of attnc's MLA decode (attnc.bench.gpu.DecodeCheck mla-time) on the lent GPU, on its shapes: DeepSeek's
# absorbed MLA, one latent head of D = 576 whose first Dv = 512 columns are V, H query heads, one query at the end of Nkv
# keys, bf16, no mask. FlashMLA is not installed there; the peers are what PyTorch offers: eager attention over the one
# cache (two batched matmuls and an fp32 softmax, V the view of K), and FlexAttention (compiled) with the H heads as a GQA
# group of the latent head. GB/s count the cache read once (B * Nkv * 576 * 2 bytes), TFLOP/s 2 * B * H * Nkv * (576 + 512).
# Usage: [SHAPES="64,16,4096;..."] python3 peers_mla.py   (writes $OUT/peers_mla.json)
import json, os
import torch
from peer_timing import median_ms
from torch.nn.attention.flex_attention import flex_attention

print("torch", torch.__version__, torch.cuda.get_device_name(0), flush=True)
torch._dynamo.config.cache_size_limit = 64
flex = torch.compile(flex_attention, dynamic=False)
D, DV = 576, 512
given = os.environ.get("SHAPES", "")
shapes = [tuple(int(x) for x in s.split(",")) for s in given.split(";")] if given.strip() else \
    [(64, 16, 4096), (16, 16, 32768), (128, 16, 1024), (64, 128, 4096), (16, 128, 32768), (132, 64, 2048)]

def eager(q, cache, scale):
    # q [B, H, D], cache [B, Nkv, D]: scores [B, H, Nkv] in fp32, weights back to bf16 for the second product.
    s = torch.matmul(q, cache.transpose(1, 2)).float() * scale
    return torch.matmul(torch.softmax(s, dim=-1).to(cache.dtype), cache[:, :, :DV])

rows = []
for b, h, nkv in shapes:
    cache = torch.randn(b, 1, nkv, D, device="cuda", dtype=torch.bfloat16)
    q = torch.randn(b, h, 1, D, device="cuda", dtype=torch.bfloat16)
    scale = D ** -0.5
    t = {"eager": median_ms(lambda: eager(q[:, :, 0], cache[:, 0], scale)),
         "flex": median_ms(lambda: flex(q, cache, cache[..., :DV], enable_gqa=True, scale=scale))}
    for name, ms in t.items():
        gbs = None if ms is None else b * nkv * D * 2 / ms / 1e6
        tflops = None if ms is None else 2 * b * h * nkv * (D + DV) / ms / 1e9
        rows.append({"peer": name, "B": b, "H": h, "Nkv": nkv, "ms": ms, "gbs": gbs, "tflops": tflops})
        print(f"{name:6s} B={b:4d} H={h:4d} Nkv={nkv:6d}  " + ("-" if ms is None else f"{ms:8.4f} ms {gbs:7.0f} GB/s {tflops:6.1f} TFLOP/s"), flush=True)
    del cache, q
json.dump(rows, open(os.path.join(os.environ.get("OUT", "."), "peers_mla.json"), "w"), indent=1)
