#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian machine, idempotently:
# Go with hashicorp/yamux and gorilla/websocket (interop peers), pebble (ACME tests), Chromium (UI tests),
# curl, jq, openssl and python3 (the README walk-through, run by scripts/readme-walkthrough.sh),
# iperf3, nginx with its stream module, wrk and sshd (the baselines of `make bench`, checked by the bench module's
# RunScriptIT),
# systemd-analyze (DeploymentFilesTest verifies the unit files with it; nothing is started).
set -euo pipefail
need=()
command -v go >/dev/null || need+=(golang-go)
[ -d /usr/share/gocode/src/github.com/hashicorp/yamux ] || need+=(golang-github-hashicorp-yamux-dev)
[ -d /usr/share/gocode/src/github.com/gorilla/websocket ] || need+=(golang-github-gorilla-websocket-dev)
command -v pebble >/dev/null || need+=(pebble)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null || need+=(nodejs npm)
for tool in curl jq openssl python3 iperf3 wrk; do command -v "$tool" >/dev/null || need+=("$tool"); done
[ -x /usr/sbin/nginx ] || need+=(nginx)
# Debian builds nginx's stream module (the bench's chained nginx relay bytes with it) as a package of its own.
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(libnginx-mod-stream)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v systemd-analyze >/dev/null || need+=(systemd)
# ss, which TcpServiceEndToEndTest reads sockets' keepalive timers with.
command -v ss >/dev/null || need+=(iproute2)
# The Prometheus text-format parser that MetricsTest reads /metrics with (run by /usr/bin/python3).
[ -f /usr/lib/python3/dist-packages/prometheus_client/parser.py ] || need+=(python3-prometheus-client)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${need[*]} (run as root, or: sudo apt-get install -y ${need[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # nginx and sshd are only baselines the bench starts itself: keep the packages from starting them as services
  # (on ports 80 and 22) while they install.
  policy=/usr/sbin/policy-rc.d
  added_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 0755 "$policy" && added_policy=1
  fi
  trap '[ "$added_policy" = 1 ] && rm -f "$policy"' EXIT
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi
