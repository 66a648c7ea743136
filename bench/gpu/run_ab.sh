#!/usr/bin/env bash
# One device call comparing two builds of the kernels, from the root of a checkout that carries
# .device/jre and the two bundles (make_bundle.sh DEST NAME, e.g. a branch's build as .device/ab_new and
# main's as .device/ab_base: carry both). Usage: bash bench/gpu/run_ab.sh OUT time|check|backward
#   time:  HopperCheck time of each build, ROUNDS times alternating (default 2, each in its own JVM, so that
#          neither always runs first), on TIME_PATTERNS (default causal, sliding window, ALiBi and dense of
#          bench/gpu/patterns) at the head dims DIMS (default 64); with SAN=1 (default) compute-sanitizer's
#          memcheck and racecheck on the new build's small causal case first; with PEERS=1 (default)
#          FlexAttention and cuDNN on the same shapes (peers_hopper.py, PATTERNS their names) last.
#   check: HopperCheck check of the new build on CHECK (default every example) for the variants
#          CHECK_VARIANTS (default all; HopperCheck.checkedVariants), in CHECK_JOBS JVMs at once (default 6),
#          each stopped after CHECK_S seconds (default 420; a file prints its line when done, so a cut run still
#          says what passed), beside RaggedCheck check on RAGGED (set RAGGED= to skip).
#   backward: BackwardCheck check of the new build on BCHECK (default nine examples that cover masks, scores, inputs
#          and spilling kernels) in CHECK_JOBS JVMs, each stopped after CHECK_S seconds; then BackwardCheck time of each
#          build, ROUNDS times alternating, on TIME_PATTERNS (default every bench pattern) for the configurations whose tag
#          holds ONLY (default the D = 64 wgmma kernel, d64_backward_q64_kv128_wgmma); with PEERS=1 (default)
#          peers_backward.py on PATTERNS (default dense and causal) last.
# NEW and BASE name the bundles (default ab_new and ab_base; BASE= times the new build alone, its variants side by side).
# Logs go to OUT/<bundle><round>/ and OUT.
set -u
out="$1"; mode="$2"; d=.device
new="${NEW:-ab_new}"; base="${BASE-ab_base}"
java=("$d/jre/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED)
mkdir -p "$out"
# spread CLASS LOG_PREFIX FILES...: CLASS check over FILES, round-robin into CHECK_JOBS JVMs at once, each its own
# CUDA context (the check's time is the driver's PTX compile, once a kernel), each stopped after CHECK_S seconds.
# Each JVM has its own temporary folder: JCuda copies its native library there at start-up, and six JVMs writing
# the same file while another maps it killed one with SIGBUS in the dynamic loader (2026-12-04).
spread() {
  local class="$1" prefix="$2"; shift 2
  local files=("$@") jobs=${CHECK_JOBS:-6}
  for j in $(seq 0 $((jobs - 1))); do
    local part=(); for i in "${!files[@]}"; do [ $((i % jobs)) = "$j" ] && part+=("${files[$i]}"); done
    [ ${#part[@]} = 0 ] && continue
    mkdir -p "/tmp/attnc-jvm$j"
    ( CHECK_VARIANTS=${CHECK_VARIANTS:-} timeout ${CHECK_S:-420} "${java[@]}" -Xmx12g -Djava.io.tmpdir=/tmp/attnc-jvm$j -cp "$d/$new/*" "$class" check "${part[@]}" > "$out/$prefix$j.log" 2>&1
      echo "rc $?" >> "$out/$prefix$j.log" ) &
  done
}
# alternate HEAP CLASS SHOWN ARGS...: CLASS time OUT/<build><round> ARGS for each build in turn, ROUNDS times (default 2),
# each in its own JVM stopped after TIME_S seconds, printing the log's lines that match SHOWN.
alternate() {
  local heap="$1" class="$2" shown="$3"; shift 3
  for round in $(seq 1 "${ROUNDS:-2}"); do
    for build in "$new" $base; do
      mkdir -p "$out/$build$round"
      timeout ${TIME_S:-200} "${java[@]}" "$heap" -cp "$d/$build/*" "$class" time "$out/$build$round" "$@" > "$out/$build$round/time.log" 2>&1
      echo "== $build round $round rc $?"; grep -E "$shown" "$out/$build$round/time.log"
    done
  done
}
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu --format=csv,noheader
case "$mode" in
time)
  patterns=${TIME_PATTERNS:-"bench/gpu/patterns/causal.attn bench/gpu/patterns/sliding_window.attn bench/gpu/patterns/alibi.attn bench/gpu/patterns/dense.attn"}
  if [ "${SAN:-1}" = 1 ]; then
    for tool in memcheck racecheck; do
      timeout 150 compute-sanitizer --tool $tool --print-limit 5 "${java[@]}" -cp "$d/$new/*" attnc.bench.gpu.HopperCheck small examples/causal.attn > "$out/$tool.log" 2>&1
      echo "rc $?" >> "$out/$tool.log"; echo "== $tool"; grep -E "ERROR SUMMARY|RACECHECK SUMMARY|rc |Invalid|Race|hazard|PASSED|FAILED" "$out/$tool.log" | head -6
    done
  fi
  export DIMS=${DIMS:-64}
  alternate -Xmx48g attnc.bench.gpu.HopperCheck "default|block lists|with bits|no bits" $patterns
  if [ "${PEERS:-1}" = 1 ]; then
    PATTERNS=${PATTERNS:-"causal sliding_window alibi dense"} OUT="$out" PYTHONUNBUFFERED=1 timeout ${PEERS_S:-200} python3 bench/gpu/peers_hopper.py > "$out/peers.log" 2>&1
    echo "== peers rc $?"; grep -E "flex|cudnn" "$out/peers.log"
  fi ;;
check)
  # neighborhood_2d's 16,600-line PTX takes ptxas 3.1 s here, and its file took 185 s for 60 kernels on the device.
  # Threads in one JVM compiled no faster (2026-12-03), hence separate JVMs.
  spread attnc.bench.gpu.HopperCheck check ${CHECK:-examples/*.attn}
  ragged=${RAGGED-"examples/causal.attn examples/sliding_window.attn examples/alibi.attn examples/document.attn examples/topk_blocks.attn examples/padding.attn"}
  if [ -n "$ragged" ]; then
    mkdir -p /tmp/attnc-jvm-ragged
    ( timeout ${CHECK_S:-420} "${java[@]}" -Xmx12g -Djava.io.tmpdir=/tmp/attnc-jvm-ragged -cp "$d/$new/*" attnc.bench.gpu.RaggedCheck check $ragged > "$out/ragged.log" 2>&1; echo "rc $?" >> "$out/ragged.log" ) &
  fi
  wait
  echo "== check (rc 124: stopped after CHECK_S)"; cat "$out"/check*.log | grep -E "FAIL|PASSED|Exception|\.attn: |^rc " | head -60
  [ -n "$ragged" ] && { echo "== ragged"; grep -E "FAIL|PASSED|worst|Exception|^rc " "$out/ragged.log" | head -20; } ;;
backward)
  spread attnc.bench.gpu.BackwardCheck bcheck ${BCHECK:-examples/causal.attn examples/document.attn examples/t5_bias.attn examples/alibi.attn \
    examples/softmax_sink.attn examples/gated.attn examples/sliding_window.attn examples/softcap.attn examples/topk_blocks.attn}
  wait
  echo "== backward check (rc 124: stopped after CHECK_S)"; cat "$out"/bcheck*.log | grep -E "FAIL|correctness|PASSED|Exception|^rc " | head -40
  alternate -Xmx24g attnc.bench.gpu.BackwardCheck "^[a-z_]+ +[0-9]+,[0-9]+," --only=${ONLY:-d64_backward_q64_kv128_wgmma} ${TIME_PATTERNS:-bench/gpu/patterns/*.attn}
  if [ "${PEERS:-1}" = 1 ]; then
    PATTERNS=${PATTERNS:-"dense causal"} OUT="$out" PYTHONUNBUFFERED=1 timeout ${PEERS_S:-150} python3 bench/gpu/peers_backward.py > "$out/peers.log" 2>&1
    echo "== peers rc $?"; grep -E "flex|cudnn|sdpa" "$out/peers.log"
  fi ;;
*) echo "usage: bash bench/gpu/run_ab.sh OUT time|check|backward"; exit 2 ;;
esac
