# Sourced: points JAVA_HOME at a JDK 25 (or newer), or stops with a clear message.
attnc_java_version() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
attnc_pick_jdk() {
  local candidate
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-2[5-9]* /usr/lib/jvm/java-2[5-9]-*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] || continue
    local version; version="$(attnc_java_version "$candidate")"
    if [ -n "$version" ] && [ "${version%%.*}" -ge 25 ] 2>/dev/null; then echo "$candidate"; return 0; fi
  done
  return 1
}
if ! JAVA_HOME="$(attnc_pick_jdk)"; then
  echo "attnc needs JDK 25 or newer; none found (set JAVA_HOME, or install Temurin 25 under /usr/lib/jvm)." >&2
  exit 1
fi
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"
