#!/usr/bin/env bash
# One device call for the Hopper path, from the root of a checkout that carries .device
# (make_bundle.sh): correctness of every wgmma schedule against the reference (HopperCheck check),
# compute-sanitizer memcheck and racecheck on one small case per schedule, kernel-only TFLOP/s of
# every schedule and of the mma.sync kernel (HopperCheck time) and, with PEERS=1, FlexAttention,
# SDPA flash and cuDNN on the same shapes (peers_hopper.py). TIME_PATTERNS and PATTERNS (the peers'
# names) limit the timed patterns. Logs go to $1. The check of all 14 examples takes about 9 minutes on the H200
# (18 variants, 12 shapes each: 35-40 s a file, 2026-12-03), too close to a call's 10: check half the examples a call (CHECK=...,
# TIME=0), and time in another.
set -u
out="$1"; d=.device
java=("$d/jre/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx48g -cp "$d/cli/*")
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv > "$out/gpu.txt" 2>&1; cat "$out/gpu.txt"
CHECK=${CHECK:-"examples/causal.attn examples/dense.attn examples/document.attn examples/softcap.attn examples/alibi.attn
  examples/sliding_window.attn examples/softmax_sink.attn examples/sigmoid_attention.attn examples/gated.attn examples/decayed_linear.attn
  examples/topk_blocks.attn examples/per_head.attn examples/padding.attn examples/t5_bias.attn"}
echo "== check"
timeout ${CHECK_S:-540} "${java[@]}" attnc.bench.gpu.HopperCheck check $CHECK > "$out/check.log" 2>&1; rc=$?; echo "rc $rc" >> "$out/check.log"
grep -E "FAIL|rows|cols|qblock|correctness|PASSED|rc |Exception|\.attn: " "$out/check.log" | head -60
# A kernel that never finishes (a barrier waited on forever) would hang every later step too.
[ $rc = 124 ] && { echo "check timed out: stopping"; exit 1; }
if [ "${SANITIZE:-1}" = 1 ]; then
  for tool in memcheck racecheck; do
    echo "== $tool"
    timeout 120 compute-sanitizer --tool $tool --print-limit 5 "${java[@]}" attnc.bench.gpu.HopperCheck small examples/causal.attn > "$out/$tool.log" 2>&1
    echo "rc $?" >> "$out/$tool.log"; grep -E "ERROR SUMMARY|RACECHECK SUMMARY|correctness|rc |Invalid|Race|hazard" "$out/$tool.log" | head -8
  done
fi
if [ "${TIME:-1}" = 1 ]; then
  echo "== time"
  timeout ${TIME_S:-240} "${java[@]}" attnc.bench.gpu.HopperCheck time "$out" ${TIME_PATTERNS:-bench/gpu/patterns/*.attn} > "$out/time.log" 2>&1; echo "rc $?" >> "$out/time.log"
  cat "$out/time.log" | tail -150
fi
if [ "${PROFILE:-0}" = 1 ]; then
  ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
  for spec in ${PROFILES:-"dense.attn,4,16,4096,64,WGMMA_PINGPONG,96,2,0,3 dense.attn,2,16,8192,128,WGMMA_PINGPONG,128,2,0,2"}; do
    echo "== ncu $spec" | tee -a "$out/ncu.log"
    timeout 120 $ncu --clock-control none -k attnc_attention --launch-skip 1 --launch-count 1 --section SpeedOfLight \
      --section ComputeWorkloadAnalysis --section SchedulerStats --section WarpStateStats --section Occupancy --print-details all \
      "${java[@]}" attnc.bench.gpu.HopperCheck profile bench/gpu/patterns/${spec//,/ } > "$out/ncu_one.log" 2>&1
    cat "$out/ncu_one.log" >> "$out/ncu.log"
    grep -E "profiled|Duration|Issue Slots Busy|No Eligible|Eligible Warps|Stall (Wait|Long|Dispatch|MIO|Barrier|Not Sel)|Tensor \(FP\)|XU" "$out/ncu_one.log" | head -24
  done
  rm -f "$out/ncu_one.log"
fi
if [ "${PEERS:-0}" = 1 ]; then
  echo "== peers"
  OUT="$out" PYTHONUNBUFFERED=1 timeout ${PEERS_S:-300} python3 bench/gpu/peers_hopper.py > "$out/peers.log" 2>&1; echo "rc $?" >> "$out/peers.log"
  tail -40 "$out/peers.log"
fi
