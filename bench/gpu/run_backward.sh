#!/usr/bin/env bash
# One device call for the GPU backward, from the root of a checkout that carries .device
# (make_bundle.sh): every gradient against the reference (BackwardCheck check), compute-sanitizer
# memcheck and racecheck on one small case, kernel-only TFLOP/s (BackwardCheck time) and, with
# PEERS=1, FlexAttention, SDPA flash and cuDNN backward on the same shapes. Logs go to $1.
set -u
out="$1"; d=.device
java=("$d/jre/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx48g -cp "$d/cli/*")
mkdir -p "$out"
CHECK=${CHECK:-"examples/causal.attn examples/dense.attn examples/document.attn examples/softcap.attn examples/alibi.attn
  examples/sliding_window.attn examples/softmax_sink.attn examples/sigmoid_attention.attn examples/t5_bias.attn examples/temperature.attn
  examples/per_head.attn examples/padding.attn examples/additive_bias.attn examples/decayed_linear.attn examples/gated.attn
  examples/headwise_gate.attn"}
echo "== check"
timeout ${CHECK_S:-240} "${java[@]}" attnc.bench.gpu.BackwardCheck check $CHECK > "$out/check.log" 2>&1; rc=$?; echo "rc $rc" >> "$out/check.log"
grep -vE "^\s+at " "$out/check.log" | head -70
[ $rc = 124 ] && { echo "check timed out: stopping"; exit 1; }
if [ "${SANITIZE:-1}" = 1 ]; then
  for tool in memcheck racecheck; do
    echo "== $tool"
    timeout ${SANITIZE_S:-120} compute-sanitizer --tool $tool --print-limit 5 "${java[@]}" attnc.bench.gpu.BackwardCheck small ${SMALL:-examples/alibi.attn} > "$out/$tool.log" 2>&1
    echo "rc $?" >> "$out/$tool.log"; grep -E "ERROR SUMMARY|RACECHECK SUMMARY|correctness|rc |Invalid|Race|hazard|B=" "$out/$tool.log" | head -8
  done
fi
if [ "${TIME:-1}" = 1 ]; then
  echo "== time"
  timeout ${TIME_S:-200} "${java[@]}" attnc.bench.gpu.BackwardCheck time "$out" ${TIME_PATTERNS:-bench/gpu/patterns/*.attn} > "$out/time.log" 2>&1; echo "rc $?" >> "$out/time.log"
  tail -40 "$out/time.log"
fi
if [ "${PEERS:-0}" = 1 ]; then
  echo "== peers"
  OUT="$out" PYTHONUNBUFFERED=1 timeout ${PEERS_S:-240} python3 bench/gpu/peers_backward.py > "$out/peers.log" 2>&1; echo "rc $?" >> "$out/peers.log"
  tail -20 "$out/peers.log"
fi
