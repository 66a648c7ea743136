#!/usr/bin/env bash
# One device call for the GPU ragged prefill (issue 17), from the root of a checkout that carries
# .device (make_bundle.sh): ragged batches over paged caches against the reference (RaggedCheck
# check: page sizes 1-256, shuffled and shared pages, empty sequences, Nq != Nkv; the default,
# mma.sync and wgmma kernels), compute-sanitizer memcheck and racecheck on one small case, then
# kernel time (RaggedCheck time: 8 sequences of 300-4,000 tokens, H=16, D=32 to 256, beside one
# document-masked dense launch of the same tokens) and, with PEERS=1 (default), FlexAttention's
# document mask on the same lengths. Logs go to $1; the default stage timeouts (200 + 2 x 90 + 150
# + 150 s) pass one 10-minute device call: lower them (CHECK_S, SANITIZE_S, TIME_S, PEERS_S) or
# leave a stage out (SANITIZE=0, TIME=0, PEERS=0, SANITIZERS=memcheck).
set -u
out="$1"; d=.device
java=("$d/jre/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx48g -cp "$d/cli/*")
mkdir -p "$out"
CHECK=${CHECK:-"examples/causal.attn examples/dense.attn examples/sliding_window.attn examples/document.attn examples/alibi.attn
  examples/softcap.attn examples/softmax_sink.attn examples/gated.attn examples/headwise_gate.attn examples/sigmoid_attention.attn
  examples/decayed_linear.attn examples/additive_bias.attn examples/prefix_lm.attn examples/padding.attn examples/per_head.attn
  examples/t5_bias.attn examples/chunked.attn examples/topk_blocks.attn"}
echo "== check"
timeout ${CHECK_S:-200} "${java[@]}" attnc.bench.gpu.RaggedCheck check $CHECK > "$out/ragged_check.log" 2>&1; rc=$?; echo "rc $rc" >> "$out/ragged_check.log"
grep -E "FAIL|skip|correctness|PASSED|FAILED|rc |Exception" "$out/ragged_check.log" | head -50
[ $rc = 124 ] && { echo "check timed out: stopping"; exit 1; }
if [ "${SANITIZE:-1}" = 1 ]; then
  # The small batch runs the default kernel (wgmma on sm_90) and mma.sync; racecheck covers the
  # wgmma producer's cp.async copies against the consumers' reads.
  for tool in ${SANITIZERS:-memcheck racecheck}; do
    echo "== $tool"
    timeout ${SANITIZE_S:-90} compute-sanitizer --tool $tool --print-limit 5 "${java[@]}" attnc.bench.gpu.RaggedCheck small ${SMALL:-examples/document.attn} > "$out/ragged_$tool.log" 2>&1
    echo "rc $?" >> "$out/ragged_$tool.log"; grep -E "ERROR SUMMARY|RACECHECK SUMMARY|correctness|rc |Invalid|Race|hazard" "$out/ragged_$tool.log" | head -8
  done
fi
if [ "${TIME:-1}" = 1 ]; then
  echo "== time"
  timeout ${TIME_S:-150} "${java[@]}" attnc.bench.gpu.RaggedCheck time "$out" > "$out/ragged_time.log" 2>&1; echo "rc $?" >> "$out/ragged_time.log"
  tail -12 "$out/ragged_time.log"
fi
if [ "${PEERS:-1}" = 1 ] && [ -f "$out/ragged_lengths.json" ]; then
  echo "== peers"
  OUT="$out" PYTHONUNBUFFERED=1 timeout ${PEERS_S:-150} python3 bench/gpu/peers_ragged.py > "$out/peers_ragged.log" 2>&1; echo "rc $?" >> "$out/peers_ragged.log"
  tail -8 "$out/peers_ragged.log"
fi
