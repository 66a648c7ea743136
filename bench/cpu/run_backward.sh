#!/usr/bin/env bash
# Issue 11's CPU backward against PyTorch on the GPU machine's CPU, from a checkout carrying .device
# (bench/cpu/make_bundle.sh): attnc.bench.BackwardBench (CpuBench --backward --fast) on the carried JRE at
# all cores — forward, backward and q/k/v-only backward of dense, causal, sliding window 1024,
# document (8 docs), softcap 30 and ALiBi causal, B = 1, H = 16, D = 64, N = 2048 and 4096 — writing
# a TSV that bench/cpu/peers_backward.py reads to time PyTorch SDPA's and FlexAttention's (CPU)
# backward on the same shapes and thread count. Logs go to $1.
#   bash bench/cpu/run_backward.sh OUT        (N and the limits: BWD_N=2048,4096 BWD_S=300 PEERS_S=250)
set -u
out="$1"; d=.device
mkdir -p "$out"
# A pre-touched 16 GB heap, as bench/run's: fresh pages faulted in after each System.gc() cost the dense backward
# 17-20% at 16 threads (BENCHMARKS.md, "Page faults in the CPU backward's timings").
timeout "${BWD_S:-300}" "$d/jre/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xms16g -Xmx64g -XX:+AlwaysPreTouch -cp "$d/cpu/*" \
  attnc.bench.CpuBench --backward --fast --n "${BWD_N:-2048,4096}" --tsv "$out/backward.tsv" > "$out/backward.log" 2>&1
echo "rc $?" >> "$out/backward.log"; grep -E "^\||^threads|^rc |Exception|Error" "$out/backward.log"
echo "== PyTorch CPU backward"
PYTHONUNBUFFERED=1 timeout "${PEERS_S:-250}" python3 bench/cpu/peers_backward.py "$out/backward.tsv" > "$out/peers_backward.log" 2>&1
echo "rc $?" >> "$out/peers_backward.log"; cat "$out/peers_backward.log"
