#!/usr/bin/env bash
# For each pattern given (default: examples/*.attn), runs attnc.bench.HookLoop under JFR at one
# thread and prints the share of its forward's and backward's steady-state samples in the Vector
# API's Java fallbacks (bench/cpu/fallback_share.py). From the checkout's root after
# `./build -q -o package -pl bench -am -DskipTests`; about 15 s a pattern. Recordings go to $OUT (default /tmp/fallback).
#   bash bench/cpu/fallback_survey.sh [FILE.attn ...]
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$here/.ci/jdk.sh"
out="${OUT:-/tmp/fallback}"; mkdir -p "$out"
cp="$here/bench/target/classes:$(cat "$here/bench/target/classpath")"
for f in "${@:-$here/examples/*.attn}"; do
  for file in $f; do
    name=$(basename "$file" .attn)
    timeout 60 java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Dattnc.threads=1 -Xmx4g \
      -XX:StartFlightRecording=filename="$out/$name.jfr",settings=profile -cp "$cp" attnc.bench.HookLoop "$file" > "$out/$name.log" 2>&1 \
      || { echo "$name: HookLoop failed, see $out/$name.log"; continue; }
    echo "$name $(python3 "$here/bench/cpu/fallback_share.py" "$out/$name.jfr")"
  done
done
