# FlexAttention's document mask on the lengths attnc.bench.gpu.RaggedCheck time drew in the same
# device call ($OUT/ragged_lengths.json): the sequences packed into one of T tokens, each token
# attending causally inside its own sequence, H=16, D=64 and 128, bf16, compiled (torch.compile),
# the block mask built once outside the timing. FLOPs as RaggedCheck counts them:
# 4 * H * D * sum N_b (N_b + 1) / 2.
# Usage: python3 peers_ragged.py   (writes $OUT/peers_ragged.json)
import json, os
import torch
from triton.testing import do_bench
from torch.nn.attention.flex_attention import flex_attention, create_block_mask

out = os.environ.get("OUT", ".")
lengths = json.load(open(os.path.join(out, "ragged_lengths.json")))
print("torch", torch.__version__, torch.cuda.get_device_name(0), "lengths", lengths, flush=True)
flex = torch.compile(flex_attention, dynamic=False)
H, T = 16, sum(lengths)
doc = torch.repeat_interleave(torch.arange(len(lengths), device="cuda"), torch.tensor(lengths, device="cuda"))
pairs = sum(n * (n + 1) // 2 for n in lengths)

def document_causal(b, h, q, kv):
    return (doc[q] == doc[kv]) & (q >= kv)

block_mask = create_block_mask(document_causal, None, None, T, T, device="cuda")
rows = []
for d in (64, 128):
    q, k, v = [torch.randn(1, H, T, d, device="cuda", dtype=torch.bfloat16) for _ in range(3)]
    try:
        flex(q, k, v, block_mask=block_mask); torch.cuda.synchronize()
        ms = do_bench(lambda: flex(q, k, v, block_mask=block_mask), warmup=20, rep=100, return_mode="median")
        tflops = 4 * H * d * pairs / ms / 1e9
        print(f"flex document D={d}: {ms:.4f} ms {tflops:.1f} TFLOP/s", flush=True)
        rows.append({"peer": "flex document", "D": d, "ms": ms, "tflops": tflops})
    except Exception as ex:
        print(f"flex document D={d}: failed: {type(ex).__name__} {str(ex)[:160]}", flush=True)
json.dump(rows, open(os.path.join(out, "peers_ragged.json"), "w"), indent=1)
