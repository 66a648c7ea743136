"""int64 document ids through the package: the same output as int32 ids, and after the first call the tile lists
reused rather than built (forward and backward), the conversion done once per ids tensor. argv[1]: packages dir."""
import sys, torch
sys.path.insert(0, sys.argv[1])
import document_attention as pkg
B, H, N, D = 2, 4, 1000, 64
g = torch.Generator(device="cuda").manual_seed(3)
q, k, v = [torch.randn(B, H, N, D, device="cuda", dtype=torch.bfloat16, generator=g, requires_grad=True) for _ in range(3)]
doc32 = torch.randint(0, 5, (B, N), device="cuda", generator=g, dtype=torch.int32).sort(dim=1).values.contiguous()
doc64 = doc32.long()
def step(doc):
    q.grad = k.grad = v.grad = None
    out = pkg.attention(q, k, v, doc)
    out.float().square().sum().backward()
    return out.detach().clone(), q.grad.clone()
want = step(doc32)
s0 = dict(pkg.stats()); got = step(doc64); s1 = dict(pkg.stats())
for _ in range(3): step(doc64)
s2 = dict(pkg.stats())
doc64.add_(0)  # an in-place write: a new conversion and new lists
step(doc64); s3 = dict(pkg.stats())
same = torch.equal(want[0], got[0]) and (want[1] - got[1]).abs().max().item() < 1e-2
built = lambda a, b: b.get("tile_lists_built", 0) - a.get("tile_lists_built", 0)
ok = same and built(s0, s1) == 2 and built(s1, s2) == 0 and built(s2, s3) == 2
print(f"{'ok  ' if ok else 'FAIL'} int64 ids: output equal {same}; lists built first call {built(s0, s1)}, next three {built(s1, s2)}, after an in-place write {built(s2, s3)}")
