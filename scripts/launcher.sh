#!/usr/bin/env bash
# Launcher installed as picotunnel-server and picotunnel-client. It resolves its own location through
# symlinks, so it runs from any working directory and through a link in /usr/local/bin. It finds its jar in
# lib/<name>.jar next to it or one level up (the archive's bin/ and lib/), and runs it on the bundled runtime
# (runtime/ next to lib/, built by jlink for the archive and the images), else on a Java 21+ from JAVA_HOME or
# the system. PICOTUNNEL_HOME names the directory holding lib/ when the launcher was copied elsewhere.
set -euo pipefail
self="$(readlink -f "$0")"
name="$(basename "$self")"
here="$(dirname "$self")"
home=""
for candidate in "${PICOTUNNEL_HOME:-}" "$here" "$here/.."; do
  if [ -n "$candidate" ] && [ -f "$candidate/lib/$name.jar" ]; then home="$(cd "$candidate" && pwd)"; break; fi
done
if [ -z "$home" ]; then
  echo "$name: cannot find lib/$name.jar next to $self or one level up; link the launcher from where the archive was unpacked (ln -s /opt/picotunnel/bin/$name /usr/local/bin/$name) instead of copying it, or set PICOTUNNEL_HOME to that directory" >&2
  exit 1
fi
major() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
# Reading a version starts a JVM: each java is asked once, and the chosen one's answer is kept in java_major
# for the flags below. `|| true`: a java that fails to start is passed over (set -e would
# end the launcher on a failed assignment), as it was when the version was read inside the test.
java_bin=""
java_major=""
if [ -x "$home/runtime/bin/java" ]; then
  java_bin="$home/runtime/bin/java"
  java_major="$(major "$java_bin")" || true
else
  for candidate in "${JAVA_HOME:-}/bin/java" /usr/lib/jvm/temurin-25-jdk-amd64/bin/java /usr/lib/jvm/*/bin/java "$(command -v java || true)"; do
    [ -x "$candidate" ] || continue
    candidate_major="$(major "$candidate")" || true
    if [ "$candidate_major" -ge 21 ] 2>/dev/null; then java_bin="$candidate"; java_major="$candidate_major"; break; fi
  done
fi
if [ -z "$java_bin" ]; then
  echo "$name: needs Java 21 or newer; install a JDK and set JAVA_HOME, or use the release archive (it brings its own runtime)" >&2
  exit 1
fi
opts=(--enable-native-access=ALL-UNNAMED)
# Netty's fast paths (its buffers and its lock-free task queues between event loops) need sun.misc.Unsafe,
# which Netty leaves off by default from Java 25 on; allowed here, so Java 23+ prints no warning for it.
if [ "$java_major" -ge 23 ]; then opts+=(--sun-misc-unsafe-memory-access=allow); fi
opts+=(-Dio.netty.noUnsafe=false)
# Netty's leak detector records a stack trace at the allocation and at the release of one buffer in 128: under
# HTTP load through a tunnel that was 4% of the server's CPU and 5.5% of the client's (perf, bench/README.md). One
# in 4096 still reports a leak that recurs, at a thirty-second of the cost; the tests keep Netty's default.
opts+=(-Dio.netty.leakDetection.samplingInterval=4096)
# The client is a small agent: the serial collector keeps its resident memory per connection low
# (G1's region bookkeeping roughly doubled it). JAVA_OPTS naming a collector wins.
if [ "$name" = picotunnel-client ] && [[ "${JAVA_OPTS:-}" != *-XX:+Use*GC* ]]; then opts+=(-XX:+UseSerialGC); fi
# The heaps start small instead of at 1/64 of the machine's memory (they grow under load as before), so that a
# collection can give back what a burst of connections touched, and the C library's malloc returns freed native
# memory every second (JIT arenas, Netty's native buffers): idle connections cost the client about 5.5 KiB each
# instead of 9.4, the server 1 to 5 instead of 7.0 to 9.0 (bench/README.md). The server starts at 128 MiB, not 32:
# from 32 its young collections under HTTP load came twice as often and wrk's p99 through it rose from about 6 ms
# to 7.6 to 9.2. Flags in JAVA_OPTS come later on the command line, and the JVM takes the last one.
# (The trimming flag came with Java 21.0.1; an unknown flag would stop the JVM, so it is given from 22 on.)
# backup and restore run beside the server, often in its container (kubectl exec, docker exec) under the same
# memory limit: a small serially collected heap (SQLite copies outside it) leaves that memory to the server.
# JAVA_OPTS (the server's, in its container) naming a collector or a heap size wins instead: the JVM refuses to
# start with two collectors, or with an initial heap (-Xms256m) above the maximum given here.
# Any heap size in JAVA_OPTS replaces these starting sizes: -Xmx100m after -Xms128m would stop the JVM (an initial
# heap above the maximum), on the small machines that need such a setting most.
heap_named=false
if [[ "${JAVA_OPTS:-}" == *-Xm[sx]* || "${JAVA_OPTS:-}" == *HeapSize=* ]]; then heap_named=true; fi
if [ "$name" = picotunnel-server ] && { [ "${1:-}" = backup ] || [ "${1:-}" = restore ]; }; then
  if [[ "${JAVA_OPTS:-}" != *-XX:+Use*GC* ]]; then opts+=(-XX:+UseSerialGC); fi
  if [ "$heap_named" = false ]; then opts+=(-Xms8m -Xmx64m); fi
elif [ "$heap_named" = false ]; then
  if [ "$name" = picotunnel-client ]; then opts+=(-Xms32m); else opts+=(-Xms128m); fi
fi
if [ "$java_major" -ge 22 ]; then opts+=(-XX:TrimNativeHeapInterval=1000); fi
# shellcheck disable=SC2086 # JAVA_OPTS holds several flags
exec "$java_bin" "${opts[@]}" ${JAVA_OPTS:-} -jar "$home/lib/$name.jar" "$@"
