# The benchmark patterns as the Python peers spell them, shared by peers_hopper.py and
# peers_backward.py: the same masks, score modifiers, inputs (8 sorted document ids per sequence,
# ALiBi slopes 2^(-8(i+1)/H)) and visible fractions as bench/gpu/patterns/*.attn.
import torch

WINDOW = 1024

def extras(p, B, H, N):
    g = torch.Generator(device="cuda").manual_seed(0)
    if p == "document":
        return {"doc": torch.randint(0, 8, (B, N), device="cuda", generator=g, dtype=torch.int32).sort(dim=1).values.contiguous()}
    if p == "alibi":
        return {"slopes": torch.tensor([2 ** (-8 * (i + 1) / H) for i in range(H)], device="cuda", dtype=torch.float32)}
    return {}

def mask_mod(p, e):
    if p in ("causal", "alibi"): return lambda b, h, q, k: q >= k
    if p == "sliding_window": return lambda b, h, q, k: (q >= k) & (q - k < WINDOW)
    if p == "document":
        doc = e["doc"]; return lambda b, h, q, k: doc[b, q] == doc[b, k]
    return None

def score_mod(p, e):
    if p == "softcap": return lambda s, b, h, q, k: 30.0 * torch.tanh(s / 30.0)
    if p == "alibi":
        sl = e["slopes"]; return lambda s, b, h, q, k: s - sl[h] * (q - k)
    return None

def visible(p, e, B, N):
    i = torch.arange(N, device="cuda")
    q, k = i[:, None], i[None, :]
    if p in ("causal", "alibi"): return (q >= k).float().mean().item()
    if p == "sliding_window": return ((q >= k) & (q - k < WINDOW)).float().mean().item()
    if p == "document":
        doc = e["doc"]; return sum((doc[b][:, None] == doc[b][None, :]).float().mean().item() for b in range(B)) / B
    return 1.0
