#!/bin/sh
# The server image's HEALTHCHECK: GET /health on the management listener, at the address the server reads: the
# --listen-addr (or --listen-addr=) on the container's command line, else PICOTUNNEL_LISTEN_ADDR, else :8080.
# A listener on every interface (:8080, 0.0.0.0:8080, [::]:8080) is asked on loopback; one on a given address
# (127.0.0.2:8080, [::1]:8080, 10.0.0.5:8080) at that address.
# Exit 0 when the server answers 200, 1 otherwise (Docker's "unhealthy").

# The command line is PID 1's: the server itself, or docker run --init's docker-init, whose arguments hold the
# server's. The last --listen-addr wins.
flag=
if [ -r /proc/1/cmdline ]; then
  flag=$(tr '\0' '\n' < /proc/1/cmdline | {
    value=
    next=
    while IFS= read -r arg; do
      if [ -n "$next" ]; then
        value=$arg
        next=
      else
        case "$arg" in
          --listen-addr) next=1 ;;
          --listen-addr=*) value=${arg#--listen-addr=} ;;
        esac
      fi
    done
    printf '%s' "$value"
  })
fi
addr=$(printf '%s' "${flag:-${PICOTUNNEL_LISTEN_ADDR:-:8080}}" | tr -d ' \t\r\n')
port=${addr##*:}
host=${addr%:*}
case "$host" in
  "" | 0.0.0.0) host=127.0.0.1 ;;
  "[::]" | "[0:0:0:0:0:0:0:0]") host="[::1]" ;;
esac
# --noproxy: an http_proxy of the container must not carry a request meant for this container's own listener.
curl --fail --silent --show-error --globoff --noproxy '*' --max-time 4 --output /dev/null \
  "http://$host:$port/health" || exit 1
