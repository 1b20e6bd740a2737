#!/usr/bin/env bash
# Launcher installed as dist/picotunnel-server and dist/picotunnel-client: runs the jar next to it
# (lib/<name>.jar) on a Java 21+ runtime, from any working directory.
set -euo pipefail
self="$(readlink -f "$0")"
name="$(basename "$self")"
here="$(dirname "$self")"
major() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
java_bin=""
for candidate in "${JAVA_HOME:-}/bin/java" /usr/lib/jvm/temurin-25-jdk-amd64/bin/java /usr/lib/jvm/*/bin/java "$(command -v java || true)"; do
  if [ -x "$candidate" ] && [ "$(major "$candidate")" -ge 21 ] 2>/dev/null; then java_bin="$candidate"; break; fi
done
if [ -z "$java_bin" ]; then
  echo "$name: needs Java 21 or newer; install a JDK and set JAVA_HOME" >&2
  exit 1
fi
opts=(--enable-native-access=ALL-UNNAMED)
# Netty's fast paths (its buffers and its lock-free task queues between event loops) need sun.misc.Unsafe,
# which Netty leaves off by default from Java 25 on; allowed here, so Java 23+ prints no warning for it.
if [ "$(major "$java_bin")" -ge 23 ]; then opts+=(--sun-misc-unsafe-memory-access=allow); fi
opts+=(-Dio.netty.noUnsafe=false)
# The client is a small agent: the serial collector keeps its resident memory per connection low
# (G1's region bookkeeping roughly doubled it). JAVA_OPTS naming a collector wins.
if [ "$name" = picotunnel-client ] && [[ "${JAVA_OPTS:-}" != *-XX:+Use*GC* ]]; then opts+=(-XX:+UseSerialGC); fi
exec "$java_bin" "${opts[@]}" ${JAVA_OPTS:-} -jar "$here/lib/$name.jar" "$@"
