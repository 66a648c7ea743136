#!/usr/bin/env bash
# One device call for the GPU decode path, from the root of a checkout that carries .device
# (make_bundle.sh): every pattern decoded (split-KV, GQA packing, the merge) against the
# reference (DecodeCheck check), every decode tiling on a few patterns (DecodeCheck tilings),
# ragged batches over paged caches on a few (DecodeCheck paged; PAGED_CHECK= skips it),
# compute-sanitizer memcheck and racecheck on one small case, GB/s of K and V read (DecodeCheck
# time; DecodeCheck paged-time: paged beside contiguous) and, with PEERS=1, SDPA flash, cuDNN and FlexAttention on the same shapes. Logs go to $1.
set -u
out="$1"; d=.device
java=("$d/jre/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx48g -cp "$d/cli/*")
mkdir -p "$out"
CHECK=${CHECK:-$(ls examples/*.attn)}
TILINGS_CHECK=${TILINGS_CHECK:-"examples/causal.attn examples/softmax_sink.attn examples/alibi.attn examples/document.attn examples/gated.attn examples/sigmoid_attention.attn"}
echo "== check"
timeout ${CHECK_S:-240} "${java[@]}" attnc.bench.gpu.DecodeCheck check $CHECK > "$out/decode_check.log" 2>&1; rc=$?; echo "rc $rc" >> "$out/decode_check.log"
grep -E "FAIL|worst|correctness|PASSED|FAILED|rc " "$out/decode_check.log" | head -40
[ $rc = 124 ] && { echo "check timed out: stopping"; exit 1; }
echo "== tilings"
timeout ${TILINGS_S:-180} "${java[@]}" attnc.bench.gpu.DecodeCheck tilings $TILINGS_CHECK > "$out/decode_tilings.log" 2>&1; echo "rc $?" >> "$out/decode_tilings.log"
grep -E "FAIL|worst|correctness|PASSED|FAILED|rc " "$out/decode_tilings.log" | head -20
if [ -n "${PAGED_CHECK-examples/causal.attn examples/alibi.attn examples/softmax_sink.attn examples/sliding_window.attn examples/document.attn examples/sigmoid_attention.attn}" ]; then
  echo "== paged"
  timeout ${PAGED_S:-120} "${java[@]}" attnc.bench.gpu.DecodeCheck paged ${PAGED_CHECK-examples/causal.attn examples/alibi.attn examples/softmax_sink.attn examples/sliding_window.attn examples/document.attn examples/sigmoid_attention.attn} > "$out/decode_paged.log" 2>&1; echo "rc $?" >> "$out/decode_paged.log"
  grep -E "FAIL|worst|correctness|PASSED|FAILED|rc " "$out/decode_paged.log" | head -20
fi
if [ "${SANITIZE:-1}" = 1 ]; then
  for tool in memcheck racecheck; do
    echo "== $tool"
    timeout ${SANITIZE_S:-120} compute-sanitizer --tool $tool --print-limit 5 "${java[@]}" attnc.bench.gpu.DecodeCheck small ${SMALL:-examples/softmax_sink.attn} > "$out/decode_$tool.log" 2>&1
    echo "rc $?" >> "$out/decode_$tool.log"; grep -E "ERROR SUMMARY|RACECHECK SUMMARY|correctness|rc |Invalid|Race|hazard" "$out/decode_$tool.log" | head -8
  done
fi
if [ "${TIME:-1}" = 1 ]; then
  echo "== time"
  timeout ${TIME_S:-200} "${java[@]}" attnc.bench.gpu.DecodeCheck time "$out" > "$out/decode_time.log" 2>&1; echo "rc $?" >> "$out/decode_time.log"
  tail -30 "$out/decode_time.log"
  echo "== paged time"
  timeout ${TIME_S:-200} "${java[@]}" attnc.bench.gpu.DecodeCheck paged-time "$out" > "$out/paged_time.log" 2>&1; echo "rc $?" >> "$out/paged_time.log"
  tail -20 "$out/paged_time.log"
fi
if [ "${PEERS:-0}" = 1 ]; then
  echo "== peers"
  OUT="$out" PYTHONUNBUFFERED=1 timeout ${PEERS_S:-240} python3 bench/gpu/peers_decode.py > "$out/peers_decode.log" 2>&1; echo "rc $?" >> "$out/peers_decode.log"
  tail -20 "$out/peers_decode.log"
fi
