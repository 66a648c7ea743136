# PyTorch CPU SDPA on issue 17's decode shapes, the peer of bench/cpu/run_decode.sh's attnc table:
# B = 8, H = 32, Hkv = 8 (GQA), D = 128, fp32, Nq = 1 and 4, Nkv = 4K and 32K, dense, queries at the
# end of the keys (is_causal=False: one query sees every key; four see nearly all). Seeded random
# values of the same shapes (the time does not depend on them); GB/s count K and V once, as attnc's.
# Usage: python3 bench/cpu/peers_decode.py [THREADS]
import os, sys
import torch
import torch.nn.functional as F

from peers import median_seconds  # bench/cpu/peers.py, beside this script


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else os.cpu_count()
    torch.set_num_threads(threads)
    B, H, Hkv, D = 8, 32, 8, 128
    g = torch.Generator().manual_seed(1)
    print(f"torch {torch.__version__}, {threads} threads; median of 7 after 3 warm-ups")
    print("| Nq | Nkv | SDPA ms | SDPA GB/s |")
    print("|---:|---:|---:|---:|")
    for nq in (1, 4):
        for nkv in (4096, 32768):
            q = torch.randn(B, H, nq, D, generator=g)
            k = torch.randn(B, Hkv, nkv, D, generator=g)
            v = torch.randn(B, Hkv, nkv, D, generator=g)
            seconds = median_seconds(lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True))
            gb = 2 * B * Hkv * nkv * D * 4 / 1e9
            print(f"| {nq} | {nkv} | {seconds * 1e3:.2f} | {gb / seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
