#!/usr/bin/env bash
# make dev-server: runs dist/picotunnel-server for local development with its data in ./dev-data/
# (or the directory given as $1), then prints where everything is and the admin token.
# Ports (all unprivileged, so no root is needed):
#   management UI + API  http://localhost:8080
#   tunnel endpoint      ws://localhost:8443/tunnel   (clients: --server ws://localhost:8443)
#   HTTP proxy           :8000   (instead of :80)
#   HTTPS proxy          :8444   (instead of :443)
# Override with the usual PICOTUNNEL_* variables or flags after the data directory.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-./dev-data}"
shift || true
server=./dist/picotunnel-server
if [ ! -x "$server" ]; then
  echo "dev-server: $server is missing; run 'make build-server' first" >&2
  exit 1
fi
mkdir -p "$data"
listen="${PICOTUNNEL_LISTEN_ADDR:-127.0.0.1:8080}"
tunnel="${PICOTUNNEL_TUNNEL_ADDR:-:8443}"
http="${PICOTUNNEL_HTTP_ADDR:-:8000}"
https="${PICOTUNNEL_HTTPS_ADDR:-:8444}"
"$server" --data "$data" --listen-addr "$listen" --tunnel-addr "$tunnel" \
  --http-addr "$http" --https-addr "$https" "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null' INT TERM

port="${listen##*:}"
for _ in $(seq 1 150); do
  if curl -fsS -o /dev/null "http://localhost:$port/health" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid"
    exit $?
  fi
  sleep 0.2
done
if ! curl -fsS -o /dev/null "http://localhost:$port/health" 2>/dev/null; then
  echo "dev-server: the server did not answer http://localhost:$port/health within 30 s" >&2
  kill -TERM "$pid" 2>/dev/null || true
  exit 1
fi

token="${PICOTUNNEL_ADMIN_TOKEN:-}"
if [ -z "$token" ] && [ -r "$data/admin-token" ]; then
  token="$(cat "$data/admin-token")"
fi
cat <<INFO

  PicoTunnel dev server is running (data in $data)
    Management UI + API : http://localhost:$port
    Admin token         : ${token:-"(authentication is off)"}
    Tunnel endpoint     : ws://localhost:${tunnel##*:}/tunnel  (picotunnel-client --server ws://localhost:${tunnel##*:})
    HTTP proxy          : http://localhost:${http##*:}   HTTPS proxy: https://localhost:${https##*:}

  Stop with Ctrl-C.
INFO
wait "$pid"
