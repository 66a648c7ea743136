"""A small causal language model trained for a few hundred steps with an attnc pattern, and the
same model on FlexAttention: same initial weights, same batches, same optimiser; the two runs
differ only in the attention kernels, so their loss curves should agree to bf16 noise. Prints the
losses side by side, a held-out loss for each, and the time per training step of each.

The attention (lm_attention.attn beside this file): a causal window of 256 keys plus 4 sink tokens
(StreamingLLM), logits soft-capped at 30 (Gemma 2). Model: byte-level, 4 pre-norm blocks of
width 512 with 8 heads of 64 (rotary positions), tied embeddings; both models are compiled whole
with torch.compile(fullgraph=True), in bf16 autocast. Data: the bytes of the Python standard
library's own source files, which ship with every Python, so nothing is downloaded.

    ./attnc export examples/python/lm_attention.attn --target torch -o /tmp/packages
    python3 examples/python/train_lm.py --packages /tmp/packages [--steps 300] [--mode reduce-overhead] [--out DIR]

--mode is torch.compile's, for both models: the default queues each step's kernels from the host,
which at this size takes about as long as the GPU runs them; reduce-overhead replays the forward
and backward as CUDA graphs, so the step time is the kernels'.

Needs torch (2.5 or newer, for FlexAttention) and an NVIDIA GPU (sm_80 or newer).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch.nn.attention.flex_attention import create_block_mask, flex_attention

WINDOW, SINKS, CAP = 256, 4, 30.0


def corpus(limit_bytes):
    """The standard library's .py files, in a fixed order, as one uint8 tensor."""
    root = os.path.dirname(os.__file__)
    chunks, size = [], 0
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        if "site-packages" in folder or "__pycache__" in folder:
            continue
        for name in sorted(files):
            if name.endswith(".py") and size < limit_bytes:
                with open(os.path.join(folder, name), "rb") as f:
                    data = f.read()
                chunks.append(data)
                size += len(data)
    return torch.frombuffer(bytearray(b"".join(chunks)[:limit_bytes]), dtype=torch.uint8)


def rotary(n, dim, device):
    inv = 1.0 / (10000 ** (torch.arange(0, dim, 2, device=device, dtype=torch.float32) / dim))
    angles = torch.arange(n, device=device, dtype=torch.float32)[:, None] * inv[None, :]
    return angles.cos(), angles.sin()


def rotate(x, cos, sin):
    """x [B, H, N, D], rotated pairwise (first half with second half), back in x's dtype."""
    a, b = x.float().chunk(2, dim=-1)
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1).type_as(x)


class Block(torch.nn.Module):
    def __init__(self, width, heads, attend):
        super().__init__()
        self.heads, self.attend = heads, attend
        self.norm1, self.norm2 = torch.nn.RMSNorm(width), torch.nn.RMSNorm(width)
        self.qkv = torch.nn.Linear(width, 3 * width, bias=False)
        self.proj = torch.nn.Linear(width, width, bias=False)
        self.up = torch.nn.Linear(width, 4 * width, bias=False)
        self.down = torch.nn.Linear(4 * width, width, bias=False)

    def forward(self, x, cos, sin):
        B, N, W = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(B, N, 3, self.heads, W // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        o = self.attend(rotate(q, cos, sin), rotate(k, cos, sin), v)
        x = x + self.proj(o.transpose(1, 2).reshape(B, N, W))
        return x + self.down(F.gelu(self.up(self.norm2(x))))


class LM(torch.nn.Module):
    def __init__(self, attend, width=512, heads=8, layers=4, seq=2048):
        super().__init__()
        self.embed = torch.nn.Embedding(256, width)
        self.blocks = torch.nn.ModuleList([Block(width, heads, attend) for _ in range(layers)])
        self.norm = torch.nn.RMSNorm(width)
        cos, sin = rotary(seq, width // heads, "cpu")
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(self, tokens, targets):
        n = tokens.shape[1]
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x, self.cos[:n], self.sin[:n])
        logits = self.norm(x) @ self.embed.weight.t()
        return F.cross_entropy(logits.float().view(-1, 256), targets.reshape(-1))


def attnc_attention(package):
    return lambda q, k, v: package.attention(q, k, v, window=WINDOW, sinks=SINKS, cap=CAP)


def flex_attention_for(seq, device):
    mask = lambda b, h, q, kv: (q >= kv) & ((kv < SINKS) | (q - kv < WINDOW))
    score = lambda s, b, h, q, kv: CAP * torch.tanh(s / CAP)
    block_mask = create_block_mask(mask, None, None, seq, seq, device=device)
    return lambda q, k, v: flex_attention(q, k, v, score_mod=score, block_mask=block_mask)


def batches(data, steps, batch, seq, seed, device):
    g = torch.Generator().manual_seed(seed)
    starts = torch.randint(0, len(data) - seq - 1, (steps, batch), generator=g)
    offsets = torch.arange(seq + 1)
    for row in starts:
        window = data[(row[:, None] + offsets[None, :])].to(device, non_blocking=True).long()
        yield window[:, :-1], window[:, 1:]


def train(name, attend, initial, data, held_out, args, device):
    model = LM(attend, seq=args.seq).to(device)
    model.load_state_dict(initial)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1, fused=True)
    schedule = lambda step: min(1.0, (step + 1) / 30) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / args.steps)))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, schedule)
    step_fn = torch.compile(model, fullgraph=True, mode=args.mode)
    losses, times = [], []
    start = time.time()
    for step, (x, y) in enumerate(batches(data, args.steps, args.batch, args.seq, 1, device)):
        begin = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        begin.record()
        # A new step for CUDA graphs (reduce-overhead): the last step's outputs are no longer read.
        torch.compiler.cudagraph_mark_step_begin()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = step_fn(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        optimiser.zero_grad(set_to_none=True)
        scheduler.step()
        end.record()
        torch.cuda.synchronize()
        losses.append(loss.item())
        times.append(begin.elapsed_time(end))
        if step % 50 == 0:
            print(f"  {name:6s} step {step:4d} loss {losses[-1]:.4f} ({time.time() - start:.0f} s)", flush=True)
    model.eval()
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        held = []
        for x, y in batches(held_out, 20, args.batch, args.seq, 2, device):
            torch.compiler.cudagraph_mark_step_begin()
            held.append(step_fn(x, y).item())
    warm = times[min(20, len(times) // 2):]
    return {"losses": losses, "held_out": statistics.mean(held), "step_ms": statistics.median(warm),
            "first_step_s": times[0] / 1000, "wall_s": time.time() - start}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", required=True, help="the folder attnc export --target torch wrote lm_attention/ into")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=2048)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--mode", default=None, choices=[None, "default", "reduce-overhead", "max-autotune-no-cudagraphs"],
                    help="torch.compile's mode for both models (default: torch's default)")
    ap.add_argument("--out", default=".")
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.packages))
    import lm_attention

    device = torch.device("cuda")
    print("torch", torch.__version__, torch.cuda.get_device_name(0), flush=True)
    data = corpus(24 << 20)
    split = int(len(data) * 0.95)
    train_data, held_out = data[:split], data[split:]
    print(f"corpus: {len(data) / 1e6:.1f} MB of Python source; {args.steps} steps of {args.batch} x {args.seq} tokens", flush=True)
    torch.manual_seed(0)
    initial = {k: v.clone() for k, v in LM(lambda q, k, v: v, seq=args.seq).state_dict().items()}

    runs = {"attnc": train("attnc", attnc_attention(lm_attention), initial, train_data, held_out, args, device),
            "flex": train("flex", flex_attention_for(args.seq, device), initial, train_data, held_out, args, device)}
    a, f = runs["attnc"]["losses"], runs["flex"]["losses"]
    print("\n| step | attnc loss | Flex loss | difference |\n|---|---|---|---|")
    for step in list(range(0, len(a), 25)) + [len(a) - 1]:
        print(f"| {step} | {a[step]:.4f} | {f[step]:.4f} | {a[step] - f[step]:+.4f} |")
    # Smoothed over 20 steps, so that one batch's rounding does not dominate.
    smooth = lambda xs, i: statistics.mean(xs[max(0, i - 19):i + 1])
    gap = max(abs(smooth(a, i) - smooth(f, i)) for i in range(len(a)))
    print(f"\nlargest gap between the 20-step means: {gap:.4f} nats; held-out loss attnc {runs['attnc']['held_out']:.4f}, "
          f"Flex {runs['flex']['held_out']:.4f}")
    print(f"time per step (median after 20): attnc {runs['attnc']['step_ms']:.2f} ms, Flex {runs['flex']['step_ms']:.2f} ms "
          f"({runs['flex']['step_ms'] / runs['attnc']['step_ms']:.2f}x); first step (compiles) attnc {runs['attnc']['first_step_s']:.1f} s, "
          f"Flex {runs['flex']['first_step_s']:.1f} s")
    print("attnc package:", lm_attention.stats())
    with open(os.path.join(args.out, "train_lm.json"), "w") as out:
        json.dump({"args": vars(args), **runs}, out)


if __name__ == "__main__":
    main()
