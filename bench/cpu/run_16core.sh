#!/usr/bin/env bash
# The CPU kernels on the GPU machine's CPU, from a checkout carrying .device
# (bench/cpu/make_bundle.sh): JMH (attnc.bench.jmh.JmhBench on the carried JRE) measures the FMA
# peak, the read bandwidth and issue 15's table at all cores, writing every case's inputs and
# attnc's output as .npy; then the scaling table (1, 2, 4, 8, 16 threads); then bench/cpu/peers.py
# times PyTorch SDPA and FlexAttention (CPU) on the same .npy inputs at all cores and prints the
# ratios. Logs go to $1. Each part has its own time limit; the table and the peers (which read the
# table's .npy from $DATA) fit one 10-minute call, the scaling table another:
#   SCALING=0 bash bench/cpu/run_16core.sh OUT        then        TABLE=0 PEERS=0 bash bench/cpu/run_16core.sh OUT
set -u
out="$1"; d=.device; data="${DATA:-/tmp/attnc-cpu-npy}"
threads="${THREADS:-$(nproc)}"
java=("$d/jre/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow
      -Xmx64g -cp "$d/cpu/*" attnc.bench.jmh.JmhBench --peer none --forks 1)
mkdir -p "$out"
{ lscpu; free -g; python3 -c "import torch; print('torch', torch.__version__)"; } > "$out/machine.txt" 2>&1; head -20 "$out/machine.txt"
if [ "${TABLE:-1}" = 1 ]; then
  echo "== table ($threads threads)"
  rm -rf "$data"; mkdir -p "$data"
  # Issue 15's table: cases, N, D per JMH run (SETS overrides it, ';'-separated).
  IFS=';' read -r -a sets <<< "${SETS:-dense,causal,sliding_window,document,softcap_causal 4096 64;dense,causal 4096 128;causal,sliding_window 8192 64}"
  for set in "${sets[@]}"; do
    read -r cases n dd <<< "$set"
    timeout "${TABLE_S:-100}" "${java[@]}" --warmup 2 --iterations 3 --threads "$threads" --cases "$cases" --n "$n" --d "$dd" --npy "$data" >> "$out/table.log" 2>&1
    echo "rc $? ($set)" >> "$out/table.log"
  done
  grep -E "^\||^rc |Exception|Error" "$out/table.log"
fi
if [ "${SCALING:-1}" = 1 ]; then
  echo "== scaling"
  # One thread takes most of a second a call at N = 4096: three warm-up seconds for C2 to compile the kernel.
  timeout "${SCALING_S:-400}" "${java[@]}" --warmup 3 --iterations 3 --threads "${SCALING_THREADS:-1,2,4,8,$threads}" --cases "${SCALING_CASES:-dense,causal,sliding_window,document}" --n "${SCALING_N:-4096}" --d 64 \
    > "$out/scaling.log" 2>&1; echo "rc $?" >> "$out/scaling.log"
  grep -E "^\||^rc |Exception|Error" "$out/scaling.log"
fi
if [ "${PEERS:-1}" = 1 ]; then
  echo "== peers"
  [ -s "$data/attnc.tsv" ] || { echo "no $data/attnc.tsv: run the table first, in the same device session"; exit 1; }
  PYTHONUNBUFFERED=1 timeout "${PEERS_S:-270}" python3 bench/cpu/peers.py "$data" "$threads" > "$out/peers.log" 2>&1; echo "rc $?" >> "$out/peers.log"
  cat "$out/peers.log" | tail -30
fi
