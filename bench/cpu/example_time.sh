#!/usr/bin/env bash
# The JVM kernel's forward and backward CPU time per .attn file, one thread (bench/cpu/ExampleTime.java).
# ROOT=<checkout> times that checkout's build instead of this one's (the same command before and after a
# change); build it first: `./build -q -o package -pl bench -am -DskipTests` in ROOT.
#   bash bench/cpu/example_time.sh FILE.attn ... [--n 1024] [--heads 4] [--d 64] [--reps 15] [--warm 4]
set -eu
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
root="${ROOT:-$here}"
source "$here/.ci/jdk.sh"
exec java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx4g \
  -cp "$root/bench/target/classes:$(cat "$root/bench/target/classpath")" "$here/bench/cpu/ExampleTime.java" "$@"
