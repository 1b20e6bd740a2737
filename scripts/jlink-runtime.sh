#!/usr/bin/env bash
# Makes the Java runtime the release archive and the Docker images ship: only the modules the server and the
# client use (jdeps on the shaded jars, plus jdk.unsupported for Netty, DNS for JNDI, JFR for profiling).
# Usage: scripts/jlink-runtime.sh JAVA_HOME OUTPUT_DIR
set -euo pipefail
java_home="$1"
output="$2"
modules=java.base,java.desktop,java.instrument,java.management,java.naming,java.net.http,java.rmi
modules+=,java.security.jgss,java.sql,jdk.jfr,jdk.unsupported,jdk.naming.dns,jdk.management,jdk.management.jfr
modules+=,jdk.crypto.cryptoki,jdk.zipfs
rm -rf "$output"
"$java_home/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
  --compress=zip-6 --output "$output"
