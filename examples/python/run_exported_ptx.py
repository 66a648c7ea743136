"""Runs a kernel exported by `attnc export FILE --target ptx -o DIR` on PyTorch tensors through CuPy,
with nothing of attnc but DIR: the PTX, and the manifest whose "kernel" section (the backend's
kernel.json) says which entry to launch, the arguments in order, the launch dims, the shared
memory, and how to build the tile list. Checks the output against float32 SDPA with the
equivalent mask and prints the errors.

Usage: python3 run_exported_ptx.py DIR PATTERN [--B 2] [--H 8] [--Hkv 2] [--N 1000] [--Nq N] [--D 64]
       [--param name=value ...] [--size name=value ...]
Needs torch and cupy on a machine with an NVIDIA GPU (sm_80 or newer).
"""
import argparse, json, math, os, sys
import cupy, numpy as np, torch
from torch.nn.attention import sdpa_kernel, SDPBackend

# What each example pattern means in PyTorch, for the check only: the mask over (b, q, kv) as a
# function of torch index grids, the score hook, and how to make valid inputs. Patterns not listed
# here still run (random inputs), but are not checked.
def equivalent(pattern, params, inputs):
    causal = lambda b, q, k: q >= k
    table = {
        "dense": (lambda b, q, k: torch.ones_like(q >= k), None),
        "causal": (causal, None),
        "sliding_window": (lambda b, q, k: (q >= k) & (q - k < params.get("window", 0)), None),
        "document": (lambda b, q, k: (q >= k) & (inputs["doc"][b, q] == inputs["doc"][b, k]), None),
        "softcap": (causal, lambda s: params["cap"] * torch.tanh(s / params["cap"])),
    }
    return table.get(pattern)

def make_input(spec, sizes, pattern, gen):
    # Dimensions are attnc expressions over sizes ("B", "(Nkv + 64 - 1) / 64"); attnc's integer / is floored, Python's //.
    shape = [int(eval(d.replace("/", "//"), {"__builtins__": {}}, dict(sizes))) for d in spec["shape"]]
    if pattern == "document" and spec["name"] == "doc":
        # Sorted ids: packed documents of random lengths, as in FlexAttention's document mask.
        return torch.randint(0, 8, shape, device="cuda", generator=gen, dtype=torch.int32).sort(dim=-1).values.contiguous()
    dtype = {"int32": torch.int32, "float32": torch.float32, "bool": torch.bool}[spec["dtype"]]
    if dtype == torch.float32: return torch.randn(shape, device="cuda", generator=gen)
    if dtype == torch.bool: return torch.rand(shape, device="cuda", generator=gen) < 0.5
    return torch.randint(0, 8, shape, device="cuda", generator=gen, dtype=torch.int32)

def param_values(manifest, overrides):
    values = {}
    for p in manifest["params"]:
        text = overrides.get(p["name"], p.get("default"))
        if text is None: sys.exit(f"param '{p['name']}' has no default: pass --param {p['name']}=VALUE")
        values[p["name"]] = {"int": int, "float": float, "bool": lambda t: t == "true"}[p["type"]](text)
    return values

class ExportedKernel:
    """One head dim's PTX module and the launch rules of kernel.json."""
    def __init__(self, directory, manifest, head_dim):
        self.k = manifest["kernel"]
        # The sm_80 (mma.sync) variants take plain pointers; the sm_90a ones also take TMA tensor maps,
        # which this example does not build (variants[].tensor_maps says how).
        variants = [v for v in self.k["variants"] if v["head_dim"] == head_dim and v.get("arch", "sm_80") == "sm_80"]
        if not variants: sys.exit(f"no exported variant for D={head_dim}; have {[v['head_dim'] for v in self.k['variants']]}")
        self.v = variants[0]
        module = cupy.RawModule(path=os.path.join(directory, self.v["file"]))
        self.attention = module.get_function(self.k["entry"])
        self.attention.max_dynamic_shared_size_bytes = self.v["shared_bytes"]
        tiles = self.k["tile_list"]
        self.classifier = module.get_function(tiles["classifier"]["entry"]) if tiles["builder"] == "classifier" else None

    def __call__(self, q, k, v, inputs, params, sizes):
        B, H, Nq, _ = q.shape
        Hkv, Nkv = k.shape[1], k.shape[2]
        tl = self.k["tile_list"]
        query_blocks, kv_tiles = -(-Nq // self.v["block_m"]), -(-Nkv // self.v["block_n"])
        slots_b, slots_h = (B if tl["per_batch"] else 1), (H if tl["per_head"] else 1)
        out = torch.full((B, H, Nq, v.shape[-1]), float("nan"), device="cuda", dtype=torch.bfloat16)
        lse = torch.empty(B, H, Nq, device="cuda", dtype=torch.float32) if self.k["writes_lse"] else None
        tiles = torch.zeros(slots_b * slots_h * query_blocks * (kv_tiles + 1), device="cuda", dtype=torch.int32)
        values = {"p_q": q, "p_k": k, "p_v": v, "p_out": out, "p_lse": lse, "p_pre_out": None, "p_tiles": tiles,
                  "p_B": B, "p_H": H, "p_Hkv": Hkv, "p_Nq": Nq, "p_Nkv": Nkv, "p_query_offset": Nkv - Nq,
                  "p_kv_tiles": kv_tiles, "p_slots_h": slots_h, "p_slot_stride_b": slots_h if slots_b > 1 else 0,
                  "p_slot_stride_h": 1 if slots_h > 1 else 0}
        values.update({"p_in_" + n: t for n, t in inputs.items()})
        values.update({"p_size_" + n: s for n, s in sizes.items()})
        values.update({"p_param_" + n: x for n, x in params.items()})
        args = []
        for a in self.k["arguments"]:
            x = values[a["name"]]
            if a["type"] == "u64": args.append(np.uint64(0 if x is None else x.data_ptr()))
            elif a["type"] == "f32": args.append(np.float32(x))
            else: args.append(np.int32(x))
        args = tuple(args)
        if self.classifier is not None:
            c = tl["classifier"]
            self.classifier((query_blocks, slots_b * slots_h, 1), tuple(int(x) for x in c["block"]), args)
        else:
            # Every element visible: every kv tile, FULL unless it runs past Nkv.
            row = [kv_tiles] + [t | (tl["full_bit"] if (t + 1) * self.v["block_n"] <= Nkv else 0) for t in range(kv_tiles)]
            tiles.copy_(torch.tensor(row, dtype=torch.int32).repeat(slots_b * slots_h * query_blocks))
        self.attention((query_blocks, B * H, 1), (self.v["threads"], 1, 1), args, shared_mem=self.v["shared_bytes"])
        torch.cuda.synchronize()
        return out, lse

def reference(q, k, v, mask, score):
    """float32 attention with the equivalent dense mask (GQA: K/V heads repeated)."""
    group = q.shape[1] // k.shape[1]
    qf, kf, vf = q.float(), k.float().repeat_interleave(group, 1), v.float().repeat_interleave(group, 1)
    if score is not None:
        s = score((qf @ kf.transpose(-1, -2)) / math.sqrt(q.shape[-1])).masked_fill(~mask, float("-inf"))
        return torch.softmax(s, dim=-1) @ vf
    with sdpa_kernel(SDPBackend.MATH):
        return torch.nn.functional.scaled_dot_product_attention(qf, kf, vf, attn_mask=mask)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir"); ap.add_argument("pattern")
    for n, d in [("B", 2), ("H", 8), ("Hkv", 2), ("N", 1000), ("Nq", 0), ("D", 64)]: ap.add_argument("--" + n, type=int, default=d)
    ap.add_argument("--param", action="append", default=[], help="name=value, overrides a param's default")
    ap.add_argument("--size", action="append", default=[], help="name=value, a symbolic size in an input's shape")
    a = ap.parse_args()
    manifest = json.load(open(os.path.join(a.dir, a.pattern + ".manifest.json")))
    params = param_values(manifest, dict(p.split("=", 1) for p in a.param))
    Nq = a.Nq or a.N
    extra = {n: int(x) for n, x in (s.split("=", 1) for s in a.size)}
    sizes = {"B": a.B, "H": a.H, "Hkv": a.Hkv, "Nq": Nq, "Nkv": a.N, "D": a.D, "Dv": a.D, "Q0": a.N - Nq, **extra}
    gen = torch.Generator(device="cuda").manual_seed(0)
    q = torch.randn(a.B, a.H, Nq, a.D, device="cuda", dtype=torch.bfloat16, generator=gen)
    k, v = [torch.randn(a.B, a.Hkv, a.N, a.D, device="cuda", dtype=torch.bfloat16, generator=gen) for _ in range(2)]
    inputs = {s["name"]: make_input(s, sizes, a.pattern, gen) for s in manifest["inputs"]}
    kernel = ExportedKernel(a.dir, manifest, a.D)
    out, _ = kernel(q, k, v, inputs, params, extra)
    label = f"{a.pattern} B={a.B} H={a.H} Hkv={a.Hkv} Nq={Nq} Nkv={a.N} D={a.D} ({kernel.v['file']}, {kernel.k['tile_list']['builder'].split(':')[0]} tile list)"
    eq = equivalent(a.pattern, params, inputs)
    if eq is None:
        print(f"ran  {label}: finite {bool(torch.isfinite(out).all())}; no PyTorch equivalent listed, not checked")
        return 0
    qi = torch.arange(Nq, device="cuda")[:, None] + (a.N - Nq)
    ki = torch.arange(a.N, device="cuda")[None, :]
    bi = torch.arange(a.B, device="cuda")[:, None, None]
    mask = eq[0](bi, qi[None], ki[None])[:, None]  # [B, 1, Nq, Nkv]
    ref = reference(q, k, v, mask, eq[1])
    o = out.float()
    err = (o - ref).abs()
    rel = ((o - ref).norm() / ref.norm()).item()
    # bf16 inputs are exact; P and the output are rounded to bf16 (2^-8 relative): relL2 ~2e-3 is expected.
    ok = bool(torch.isfinite(o).all()) and rel < 1e-2
    print(f"{'ok  ' if ok else 'FAIL'} {label}: max abs error {err.max().item():.2e}, mean {err.mean().item():.2e}, relL2 {rel:.2e}")
    return 0 if ok else 1

if __name__ == "__main__":
    sys.exit(main())
