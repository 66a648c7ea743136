#!/usr/bin/env python3
"""The share of a HookLoop recording's samples in the Vector API's Java fallbacks (frames of
jdk.incubator.vector or jdk.internal.vm.vector on top), over the last 3 s of its forward phase and
of its backward phase, with the attnc frames they were most often under.
Usage: python3 fallback_share.py RECORDING.jfr   (needs the JDK's `jfr` on PATH)"""
import collections
import re
import subprocess
import sys

text = subprocess.run(["jfr", "print", "--events", "jdk.ExecutionSample", sys.argv[1]], capture_output=True, text=True, check=True).stdout
samples = []
for event in text.split("jdk.ExecutionSample")[1:]:
    t = re.search(r"startTime = (\d+):(\d+):([\d.]+)", event)
    frames = re.findall(r"^\s+([\w.$<>/]+)\(", event, re.M)
    if t and frames:
        samples.append((int(t.group(1)) * 3600 + int(t.group(2)) * 60 + float(t.group(3)), frames))
if not samples:
    sys.exit("no samples in " + sys.argv[1])
end = max(s for s, _ in samples)


def share(lo, hi):
    n = fallback = 0
    under = collections.Counter()
    for s, frames in samples:
        if lo <= s < hi:
            n += 1
            if frames[0].startswith(("jdk.incubator.vector", "jdk.internal.vm.vector")):
                fallback += 1
                under[next((f for f in frames if f.startswith("attnc")), "?")] += 1
    return f"{fallback}/{n} ({100 * fallback / max(1, n):.0f}%) {under.most_common(2)}"


# HookLoop's backward runs the last 8 s; each phase's last 3 s are its steady state.
print(f"forward {share(end - 11, end - 8)} | backward {share(end - 3, end + 1)}")
