#!/usr/bin/env bash
# Prints the home of a JDK that can build and run PicoTunnel (Java 21 or newer):
# $JAVA_HOME when it is new enough, else the Temurin 25 JDK, else any JDK 21+ under /usr/lib/jvm.
set -u
major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
ok() { [ -x "$1/bin/javac" ] && [ "$(major "$1")" -ge 21 ] 2>/dev/null; }
for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
  if [ -n "$candidate" ] && ok "$candidate"; then echo "$candidate"; exit 0; fi
done
echo "no JDK 21 or newer found: install one (for example Temurin 25) or set JAVA_HOME" >&2
exit 1
