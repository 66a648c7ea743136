"""Three calls of SDPA's cuDNN (or flash) forward on random bf16 inputs, for ncu to profile the last.

Usage: python3 bench/gpu/probes/sdpa_once.py B H N D [cudnn|flash] [causal]
e.g.   ncu -k 'regex:(?i)(sdpa|fprop|flash)' --launch-skip 2 --launch-count 1 --section SpeedOfLight ... \\
           python3 bench/gpu/probes/sdpa_once.py 2 16 8192 128 cudnn
"""
import sys
import torch
from torch.nn.attention import sdpa_kernel, SDPBackend

b, h, n, d = (int(x) for x in sys.argv[1:5])
backend = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION}[sys.argv[5] if len(sys.argv) > 5 else "cudnn"]
causal = len(sys.argv) > 6 and sys.argv[6] == "causal"
q, k, v = (torch.randn(b, h, n, d, device="cuda", dtype=torch.bfloat16) for _ in range(3))
with sdpa_kernel(backend):
    for _ in range(3):
        torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
torch.cuda.synchronize()
print("done", b, h, n, d, sys.argv[5:] or ["cudnn"])
