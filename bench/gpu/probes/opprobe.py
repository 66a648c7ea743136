# Where a custom op's dispatch spends host time on the device machine's torch: its backend_impl source, and a
# trivial CUDA custom op timed against its implementation called directly, with and without cProfile.
import inspect, os, sys, cProfile, pstats, torch
import torch._library.custom_ops as co
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoststep import host_and_wall
src = inspect.getsource(co)
i = src.find("def backend_impl")
print(src[i:i + 2500])
def impl(x, y):
    return x + 1, y.clone()
op = torch.library.custom_op("probe::f", impl, mutates_args=(), device_types="cuda", schema="(Tensor x, Tensor y) -> (Tensor, Tensor)")
x = torch.randn(16, device="cuda"); y = torch.randn(16, device="cuda")
ov = op._opoverload
for f, name in ((ov, "op"), (impl, "impl")):
    for _ in range(200): f(x, y)
    print(name, "us a call", host_and_wall(lambda: f(x, y), 5000)[1] * 1e6)
p = cProfile.Profile(); p.enable()
for _ in range(2000): ov(x, y)
p.disable(); torch.cuda.synchronize(); pstats.Stats(p).sort_stats("tottime").print_stats(10)
