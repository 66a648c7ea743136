#!/usr/bin/env bash
# Issue 17's CPU decode table on the GPU machine's CPU, from a checkout carrying .device
# (bench/cpu/make_bundle.sh): attnc.bench.jmh.DecodeBench on the carried JRE at all cores — read
# bandwidth (StreamRead), the decode kernel on contiguous and paged (page 16, 64) K/V — B = 8,
# H = 32, Hkv = 8, D = 128, Nq = 1 and 4, Nkv = 4K and 32K. The ONNX Runtime cases fail there with
# NoClassDefFoundError: make_bundle.sh leaves onnxruntime out (its jar, natives for every platform,
# would pass the 64 MiB a device call carries). With PEERS=1 (the default) PyTorch CPU SDPA on the
# same shapes follows (bench/cpu/peers_decode.py, same thread count). Logs go to $1.
#   bash bench/cpu/run_decode.sh OUT        (fits one 10-minute call; DECODE_S and PEERS_S override the limits)
set -u
out="$1"; d=.device
threads="${THREADS:-$(nproc)}"
mkdir -p "$out"
{ lscpu; free -g; } > "$out/machine.txt" 2>&1; head -20 "$out/machine.txt"
timeout "${DECODE_S:-360}" "$d/jre/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
  -Xmx64g -cp "$d/cpu/*" attnc.bench.jmh.DecodeBench --threads "$threads" --warmup "${WARMUP:-6}" --iterations "${ITERATIONS:-3}" \
  > "$out/decode.log" 2>&1; echo "rc $?" >> "$out/decode.log"
grep -E "^\||^read bandwidth|^rc |Exception|Error" "$out/decode.log"
if [ "${PEERS:-1}" = 1 ]; then
  echo "== PyTorch CPU SDPA"
  PYTHONUNBUFFERED=1 timeout "${PEERS_S:-200}" python3 bench/cpu/peers_decode.py "$threads" > "$out/peers_decode.log" 2>&1; echo "rc $?" >> "$out/peers_decode.log"
  cat "$out/peers_decode.log"
fi
