#!/usr/bin/env bash
# CI check that `make dev-server` (the README's first command) really starts a server: runs it on free
# ports in a scratch data directory, waits for /health and the printed admin token, then stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
api=$(free_port)
work=$(mktemp -d)
log="$work/dev-server.log"
export PICOTUNNEL_LISTEN_ADDR="127.0.0.1:$api" PICOTUNNEL_TUNNEL_ADDR="127.0.0.1:$(free_port)" \
  PICOTUNNEL_HTTP_ADDR="127.0.0.1:$(free_port)" PICOTUNNEL_HTTPS_ADDR="127.0.0.1:$(free_port)"
setsid make --no-print-directory dev-server DATA="$work/data" >"$log" 2>&1 &
group=$!
cleanup() { kill -TERM -- "-$group" 2>/dev/null || true; wait "$group" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 300); do
  if grep -q "Admin token" "$log" 2>/dev/null && curl -fs "http://127.0.0.1:$api/health" >/dev/null; then
    token=$(tr -d '\n' <"$work/data/admin-token")
    curl -fs -H "Authorization: Bearer $token" "http://127.0.0.1:$api/api/tunnels" >/dev/null
    echo "dev-server smoke: server up on :$api, admin token printed and accepted"
    exit 0
  fi
  if ! kill -0 "$group" 2>/dev/null; then break; fi
  sleep 1
done
echo "dev-server smoke: the server did not come up; its output:" >&2
cat "$log" >&2
exit 1
