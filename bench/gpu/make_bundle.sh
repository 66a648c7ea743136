#!/usr/bin/env bash
# Builds the device bundle DEST (default /work/main/.device) from this checkout's build output:
# the attnc command's jars (cli/target, with jcuda's natives slimmed to the linux driver library) and the
# device harnesses (bench: attnc.bench.gpu) in DEST/NAME (default cli; another name keeps a second build's
# jars beside the first, for run_ab.sh),
# the Python example and run_device.sh. Keeps DEST/jre (jlink'd, see README.md) when present.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dest="${1:-/work/main/.device}"
name="${2:-cli}"
[ -x "$dest/jre/bin/java" ] || { echo "no jlink'd JRE at $dest/jre (bench/gpu/README.md)"; exit 1; }
rm -rf "$dest/$name" "$dest/python" && mkdir -p "$dest/$name" "$dest/python"
cp "$here/cli/target/attnc-cli-0.1.0-SNAPSHOT.jar" "$here/bench/target/attnc-bench-0.1.0-SNAPSHOT.jar" "$dest/$name/"
for jar in "$here"/cli/target/lib/*.jar; do
  case "$(basename "$jar")" in
    jcuda-natives-*) tmp="$(mktemp -d)"; (cd "$tmp" && unzip -q "$jar" 'lib/libJCudaDriver-*' && zip -q -r "$dest/$name/jcuda-driver-natives.jar" lib); rm -rf "$tmp" ;;
    *) cp "$jar" "$dest/$name/" ;;
  esac
done
cp "$here/examples/python/run_exported_ptx.py" "$dest/python/"
cp "$here/bench/gpu/run_device.sh" "$dest/"
du -sh "$dest"
