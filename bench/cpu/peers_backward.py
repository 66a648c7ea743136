# PyTorch CPU peers of the JVM backward: reads the TSV `bench/run --backward --tsv FILE` (or the
# bundle's CpuBench --backward --tsv FILE) wrote (pattern, n, d, threads, attnc's forward, backward and
# q/k/v-only backward in ms) and times, on the same shapes (B = 1, H = 16, fp32, inputs drawn here
# as Workload.java defines them: document ids kv * 8 // N, ALiBi slopes 2^(-8(i+1)/H)), the
# backward of PyTorch's SDPA (dense and causal flags, the other masks as a boolean attn_mask, ALiBi
# as a float one) and of FlexAttention compiled for the CPU, at the TSV's thread count: median of
# `o.backward(g, retain_graph=True)`. Prints one table with the ratios; a peer that cannot run a
# case says why. The peers' ALiBi slopes are constants, so attnc's column for them is q/k/v only.
# Usage: python3 bench/cpu/peers_backward.py TSV
import csv, sys, time
import torch
import torch.nn.functional as F

torch._dynamo.config.cache_size_limit = 256
if hasattr(torch._dynamo.config, "recompile_limit"):
    torch._dynamo.config.recompile_limit = 256
from torch.nn.attention.flex_attention import create_block_mask, flex_attention

flex = torch.compile(flex_attention, dynamic=False)
H = 16


def median_seconds(f, reps=5, warmup=2):
    for _ in range(warmup):
        f()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[reps // 2]


def pattern(name, n):
    """mask_mod, score_mod, SDPA's (is_causal, attn_mask) of a case, as Workload.java defines it."""
    q = torch.arange(n)[:, None]
    kv = torch.arange(n)[None, :]
    causal = lambda b, h, qi, ki: qi >= ki
    slope = torch.tensor([2 ** (-8 * (i + 1) / H) for i in range(H)])
    if name == "dense":
        return None, None, (False, None)
    if name == "causal":
        return causal, None, (True, None)
    if name == "sliding_window":
        return (lambda b, h, qi, ki: (qi >= ki) & (qi - ki < 1024)), None, (False, (q >= kv) & (q - kv < 1024))
    if name == "document":
        doc = torch.arange(n) * 8 // n
        return (lambda b, h, qi, ki: doc[qi] == doc[ki]), None, (False, doc[:, None] == doc[None, :])
    if name == "softcap":
        return None, (lambda s, b, h, qi, ki: 30.0 * torch.tanh(s / 30.0)), None
    if name == "alibi":
        bias = (-slope[:, None, None] * (q - kv)).masked_fill(~(q >= kv), float("-inf"))[None]
        return causal, (lambda s, b, h, qi, ki: s - slope[h] * (qi - ki)), (False, bias)
    raise ValueError(name)


def backward_ms(forward, q, k, v, g):
    o = forward()
    return median_seconds(lambda: o.backward(g, retain_graph=True)) * 1e3


def main():
    rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
    print(f"torch {torch.__version__}; median of 5 after 2 warm-ups; B=1 H=16 fp32; backward only")
    print("| case | threads | attnc bwd ms | attnc q/k/v-only ms | SDPA bwd ms | Flex bwd ms | attnc / SDPA | attnc / Flex |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        name, n, d, threads = row["pattern"], int(row["n"]), int(row["d"]), int(row["threads"])
        torch.set_num_threads(threads)
        gen = torch.Generator().manual_seed(0)
        q, k, v = [(torch.rand(1, H, n, d, generator=gen) * 2 - 1).requires_grad_() for _ in range(3)]
        g = torch.rand(1, H, n, d, generator=gen) * 2 - 1
        mask_mod, score_mod, sdpa = pattern(name, n)
        sdpa_ms = flex_ms = "–"
        if sdpa is not None:
            is_causal, mask = sdpa
            try:
                sdpa_ms = backward_ms(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal), q, k, v, g)
            except Exception as e:  # a peer that cannot run a case says why and the table goes on
                sdpa_ms = f"failed: {type(e).__name__}: {str(e)[:60]}"
        try:
            block_mask = create_block_mask(mask_mod, None, None, n, n, device="cpu", BLOCK_SIZE=128) if mask_mod else None
            flex_ms = backward_ms(lambda: flex(q, k, v, score_mod=score_mod, block_mask=block_mask), q, k, v, g)
        except Exception as e:
            flex_ms = f"failed: {type(e).__name__}: {str(e)[:60]}"
        # The peers compute q, k and v's gradients only (ALiBi's slopes are constants to them).
        ours = float(row["bwd_qkv_ms"] if name == "alibi" else row["bwd_ms"])
        ratio = lambda peer: f"{peer / ours:.2f}×" if isinstance(peer, float) else "–"
        fmt = lambda ms: f"{ms:.1f}" if isinstance(ms, float) else ms
        print(f"| {name} N={n} D={d} | {threads} | {float(row['bwd_ms']):.1f} | {float(row['bwd_qkv_ms']):.1f} | {fmt(sdpa_ms)} | {fmt(flex_ms)} "
              f"| {ratio(sdpa_ms)} | {ratio(flex_ms)} |", flush=True)


if __name__ == "__main__":
    main()
