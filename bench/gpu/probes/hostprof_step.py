"""Where an eager training step through the package spends its host time (issue 13: the document step at D=64 is
host-bound, 0.90 ms to queue against 0.67 ms of GPU work): B=4 H=16 N=4096 D=64, fwd+bwd, 30 warm steps, then
cProfile over 200. argv[1]: package dir; argv[2]: pattern (default document); argv[3] "compiled": the call
under torch.compile (the custom op's path, as the LM example's default mode) instead of eager."""
import cProfile, os, pstats, sys
import torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoststep import host_and_wall, training_step
p = sys.argv[2] if len(sys.argv) > 2 else "document"
mode = sys.argv[3] if len(sys.argv) > 3 else "eager"
step = training_step(sys.argv[1], p, mode)
for _ in range(30): step()
host, wall = host_and_wall(step, 200)
print(f"{p} {mode}: host {host * 1e6:.0f} us a step to queue, wall {wall * 1e6:.0f} us")
prof = cProfile.Profile()
prof.enable()
for _ in range(200): step()
prof.disable()
torch.cuda.synchronize()
pstats.Stats(prof).sort_stats("tottime").print_stats(35)
