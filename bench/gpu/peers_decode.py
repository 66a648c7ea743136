# The peers of the GPU decode path on the lent GPU: SDPA's FlashAttention and cuDNN backends and
# FlexAttention (compiled), bf16, GQA without copying K and V (enable_gqa), on the shapes
# attnc.bench.gpu.DecodeCheck times in the same device call: B=8, H=32, Hkv=8, D=128,
# Nq in {1, 4} at the end of Nkv in {4K, 32K, 128K}, no mask (Flex also bottom-right causal at Nq=4).
# GB/s = the bytes of K and V read (2 * B * Hkv * Nkv * D * 2) / time.
# Usage: [D=256] python3 peers_decode.py   (D = 128 unless given; writes $OUT/peers_decode.json, or peers_decode_dD.json)
import json, os
import torch
from peer_timing import median_ms
from torch.nn.attention import sdpa_kernel, SDPBackend
from torch.nn.attention.flex_attention import flex_attention, create_block_mask

print("torch", torch.__version__, torch.cuda.get_device_name(0), flush=True)
torch._dynamo.config.cache_size_limit = 64
flex = torch.compile(flex_attention, dynamic=False)
B, H, HKV, D = 8, 32, 8, int(os.environ.get("D", 128))

rows = []
for nkv in (4096, 32768, 131072):
    k, v = [torch.randn(B, HKV, nkv, D, device="cuda", dtype=torch.bfloat16) for _ in range(2)]
    gb = 2 * B * HKV * nkv * D * 2 / 1e9
    for nq in (1, 4):
        q = torch.randn(B, H, nq, D, device="cuda", dtype=torch.bfloat16)
        t = {}
        for name, be in (("sdpa-flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)):
            def run(be=be):
                with sdpa_kernel(be): return torch.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=True)
            t[name] = median_ms(run)
        t["flex"] = median_ms(lambda: flex(q, k, v, enable_gqa=True))
        if nq > 1:
            off = nkv - nq
            bm = create_block_mask(lambda b, h, qi, kv: qi + off >= kv, None, None, nq, nkv, device="cuda")
            t["flex causal"] = median_ms(lambda: flex(q, k, v, block_mask=bm, enable_gqa=True))
        for name, ms in t.items():
            gbs = None if ms is None else gb / ms * 1e3
            rows.append({"peer": name, "Nq": nq, "Nkv": nkv, "ms": ms, "gbs": gbs})
            print(f"{name:12s} Nq={nq} Nkv={nkv:6d}  {'-' if ms is None else f'{ms:8.4f} ms {gbs:7.0f} GB/s'}", flush=True)
    del k, v
json.dump(rows, open(os.path.join(os.environ.get("OUT", "."), "peers_decode.json" if D == 128 else f"peers_decode_d{D}.json"), "w"), indent=1)
