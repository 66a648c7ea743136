#!/usr/bin/env bash
# Builds the device bundle DEST (default /work/main/.device) from this checkout's build output:
# the attnc command's jars (cli/target, with jcuda's natives slimmed to the linux driver library) and the
# device harnesses (bench: attnc.bench.gpu),
# the Python example and run_device.sh. Keeps DEST/jre (jlink'd, see README.md) when present.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dest="${1:-/work/main/.device}"
[ -x "$dest/jre/bin/java" ] || { echo "no jlink'd JRE at $dest/jre (bench/gpu/README.md)"; exit 1; }
rm -rf "$dest/cli" "$dest/python" && mkdir -p "$dest/cli" "$dest/python"
cp "$here/cli/target/attnc-cli-0.1.0-SNAPSHOT.jar" "$here/bench/target/attnc-bench-0.1.0-SNAPSHOT.jar" "$dest/cli/"
for jar in "$here"/cli/target/lib/*.jar; do
  case "$(basename "$jar")" in
    jcuda-natives-*) tmp="$(mktemp -d)"; (cd "$tmp" && unzip -q "$jar" 'lib/libJCudaDriver-*' && zip -q -r "$dest/cli/jcuda-driver-natives.jar" lib); rm -rf "$tmp" ;;
    *) cp "$jar" "$dest/cli/" ;;
  esac
done
cp "$here/examples/python/run_exported_ptx.py" "$dest/python/"
cp "$here/bench/gpu/run_device.sh" "$dest/"
du -sh "$dest"
