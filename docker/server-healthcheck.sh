#!/bin/sh
# The server image's HEALTHCHECK: GET /health on the management listener, at the address PICOTUNNEL_LISTEN_ADDR
# gives it (default :8080) as the server reads it. A listener on every interface (:8080, 0.0.0.0:8080, [::]:8080)
# is asked on loopback; one on a given address (127.0.0.2:8080, [::1]:8080, 10.0.0.5:8080) at that address.
# Exit 0 when the server answers 200, 1 otherwise (Docker's "unhealthy").
addr=$(printf '%s' "${PICOTUNNEL_LISTEN_ADDR:-:8080}" | tr -d ' \t\r\n')
port=${addr##*:}
host=${addr%:*}
case "$host" in
  "" | 0.0.0.0) host=127.0.0.1 ;;
  "[::]" | "[0:0:0:0:0:0:0:0]") host="[::1]" ;;
esac
# --noproxy: an http_proxy of the container must not carry a request meant for this container's own listener.
curl --fail --silent --show-error --globoff --noproxy '*' --max-time 4 --output /dev/null \
  "http://$host:$port/health" || exit 1
