#!/usr/bin/env bash
# Lays out PicoTunnel as it is installed, from the packaged jars (server/target, client/target):
#   bin/picotunnel-server, bin/picotunnel-client   launchers (scripts/launcher.sh; they resolve symlinks)
#   lib/picotunnel-server.jar, lib/picotunnel-client.jar
#   runtime/                                       a Java runtime made by jlink: no Java needs to be installed
#   systemd/*.service
#   README.md and what it links to: SECURITY.md, docker-compose.yml, docs/*.md, bench/README.md, examples/
# Usage:
#   scripts/dist.sh [OUT_DIR]                      the release archive OUT_DIR/picotunnel-<version>-linux-x64.tar.gz
#                                                  (default OUT_DIR: ./dist), one directory picotunnel-<version>/
#   scripts/dist.sh --stage DIR [server|client]    the same tree in DIR, for one executable or both (the Docker
#                                                  images use it for /opt/picotunnel)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="$(sed -n 's:^  <version>\(.*\)</version>.*:\1:p' "$root/pom.xml" | head -1)"
java_home="${JAVA_HOME:-$(bash "$root/scripts/find-jdk.sh")}"

# stage DIR NAME...: bin/, lib/, runtime/, systemd/ for the executables named, README.md and the documents it links to
stage() {
  local home="$1"
  shift
  mkdir -p "$home/bin" "$home/lib" "$home/systemd"
  for exe in "$@"; do
    local jar="$root/${exe#picotunnel-}/target/$exe-all.jar"
    [ -f "$jar" ] || { echo "dist: $jar is missing; build first (make build)" >&2; exit 1; }
    install -m 0755 "$root/scripts/launcher.sh" "$home/bin/$exe"
    install -m 0644 "$jar" "$home/lib/$exe.jar"
    install -m 0644 "$root/packaging/systemd/$exe.service" "$home/systemd/"
  done
  # ReleaseArchiveIT checks that every relative link of a Markdown file here leads to a file here.
  install -m 0644 "$root/README.md" "$root/SECURITY.md" "$root/docker-compose.yml" "$home/"
  install -d "$home/docs" "$home/bench"
  install -m 0644 "$root"/docs/*.md "$home/docs/"
  install -m 0644 "$root/bench/README.md" "$home/bench/"
  # examples/: in a checkout its tracked files only (an untracked one, a local manifest with secrets say, stays out);
  # outside one (a Docker build context without .git) every file.
  local file
  while IFS= read -r file; do
    install -D -m 0644 "$root/$file" "$home/$file"
  done < <(cd "$root" && { git ls-files examples 2>/dev/null || find examples -type f; } | sort)
  bash "$root/scripts/jlink-runtime.sh" "$java_home" "$home/runtime"
}

if [ "${1:-}" = "--stage" ]; then
  [ -n "${2:-}" ] || { echo "usage: scripts/dist.sh --stage DIR [server|client]" >&2; exit 2; }
  case "${3:-both}" in
    server) stage "$2" picotunnel-server ;;
    client) stage "$2" picotunnel-client ;;
    both) stage "$2" picotunnel-server picotunnel-client ;;
    *) echo "dist: unknown executable '$3' (server or client)" >&2; exit 2 ;;
  esac
  exit 0
fi

out="$(mkdir -p "${1:-$root/dist}" && cd "${1:-$root/dist}" && pwd)"
name="picotunnel-$version"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
stage "$work/$name" picotunnel-server picotunnel-client
archive="$out/$name-linux-x64.tar.gz"
tar -C "$work" --owner=0 --group=0 -czf "$archive.tmp" "$name"
mv "$archive.tmp" "$archive"
echo "built $archive"
