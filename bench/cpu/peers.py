# PyTorch CPU peers of the JVM kernels, on the same inputs: reads what `JmhBench --npy DIR` wrote
# (DIR/<pattern>_N<n>_D<d>/{q,k,v,out}.npy, doc.npy or slope.npy where the pattern reads one, and
# DIR/attnc.tsv with attnc's JMH times), times PyTorch SDPA (dense and causal) and FlexAttention
# compiled for the CPU (every pattern) at each thread count, checks each output against attnc's,
# and prints one table with attnc's time and the ratios, in the same call.
# Usage: python3 bench/cpu/peers.py DIR [THREADS, e.g. 16 or 1,2,4,8,16]
import csv, os, sys, time
import numpy as np
import torch
import torch.nn.functional as F

torch._dynamo.config.cache_size_limit = 256
if hasattr(torch._dynamo.config, "recompile_limit"):
    torch._dynamo.config.recompile_limit = 256
from torch.nn.attention.flex_attention import create_block_mask, flex_attention

flex = torch.compile(flex_attention, dynamic=False)


def median_seconds(f, reps=7, warmup=3):
    for _ in range(warmup):
        f()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[reps // 2]


def pattern(name, folder):
    """mask_mod, score_mod and the SDPA flag of a case, as bench/src/main/java/attnc/bench/Workload.java defines it."""
    causal = lambda b, h, q, kv: q >= kv
    if name == "dense":
        return None, None, False
    if name == "causal":
        return causal, None, True
    if name == "sliding_window":
        return (lambda b, h, q, kv: (q >= kv) & (q - kv < 1024)), None, None
    if name == "document":
        doc = torch.from_numpy(np.load(os.path.join(folder, "doc.npy"))).reshape(-1).to(torch.int32)
        return (lambda b, h, q, kv: doc[q] == doc[kv]), None, None
    if name == "softcap":
        return None, (lambda s, b, h, q, kv: 30.0 * torch.tanh(s / 30.0)), None
    if name == "softcap_causal":
        return causal, (lambda s, b, h, q, kv: 30.0 * torch.tanh(s / 30.0)), None
    if name == "alibi":
        slope = torch.from_numpy(np.load(os.path.join(folder, "slope.npy")))
        return causal, (lambda s, b, h, q, kv: s - slope[h] * (q - kv)), None
    raise ValueError(name)


def main():
    root = sys.argv[1]
    threads = [int(t) for t in (sys.argv[2] if len(sys.argv) > 2 else str(os.cpu_count())).split(",")]
    rows = list(csv.DictReader(open(os.path.join(root, "attnc.tsv")), delimiter="\t"))
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs; median of 7 after 3 warm-ups; GFLOP/s of visible work")
    print("| case | threads | attnc ms | SDPA ms | Flex ms | attnc / SDPA | attnc / Flex | attnc % of peak | max abs diff (Flex vs attnc) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    done = set()
    for row in rows:
        name, n, d = row["pattern"], int(row["n"]), int(row["d"])
        folder = os.path.join(root, f"{name}_N{n}_D{d}")
        q, k, v, out = (torch.from_numpy(np.load(os.path.join(folder, f + ".npy"))) for f in ("q", "k", "v", "out"))
        mask_mod, score_mod, sdpa_causal = pattern(name, folder)
        block_mask = create_block_mask(mask_mod, None, None, n, n, device="cpu", BLOCK_SIZE=128) if mask_mod else None
        for t in threads:
            if int(row["threads"]) != t or (name, n, d, t) in done:
                continue
            done.add((name, n, d, t))
            torch.set_num_threads(t)
            sdpa = "–"
            if sdpa_causal is not None:
                sdpa = median_seconds(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=sdpa_causal)) * 1e3
            try:
                theirs = flex(q, k, v, score_mod=score_mod, block_mask=block_mask)
                diff = float((theirs - out).abs().max())
                flex_ms = median_seconds(lambda: flex(q, k, v, score_mod=score_mod, block_mask=block_mask)) * 1e3
            except Exception as e:  # a peer that cannot run a case says why and the table goes on
                diff, flex_ms = float("nan"), f"failed: {type(e).__name__}: {str(e)[:80]}"
            ours = float(row["attnc_ms"])
            ratio = lambda peer: f"{peer / ours:.2f}×" if isinstance(peer, float) else "–"
            fmt = lambda ms: f"{ms:.1f}" if isinstance(ms, float) else ms
            peak = float(row["flops"]) / (ours / 1e3) / 1e9 / float(row["peak_gflops"]) * 100
            print(f"| {name} N={n} D={d} | {t} | {ours:.1f} | {fmt(sdpa)} | {fmt(flex_ms)} | {ratio(sdpa)} | {ratio(flex_ms)} | {peak:.0f}% | {diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()
