"""Where the package's eager decode step spends its host time (issue 17): B=8, H=32, Hkv=8, D=128, Nq=1,
Nkv=4096 through pkg.attention under no_grad, 300 warm calls, then cProfile over 500. argv[1]: package dir."""
import cProfile, importlib, os, pstats, sys
import torch
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoststep import host_and_wall
pkg = importlib.import_module("dense_attention")
B, H, Hkv, D, Nkv = 8, 32, 8, 128, 4096
dev = torch.device("cuda")
q = torch.randn(B, H, 1, D, device=dev, dtype=torch.bfloat16)
k, v = [torch.randn(B, Hkv, Nkv, D, device=dev, dtype=torch.bfloat16) for _ in range(2)]
with torch.no_grad():
    for _ in range(300):
        pkg.attention(q, k, v)
    host, wall = host_and_wall(lambda: pkg.attention(q, k, v), 500)
    print(f"host {host * 1e6:.1f} us a call, wall {wall * 1e6:.1f} us a call (500 calls)")
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(500):
        pkg.attention(q, k, v)
    prof.disable()
    torch.cuda.synchronize()
pstats.Stats(prof).sort_stats("tottime").print_stats(30)
