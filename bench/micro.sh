#!/usr/bin/env bash
# `make bench-micro`: PicoTunnel's JMH micro-benchmarks (in-process: yamux sessions and a server and client in
# one JVM) and a table of each scenario against plain loopback TCP, measured in the same invocation:
# scenario | baseline | picotunnel | ratio. See bench/README.md; --help lists the options. `make bench` (run.sh)
# measures the real executables instead.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
JAVA_HOME="$(bash scripts/find-jdk.sh)"
export JAVA_HOME

build=1
args=()
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    *) args+=("$arg") ;;
  esac
done

jar=bench/target/picotunnel-bench-all.jar
if [ "$build" = 1 ]; then
  echo "building the benchmarks (mvn package -pl bench -am)..." >&2
  mvn -B -q -DskipTests -Dmaven.test.skip=true package -pl bench -am >&2
elif [ ! -f "$jar" ]; then
  echo "$jar is missing: run without --no-build first" >&2
  exit 2
fi

exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xms512m -Xmx512m ${BENCH_JAVA_OPTS:-} \
  -jar "$jar" "${args[@]+"${args[@]}"}"
