#!/usr/bin/env bash
# Puts the CPU benchmark into the device bundle DEST (default /work/main/.device, beside the jlink'd
# jre that bench/gpu/README.md describes): DEST/cpu holds the bench jar (with JMH's benchmark list)
# and the jars it runs with, less the test libraries and ONNX Runtime (the peer of the 2-core machine only; the 16-core
# run's peers are PyTorch's) and the GPU side's. Build first: ./build -q -o package -pl bench -am -DskipTests
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dest="${1:-/work/main/.device}"
[ -x "$dest/jre/bin/java" ] || { echo "no jlink'd JRE at $dest/jre (bench/gpu/README.md)"; exit 1; }
for module in java.management jdk.management; do
  "$dest/jre/bin/java" --list-modules | grep -q "^$module@" || { echo "$dest/jre lacks $module, which JMH and the backward bench need (bench/gpu/README.md)"; exit 1; }
done
rm -rf "$dest/cpu" && mkdir -p "$dest/cpu"
cp "$here/bench/target/attnc-bench-0.1.0-SNAPSHOT.jar" "$dest/cpu/"
tr ':' '\n' < "$here/bench/target/classpath" | grep -v -E 'onnxruntime|jcuda|attnc-backend-ptx|attnc-cuda-runtime|junit|jqwik|opentest4j|apiguardian' | while read -r jar; do
  cp "$jar" "$dest/cpu/"
done
du -sh "$dest/cpu"
