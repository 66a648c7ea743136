#!/usr/bin/env bash
# Passes and bytes of the JVM tile hooks per .attn file (bench/cpu/HookSizes.java).
# ROOT=<checkout> measures that checkout's build instead of this one's (the same command before and after a
# change); build it first: `./build -q -o package -pl bench -am -DskipTests` in ROOT.
#   bash bench/cpu/hook_sizes.sh FILE.attn ...
set -eu
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
root="${ROOT:-$here}"
source "$here/.ci/jdk.sh"
exec java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx4g \
  -cp "$root/bench/target/classes:$(cat "$root/bench/target/classpath")" "$here/bench/cpu/HookSizes.java" "$@"
