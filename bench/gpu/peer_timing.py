# How the peers_*.py scripts time a peer on the lent GPU: one untimed call first (it compiles, and a
# peer that cannot run fails there, not inside the timing), then triton.testing.do_bench's median.
import torch
from triton.testing import do_bench

def median_ms(fn, warmup=20, rep=100):
    """fn's median time in ms by do_bench, or None with the reason printed when the peer fails."""
    try:
        fn(); torch.cuda.synchronize()
        return do_bench(fn, warmup=warmup, rep=rep, return_mode="median")
    except Exception as ex:
        print("   failed:", type(ex).__name__, str(ex)[:160], flush=True); return None
