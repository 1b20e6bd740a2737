#!/usr/bin/env bash
# Runs the README's walk-through (the bash blocks between the walkthrough markers) exactly as written,
# against built executables, and checks that the published service answers. Only the port numbers are
# swapped for free ones, so that it can run next to other servers.
# Usage: scripts/readme-walkthrough.sh [DIST_DIR]   (default: ./dist, as left by `make build`)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dist="$(cd "${1:-$root/dist}" && pwd)"
for exe in picotunnel-server picotunnel-client; do
  [ -x "$dist/$exe" ] || { echo "readme-walkthrough: $dist/$exe is missing; run 'make build' first" >&2; exit 1; }
done

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

commands="$(awk '
  /<!-- walkthrough:begin/ { inside = 1; next }
  /<!-- walkthrough:end/ { inside = 0 }
  inside && /^```bash$/ { block = 1; next }
  inside && /^```$/ { block = 0; next }
  block { print }
' "$root/README.md")"
if [ -z "$commands" ]; then
  echo "readme-walkthrough: no walk-through blocks found in README.md" >&2
  exit 1
fi
for port in 8080 8443 8000 8444 2222 9000; do
  commands="$(printf '%s\n' "$commands" | sed -E "s/(^|[^0-9])$port([^0-9]|$)/\1$(free_port)\2/g")"
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ln -s "$dist" "$work/dist"
cat > "$work/walkthrough.sh" <<SCRIPT
set -euo pipefail
trap 'kill \$(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true' EXIT
$commands
SCRIPT

echo "readme-walkthrough: running in $work:"
sed 's/^/  | /' "$work/walkthrough.sh"
if ! (cd "$work" && timeout 150 bash "$work/walkthrough.sh" > "$work/out.txt" 2>&1); then
  echo "readme-walkthrough: the walk-through failed; its output:" >&2
  sed 's/^/  > /' "$work/out.txt" >&2
  exit 1
fi
if ! grep -q "hello through the tunnel" "$work/out.txt"; then
  echo "readme-walkthrough: the TCP service did not answer with the demo page; output:" >&2
  sed 's/^/  > /' "$work/out.txt" >&2
  exit 1
fi
echo "readme-walkthrough: OK, the published service answered through the tunnel"
