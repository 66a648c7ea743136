"""Host time of a training step through one package (B=4 H=16 N=4096 D=64, fwd+bwd): the time to queue 300 steps
and the wall time once synchronised, best of 3 after 30 warm steps. argv: package dir, pattern, eager|compiled.
`training_step` is also hostprof_step.py's, `host_and_wall` every probe's."""
import importlib, sys, time
import torch


def training_step(packages, p, mode):
    """A step function (grads cleared, forward, backward) of pattern `p`'s package at the probes' shape."""
    sys.path.insert(0, packages); sys.path.insert(0, "bench/gpu")
    from bench_patterns import extras
    pkg = importlib.import_module(p + "_attention")
    B, H, N, D = 4, 16, 4096, 64
    q, k, v = [torch.randn(B, H, N, D, device="cuda", dtype=torch.bfloat16, requires_grad=True) for _ in range(3)]
    dout = torch.randn(B, H, N, D, device="cuda", dtype=torch.bfloat16)
    e = extras(p, B, H, N)
    ins = [e[n] for n in ("doc", "slopes") if n in e]
    params = {"window": 1024} if p == "sliding_window" else {}
    call = lambda q, k, v: pkg.attention(q, k, v, *ins, **params)
    if mode == "compiled":
        call = torch.compile(call, fullgraph=True)

    def step():
        q.grad = k.grad = v.grad = None
        call(q, k, v).backward(dout)
    return step


def host_and_wall(step, n):
    """Seconds a call of `step` over `n` calls: to queue them (the host's time), and until the GPU has run them."""
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(n): step()
    host = (time.perf_counter() - t) / n
    torch.cuda.synchronize()
    return host, (time.perf_counter() - t) / n


if __name__ == "__main__":
    p, mode = sys.argv[2], sys.argv[3]
    step = training_step(sys.argv[1], p, mode)
    for _ in range(30): step()
    best = min(host_and_wall(step, 300) for _ in range(3))
    print(f"{sys.argv[1].split('/')[-1]} {p} {mode}: host {best[0] * 1e6:.0f} us a step, wall {best[1] * 1e6:.0f} us")
