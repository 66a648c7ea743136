"""Checks exported torch packages with a CPU-only torch and no GPU: each package's custom op runs on meta
tensors, forward and backward, through its fake implementations and its registered autograd formula, and
under FakeTensorMode on fake CUDA tensors (what torch.compile traces); q, k, v and every input with a
gradient get gradients of their own shapes, the others none; a q of the wrong rank is refused with the
package's message. Prints one line per package; exit 1 on a failure.

Usage: python3 torch_meta_check.py PACKAGE_DIR...
"""
import importlib
import os
import sys

import torch
from torch._subclasses.fake_tensor import FakeTensorMode

B, H, HKV, NQ, NKV, D = 2, 4, 2, 100, 130, 64
SIZES = {"B": B, "H": H, "Hkv": HKV, "Nq": NQ, "Nkv": NKV, "D": D, "Dv": D, "Q0": NKV - NQ}


def inputs(package, dtypes, device, grad):
    made = []
    for spec in package.inputs:
        t = torch.empty(tuple(spec.shape(SIZES)), dtype=dtypes[spec.dtype], device=device)
        made.append(t.requires_grad_() if grad and spec.gradient else t)
    return made


def params(package, required):
    """A value of its type for every param the call must give (the others keep their defaults)."""
    return {p.name: {"int": 1, "float": 1.0}.get(p.type, True) for p in package.params if p.default is required}


def gradient_of_its_shape(label, t):
    if t.grad is None or t.grad.shape != t.shape:
        raise AssertionError(f"{label}'s gradient is {None if t.grad is None else tuple(t.grad.shape)}, want {tuple(t.shape)}")


def check(directory):
    sys.path.insert(0, os.path.dirname(directory))
    module = importlib.import_module(os.path.basename(directory))
    package, op = module._package, module._op
    args = params(package, op.REQUIRED)

    q = torch.empty(B, H, NQ, D, device="meta", dtype=torch.bfloat16, requires_grad=True)
    k = torch.empty(B, HKV, NKV, D, device="meta", dtype=torch.bfloat16, requires_grad=True)
    v = torch.empty(B, HKV, NKV, D, device="meta", dtype=torch.bfloat16, requires_grad=True)
    ins = inputs(package, op.DTYPES, "meta", True)
    out = module.attention(q, k, v, *ins, **args)
    if (tuple(out.shape), out.dtype, out.device.type) != ((B, H, NQ, D), torch.bfloat16, "meta"):
        raise AssertionError(f"meta forward gave {tuple(out.shape)} {out.dtype} on {out.device}")
    out.float().sum().backward()
    for label, t in (("q", q), ("k", k), ("v", v)):
        gradient_of_its_shape(label, t)
    for spec, t in zip(package.inputs, ins):
        if spec.gradient:
            gradient_of_its_shape(f"input {spec.name}", t)
        elif t.grad is not None:
            raise AssertionError(f"input {spec.name} takes no gradient but got one")

    with FakeTensorMode():
        fq = torch.empty(B, H, NQ, D, device="cuda", dtype=torch.float16)
        fk = torch.empty(B, HKV, NKV, D, device="cuda", dtype=torch.float16)
        got = module.attention(fq, fk, fk, *inputs(package, op.DTYPES, "cuda", False), return_lse=package.kernel.writes_lse, **args)
        fo, flse = got if package.kernel.writes_lse else (got, None)
        if (tuple(fo.shape), fo.dtype, fo.device.type) != ((B, H, NQ, D), torch.float16, "cuda"):
            raise AssertionError(f"fake forward gave {tuple(fo.shape)} {fo.dtype} on {fo.device}")
        if flse is not None and tuple(flse.shape) != (B, H, NQ):
            raise AssertionError(f"fake LSE has shape {tuple(flse.shape)}, want {(B, H, NQ)}")

    try:
        module.attention(q[0], k, v, *ins, **args)
    except ValueError as e:
        if "q must be [B, H, Nq, D] (4 dims), got shape (4, 100, 64)" not in str(e):
            raise AssertionError(f"a 3-dim q was refused with {e!r}")
    else:
        raise AssertionError("a 3-dim q was not refused")
    grads = [spec.name for spec in package.inputs if spec.gradient]
    return f"ok {os.path.basename(directory)}: meta forward and backward (q, k, v{''.join(', ' + g for g in grads)}), fake CUDA forward"


def main():
    failed = False
    for directory in sys.argv[1:]:
        directory = os.path.abspath(directory)
        try:
            print(check(directory), flush=True)
        except Exception as e:
            failed = True
            print(f"FAIL {os.path.basename(directory)}: {type(e).__name__}: {e}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
