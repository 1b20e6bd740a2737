#!/usr/bin/env bash
# `make bench`: PicoTunnel's real executables (dist/picotunnel-server and dist/picotunnel-client) against
# external baselines measured in the same run (iperf3 direct and through `ssh -R`, nginx as a reverse proxy,
# two nginx chained (the tunnel's two processes doing no tunnel work), plain TCP through the same delay relay, a
# direct echo), printed as ONE table on standard output:
#   metric | baseline | picotunnel | ratio | goal | met
# Progress goes to standard error. Everything listens on 127.0.0.1 only; every process started here is stopped
# at the end, on failure too. See bench/README.md; --help lists the options.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

usage() {
  cat <<'EOF'
usage: bench/run.sh [--quick] [--idle N] [--warmup-seconds S] [--warmup-max-seconds S] [--iperf-seconds S]
                    [--iperf-rounds N] [--wrk-seconds S] [--wrk-warmup-seconds S] [--wrk-rounds N] [--delay-seconds S] [--rtt-samples N]
                    [--rtt-rounds N] [--checks-calls N] [--dist DIR | --from-target] [--keep-work]
  --quick            every row, briefly (small sizes, 1 s runs, a few hundred idle connections): checks that
                     the bench works, its numbers are rough
  --idle N           idle connections opened through a tcp service (default 10000, quick 300)
  --warmup-seconds S iperf3 through each tunnel before its first measured run, for the JVMs' compilers, in six
                     runs with 1 and 8 streams in turn (default 15, quick 0)
  --warmup-max-seconds S
                     then two more runs through each tunnel (1 and 8 streams) at a time while the JVMs' compiler
                     threads used more than 3% of the last runs' time, up to S s through each tunnel in all (default
                     the six runs and one such pair, 24 s: the bench stays near 10 minutes): measured on 2 cores,
                     they used a quarter of a CPU in each JVM for the first 25 s of 8 streams, while the throughput
                     rose from a third of its steady value
  --iperf-seconds S  length of each iperf3 run, after 2 s omitted (default 5, quick 1 without omitting)
  --iperf-rounds N   measured iperf3 runs per path and stream count, the paths taking turns (direct, ssh -R, ws,
                     wss, then again); each row gives the median of its path's runs (default 3, quick 1)
  --wrk-seconds S    length of each measured wrk run (default 10, quick 1)
  --wrk-rounds N     measured wrk runs per path, the paths taking turns (nginx, http service, tcp service, then
                     again), so that a machine that slows down for a minute slows every path alike; each row
                     gives the median of its path's runs (default 3, quick 1)
  --wrk-warmup-seconds S
                     wrk through each tunnel path before the first measured wrk run, in three runs with new
                     connections each, not measured (default 30, quick 0): the HTTP path is other code than
                     iperf3's, and the JVMs' compilers take some 30 s of load on 2 cores before they go quiet
                     (measured: their threads used 4.6 s of CPU in a 10 s run after a 5 s warm-up, 0.7 s after
                     40 s, 0.2 s after three runs of 12 s); the nginx paths get at most 6 s of it
  --delay-seconds S  length of each iperf3 run over the 50 ms RTT link, after 2 s omitted (default 8, quick 2)
  --rtt-samples N    64-byte round trips timed per path in each run (default 10000, quick 500)
  --rtt-rounds N     round-trip runs per path, the paths taking turns, each on a new connection; each row gives
                     the median of its path's runs (default 3, quick 1)
  --checks-calls N   timed calls of each monitoring endpoint on a year of checks, after a quarter as many
                     (at least 20) untimed (default 200, quick 50)
  --dist DIR         where picotunnel-server and picotunnel-client are (default dist, from `make build`)
  --from-target      run the jars the module builds left in server/target and client/target instead of dist/
                     (through the same launcher); for the build's own check (RunScriptIT)
  --keep-work        keep the scratch directory (logs, configurations) and print where it is
Needs iperf3, nginx with its stream module, wrk, sshd/ssh, openssl, curl, jq and python3: `make setup` installs
them.
EOF
}

quick=0 idle_count="" warm_s="" warm_max="" iperf_s="" iperf_rounds="" wrk_s="" wrk_warm="" wrk_rounds="" delay_s="" rtt_samples="" rtt_rounds="" checks_calls="" dist="dist" from_target=0 keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --idle) idle_count="$2"; shift ;;
    --warmup-seconds) warm_s="$2"; shift ;;
    --warmup-max-seconds) warm_max="$2"; shift ;;
    --iperf-seconds) iperf_s="$2"; shift ;;
    --iperf-rounds) iperf_rounds="$2"; shift ;;
    --wrk-seconds) wrk_s="$2"; shift ;;
    --wrk-warmup-seconds) wrk_warm="$2"; shift ;;
    --wrk-rounds) wrk_rounds="$2"; shift ;;
    --delay-seconds) delay_s="$2"; shift ;;
    --rtt-samples) rtt_samples="$2"; shift ;;
    --rtt-rounds) rtt_rounds="$2"; shift ;;
    --checks-calls) checks_calls="$2"; shift ;;
    --dist) dist="$2"; shift ;;
    --from-target) from_target=1 ;;
    --keep-work) keep=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then
  : "${idle_count:=300}" "${warm_s:=0}" "${iperf_s:=1}" "${wrk_s:=1}" "${delay_s:=2}" "${rtt_samples:=500}"
  : "${checks_calls:=50}"
  : "${wrk_warm:=0}" "${wrk_rounds:=1}" "${iperf_rounds:=1}" "${rtt_rounds:=1}"
  iperf_omit=0 delay_omit=0 rtt_warmup=200
else
  : "${idle_count:=10000}" "${warm_s:=15}" "${iperf_s:=5}" "${wrk_s:=10}" "${delay_s:=8}" "${rtt_samples:=10000}"
  : "${checks_calls:=200}"
  : "${wrk_warm:=30}" "${wrk_rounds:=3}" "${iperf_rounds:=3}" "${rtt_rounds:=3}"
  iperf_omit=2 delay_omit=2 rtt_warmup=2000
fi
: "${warm_max:=$((8 * ((warm_s + 5) / 6)))}"
for n in "$warm_s" "$warm_max" "$wrk_warm"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "bench: '$n' is not a whole number" >&2; exit 2; }
done
for n in "$idle_count" "$iperf_s" "$iperf_rounds" "$wrk_s" "$wrk_rounds" "$delay_s" "$rtt_samples" "$rtt_rounds" "$checks_calls"; do
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -gt 0 ] || { echo "bench: '$n' is not a positive whole number" >&2; exit 2; }
done

log() { echo "bench $(date -u +%H:%M:%S): $*" >&2; }
die() { log "$*"; exit 1; }

PATH="$PATH:/usr/sbin:/sbin" # nginx and sshd live there on Debian
missing=()
for tool in iperf3 nginx wrk ssh ssh-keygen openssl curl jq python3 setsid timeout; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
[ -x /usr/sbin/sshd ] || missing+=(sshd)
# The chained nginx relay bytes with the stream module: built in, or Debian's libnginx-mod-stream to load.
stream_module=""
if [ -f /usr/lib/nginx/modules/ngx_stream_module.so ]; then
  stream_module="load_module /usr/lib/nginx/modules/ngx_stream_module.so;"
elif ! { command -v nginx >/dev/null && nginx -V 2>&1 | tr ' ' '\n' | grep -qx -- --with-stream; }; then
  missing+=("nginx's stream module (libnginx-mod-stream)")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: missing ${missing[*]}: run \`make setup\` (scripts/install-deps.sh installs them as root)" >&2
  exit 2
fi

JAVA_HOME="$(bash scripts/find-jdk.sh)"
export JAVA_HOME
java="$JAVA_HOME/bin/java"
bench_jar="$root/bench/target/picotunnel-bench-all.jar"

work="$(mktemp -d "${TMPDIR:-/tmp}/picotunnel-bench.XXXXXX")"
mkdir -p "$work/logs"
declare -a pids=()
declare -A names=()

# Whether a process started by spawn still runs: asks this shell's job table, never a bare pid, which another
# process may have taken once ours ended.
running() { jobs -pr | grep -qx "$1"; }

# Stops one process started by spawn: SIGTERM to its process group, SIGKILL after 10 s.
stop() {
  local pid=$1 i
  if running "$pid"; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
      running "$pid" || break
      sleep 0.1
    done
    if running "$pid"; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
  fi
  wait "$pid" 2>/dev/null || true
  for i in "${!pids[@]}"; do
    if [ "${pids[$i]}" = "$pid" ]; then unset 'pids[i]'; fi
  done
  return 0
}

cleanup() {
  local status=$? i all=("${pids[@]}")
  trap - EXIT INT TERM
  for ((i = ${#all[@]} - 1; i >= 0; i--)); do
    stop "${all[$i]}"
  done
  if [ "$keep" = 1 ] || [ "$status" != 0 ]; then
    log "logs and configurations kept in $work"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts a command in a process group of its own (so its children stop with it), output to logs/NAME.log;
# its pid is left in $spawned.
spawn() {
  local name=$1
  shift
  setsid "$@" >"$work/logs/$name.log" 2>&1 </dev/null &
  spawned=$!
  pids+=("$spawned")
  names[$spawned]=$name
}

# Whether something listens on 127.0.0.1:PORT (or any address), from /proc: probing with a connection would
# start a test in a one-off iperf3 server.
listening() {
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# wait_for WHAT SECONDS PID|- COMMAND...: polls COMMAND every 0.2 s; fails when PID exits or time is up.
wait_for() {
  local what=$1 seconds=$2 pid=$3 i
  shift 3
  for ((i = 0; i < seconds * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    if [ "$pid" != - ] && ! running "$pid"; then
      log "$what: ${names[$pid]:-process $pid} exited; the end of its log:"
      tail -n 20 "$work/logs/${names[$pid]}.log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
  log "$what: not within $seconds s"
  if [ "$pid" != - ]; then tail -n 20 "$work/logs/${names[$pid]}.log" >&2; fi
  return 1
}

results="$work/results.properties"
notes="$work/notes.txt"
: >"$results"
: >"$notes"
record() { echo "$1=$2" >>"$results"; }
note() { echo "# note: $*" >>"$notes"; log "note: $*"; }

# --- ports, executables, limits ---------------------------------------------------------------------------

# Ports below the kernel's ephemeral range: one from that range (bind to port 0) can be taken, minutes later when
# its listener starts (the delay relay's), by the local end of one of the bench's own outgoing connections.
read -r -a port <<<"$(python3 -c '
import random, socket
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except OSError:
    low = 32768
candidates = list(range(10000, low))
random.shuffle(candidates)
socks = []
for p in candidates:
    if len(socks) == 35:
        break
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); socks.append(s)
    except OSError:
        s.close()
while len(socks) < 35:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))')"
api_a=${port[0]} tunnel_a=${port[1]} http_a=${port[2]} https_a=${port[3]}
api_b=${port[4]} tunnel_b=${port[5]} http_b=${port[6]} https_b=${port[7]}
iperf_port=${port[8]} nginx_target=${port[9]} nginx_proxy=${port[10]} ssh_port=${port[11]} ssh_fwd=${port[12]}
svc_iperf_ws=${port[13]} svc_iperf_wss=${port[14]} svc_http_tcp=${port[15]} svc_rtt=${port[16]}
svc_idle=${port[17]} svc_delay=${port[18]} holder=${port[19]} echo_port=${port[20]}
relay_plain=${port[21]} relay_tunnel=${port[22]}
api_c=${port[23]} tunnel_c=${port[24]} http_c=${port[25]} https_c=${port[26]} ssh_rtt=${port[27]}
chain_http=${port[29]} chain_iperf=${port[30]} chain_rtt=${port[31]}
chain_back_http=${port[32]} chain_back_iperf=${port[33]} chain_back_rtt=${port[34]}
checks_warmup=$((checks_calls / 4 > 20 ? checks_calls / 4 : 20))

if [ "$from_target" = 1 ]; then
  dist="$work/dist"
  mkdir -p "$dist/lib"
  for name in server client; do
    jar="$root/$name/target/picotunnel-$name-all.jar"
    [ -f "$jar" ] || die "$jar is missing: build it first (mvn -DskipTests package)"
    ln -s "$jar" "$dist/lib/picotunnel-$name.jar"
    install -m 0755 scripts/launcher.sh "$dist/picotunnel-$name"
  done
fi
dist="$(cd "$dist" 2>/dev/null && pwd)" || die "no directory $dist: run \`make build\` first (\`make bench\` does)"
for exe in picotunnel-server picotunnel-client; do
  [ -x "$dist/$exe" ] || die "$dist/$exe is missing: run \`make build\` first (\`make bench\` does)"
done
[ -f "$bench_jar" ] || die "$bench_jar is missing: run \`make build\` first (\`make bench\` does)"
tool() { "$java" -Xms64m -Xmx1g -cp "$bench_jar" io.picotunnel.bench.tools.BenchTool "$@"; }

# The idle-connection holder keeps two descriptors per connection (its end and the tunnel's end).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fd_limit=$(ulimit -n)
if [ "$fd_limit" != unlimited ] && [ $((2 * (idle_count + idle_count / 10) + 1024)) -gt "$fd_limit" ]; then
  idle_count=$(((fd_limit - 1024) * 10 / 22))
  note "open files are limited to $fd_limit here: $idle_count idle connections instead"
fi

started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "scratch directory $work; load average $load_start"

# --- baselines: iperf3, sshd with ssh -R, nginx -----------------------------------------------------------

start_sshd() {
  local d="$work/ssh"
  mkdir -p "$d"
  chmod 700 "$d"
  ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$d/host_key"
  ssh-keygen -q -t ed25519 -N '' -C bench-user -f "$d/user_key"
  cp "$d/user_key.pub" "$d/authorized_keys"
  cat >"$d/sshd_config" <<EOF
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
AllowTcpForwarding remote
GatewayPorts no
X11Forwarding no
PermitTTY no
LogLevel ERROR
EOF
  # sshd wants its privilege separation directory even for this private instance (created at boot normally)
  if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then
    mkdir -p /run/sshd && chmod 755 /run/sshd
  fi
  spawn sshd /usr/sbin/sshd -D -e -f "$d/sshd_config"
  wait_for "sshd on :$ssh_port" 20 "$spawned" listening "$ssh_port" || return 1
  spawn ssh-R ssh -F /dev/null -N -T -i "$d/user_key" -p "$ssh_port" -o BatchMode=yes \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ExitOnForwardFailure=yes -o LogLevel=ERROR \
    -R "127.0.0.1:$ssh_fwd:127.0.0.1:$iperf_port" -R "127.0.0.1:$ssh_rtt:127.0.0.1:$echo_port" "$(id -un)@127.0.0.1"
  wait_for "ssh -R on :$ssh_fwd" 20 "$spawned" listening "$ssh_fwd"
}

# nginx_head DIR [LINE]: the start of an nginx configuration in DIR (LINE first, e.g. load_module), up to and into
# its http block, with what every nginx of the bench shares; DIR/tmp must exist
nginx_head() {
  local d=$1
  [ -n "${2:-}" ] && echo "$2"
  [ "$(id -u)" = 0 ] && echo "user $(id -un);"
  cat <<EOF
daemon off;
worker_processes auto;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  keepalive_requests 1000000;
EOF
}

# nginx_reverse_proxy NAME LISTEN_PORT TO_PORT: a reverse proxy with upstream keep-alive (keepalive 64, HTTP/1.1)
nginx_reverse_proxy() {
  cat <<EOF
  upstream $1 {
    server 127.0.0.1:$3;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$2;
    location / {
      proxy_pass http://$1;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
EOF
}

start_nginx() {
  local d="$work/nginx" body
  body=$(head -c 1024 /dev/zero | tr '\0' 'x')
  mkdir -p "$d/tmp"
  {
    echo "# nginx as a reverse proxy with upstream keep-alive (the baseline), in front of a 1 KiB answer (the target)"
    nginx_head "$d"
    nginx_reverse_proxy target "$nginx_proxy" "$nginx_target"
    cat <<EOF
  server {
    listen 127.0.0.1:$nginx_target;
    location / { default_type text/plain; return 200 "$body"; }
  }
}
EOF
  } >"$d/nginx.conf"
  spawn nginx nginx -p "$d/" -c "$d/nginx.conf" -e "$d/error.log"
  wait_for "nginx" 20 "$spawned" curl -fsS -o /dev/null "http://127.0.0.1:$nginx_proxy/"
}

# nginx_relay NAME HTTP_PORT HTTP_TO IPERF_PORT IPERF_TO RTT_PORT RTT_TO: one nginx that relays HTTP as a reverse
# proxy with upstream keep-alive (as the baseline) and iperf3's and the round trips' bytes as a stream proxy
nginx_relay() {
  local d="$work/$1"
  mkdir -p "$d/tmp"
  {
    nginx_head "$d" "$stream_module"
    nginx_reverse_proxy next "$2" "$3"
    cat <<EOF
}
stream {
  tcp_nodelay on;
  proxy_buffer_size 64k;
  server { listen 127.0.0.1:$4; proxy_pass 127.0.0.1:$5; }
  server { listen 127.0.0.1:$6; proxy_pass 127.0.0.1:$7; }
}
EOF
  } >"$d/nginx.conf"
  spawn "$1" nginx -p "$d/" -c "$d/nginx.conf" -e "$d/error.log"
}

# Two nginx chained, front to back, as the tunnel's server and client are: what two relaying processes reach on
# this machine when they do no tunnel work (no framing, no multiplexing, no WebSocket), each with a worker per core.
start_nginx_chain() {
  nginx_relay nginx-back "$chain_back_http" "$nginx_target" "$chain_back_iperf" "$iperf_port" "$chain_back_rtt" \
    "$echo_port"
  wait_for "nginx-back" 20 "$spawned" curl -fsS -o /dev/null "http://127.0.0.1:$chain_back_http/" || return 1
  nginx_relay nginx-front "$chain_http" "$chain_back_http" "$chain_iperf" "$chain_back_iperf" "$chain_rtt" \
    "$chain_back_rtt"
  wait_for "nginx-front" 20 "$spawned" curl -fsS -o /dev/null "http://127.0.0.1:$chain_http/"
}

# --- PicoTunnel: servers, tunnels, services, clients ------------------------------------------------------

admin=$(openssl rand -hex 32)
printf 'Authorization: Bearer %s\n' "$admin" >"$work/auth-header"
chmod 600 "$work/auth-header"

# api PORT METHOD PATH [JSON]: the management API of the server on PORT
api() {
  local args=(-fsS -X "$2" -H "@$work/auth-header")
  [ $# -ge 4 ] && args+=(-H "Content-Type: application/json" -d "$4")
  curl "${args[@]}" "http://127.0.0.1:$1$3"
}

# start_server NAME API TUNNEL HTTP HTTPS [FLAGS...]; its pid is left in $spawned
start_server() {
  local name=$1 a=$2 t=$3 h=$4 s=$5
  shift 5
  mkdir -p "$work/$name"
  spawn "$name" env PICOTUNNEL_ADMIN_TOKEN="$admin" "$dist/picotunnel-server" --data "$work/$name/data" --listen-addr "127.0.0.1:$a" \
    --tunnel-addr "127.0.0.1:$t" --http-addr "127.0.0.1:$h" --https-addr "127.0.0.1:$s" --shutdown-grace 0s "$@"
}

# new_tunnel API NAME: prints "ID TOKEN"
new_tunnel() {
  api "$1" POST /api/tunnels "{\"name\": \"$2\"}" | jq -r '"\(.id) \(.token)"'
}

# tcp_service API TUNNEL_ID LISTEN_PORT TARGET_PORT (no health probe: it would be one more connection to the
# target, and iperf3 -s -1 takes the first connection as its one test)
tcp_service() {
  api "$1" POST "/api/tunnels/$2/services" "{\"type\": \"tcp\", \"listen_addr\": \"127.0.0.1:$3\", \
\"target_addr\": \"127.0.0.1:$4\", \"enabled\": true, \"health_check\": false}" >/dev/null
}

# start_client NAME TOKEN SERVER_URL [FLAGS...]; its pid is left in $spawned
start_client() {
  local name=$1 token=$2 url=$3
  shift 3
  spawn "$name" env PICOTUNNEL_TOKEN="$token" "$dist/picotunnel-client" --server "$url" --shutdown-grace 0s "$@"
}

connected() { api "$1" GET "/api/tunnels/$2" | jq -e .connected; }

# --- measurements -----------------------------------------------------------------------------------------

# median FILE COLUMN: the median of a column of numbers (the mean of the middle two when their count is even)
median() {
  cut -d' ' -f"$2" "$1" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# record_runs KEY FILE COLUMN: records the median of FILE's column as KEY, and each line's (each round's) as KEY@1,
# KEY@2, ...: the table divides each round's tunnel run by the same round's baseline run
record_runs() {
  record "$1" "$(median "$2" "$3")"
  cut -d' ' -f"$3" "$2" | awk -v key="$1" '{ print key "@" NR "=" $1 }' >>"$results"
}

# record_median KEY FILE ROUNDS: record_runs of FILE's one column once it holds a number for every round (none when
# a run failed: the row then says n/a rather than a median of fewer runs, and no round is paired with another's)
record_median() {
  [ -f "$2" ] && [ "$(wc -l <"$2")" -eq "$3" ] || return 0
  record_runs "$1" "$2" 1
}

# iperf_run KEY PORT STREAMS SECONDS OMIT [warm-up]: iperf3 to PORT, whose path ends at a one-off iperf3 server;
# records MiB/s as KEY unless it is a warm-up
iperf_run() {
  local key=$1 to=$2 streams=$3 secs=$4 omit=$5 warm=${6:-} server out="$work/logs/iperf-$1.json" mib
  spawn "iperf3-server-$key" iperf3 -s -1 -B 127.0.0.1 -p "$iperf_port"
  server=$spawned
  if wait_for "iperf3 server" 10 "$server" listening "$iperf_port"; then
    if timeout $((secs + omit + 30)) iperf3 -c 127.0.0.1 -p "$to" -P "$streams" -t "$secs" -O "$omit" -J \
        >"$out" 2>>"$work/logs/iperf-$key.err"; then
      mib=$(jq '.end.sum_received.bits_per_second / 8 / 1048576' "$out")
      [ -n "$warm" ] || echo "$mib" >>"$work/$key.runs"
      log "iperf3 $key: $(printf '%.1f' "$mib") MiB/s"
    else
      log "iperf3 $key failed: $(jq -r '.error // empty' "$out" 2>/dev/null) $(tail -c 300 "$work/logs/iperf-$key.err")"
    fi
  fi
  stop "$server"
}

# wrk_latency_ms PERCENTILE FILE: a line of wrk's latency distribution, in ms
wrk_latency_ms() {
  awk -v q="$1" '$1 == q { v = $2
    if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) }
    else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }
    printf "%.4f\n", v; exit }' "$2"
}

# wrk_warm KEY URL [HOST]: --wrk-warmup-seconds of load, not measured, in three runs each with new connections: after
# one long run, the measured run's new connections sent the JVMs back into their compilers (uncommon traps on the
# paths that open and close connections). nginx has no compiler to wait for: at most 6 s for its paths.
wrk_warm() {
  local url=$2 seconds=$wrk_warm part i headers=()
  if [[ "$1" == nginx* ]] && [ "$seconds" -gt 6 ]; then seconds=6; fi
  part=$(((seconds + 2) / 3))
  [ $# -ge 3 ] && headers=(-H "Host: $3")
  for i in 1 2 3; do
    [ "$seconds" -gt 0 ] || break
    timeout $((part + 30)) wrk -t 2 -c 64 -d "${part}s" "${headers[@]}" "$url" >/dev/null 2>&1 || true
  done
}

# wrk_measure KEY ROUND URL [HOST]: one measured run of 64 connections for --wrk-seconds; its req/s, p50 and p99 (ms)
# go as a line to $work/wrk-KEY.runs
wrk_measure() {
  local key=$1 round=$2 url=$3 out="$work/logs/wrk-$1-$2.txt" rps p50 p99 bad errors headers=()
  [ $# -ge 4 ] && headers=(-H "Host: $4")
  if ! timeout $((wrk_s + 30)) wrk -t 2 -c 64 -d "${wrk_s}s" --latency "${headers[@]}" "$url" >"$out" 2>&1; then
    log "wrk $key failed: $(tail -n 5 "$out")"
    return 0
  fi
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  p50=$(wrk_latency_ms 50% "$out")
  p99=$(wrk_latency_ms 99% "$out")
  bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
  errors=$(awk -F'[ ,]+' '/Socket errors:/ { print $4 + $6 + $8 + $10 }' "$out")
  [ -n "$rps" ] && [ -n "$p50" ] && [ -n "$p99" ] && echo "$rps $p50 $p99" >>"$work/wrk-$key.runs"
  [ -n "$bad" ] && note "wrk through $key (run $round): $bad responses were not 2xx/3xx (counted in req/s)"
  [ -n "$errors" ] && [ "$errors" != 0 ] && note "wrk through $key (run $round): $errors socket errors (connect, read, write, timeout)"
  log "wrk $key, run $round: ${rps:-?} req/s, p50 ${p50:-?} ms, p99 ${p99:-?} ms"
}

# wrk_record KEY: record_runs of each column of the path's measured runs (none when a run failed: the row then says
# n/a rather than a median of fewer runs)
wrk_record() {
  local key=$1 runs="$work/wrk-$1.runs" col
  [ -f "$runs" ] && [ "$(wc -l <"$runs")" -eq "$wrk_rounds" ] || return 0
  for col in 1:rps 2:p50_ms 3:p99_ms; do
    record_runs "http_${key}_${col#*:}" "$runs" "${col%%:*}"
  done
}

# --- run ----------------------------------------------------------------------------------------------------

log "starting sshd, nginx (one, and two chained) and two PicoTunnel servers (ws, and wss with a self-signed certificate)"
mkdir -p "$work/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench.test" \
  -addext "subjectAltName=DNS:bench.test" -keyout "$work/tls/bench.test.key" -out "$work/tls/bench.test.crt" \
  2>"$work/logs/openssl.log"
# The idle connections all come from 127.0.0.1 through one tcp service: above the default connection limits.
start_server server-ws "$api_a" "$tunnel_a" "$http_a" "$https_a" \
  --max-connections $((idle_count + 1000)) --max-connections-per-address $((idle_count + 1000))
server_ws=$spawned
start_server server-wss "$api_b" "$tunnel_b" "$http_b" "$https_b" --domain bench.test \
  --tls-cert "$work/tls/bench.test.crt" --tls-key "$work/tls/bench.test.key"
server_wss=$spawned
start_sshd || die "sshd or ssh -R did not start"
start_nginx || die "nginx did not start"
start_nginx_chain || die "the chained nginx did not start"
wait_for "server-ws" 90 "$server_ws" curl -fs "http://127.0.0.1:$api_a/health" || die "server-ws did not start"
wait_for "server-wss" 90 "$server_wss" curl -fs "http://127.0.0.1:$api_b/health" || die "server-wss did not start"

read -r tunnel_ws token_ws <<<"$(new_tunnel "$api_a" bench-ws)"
read -r tunnel_wss token_wss <<<"$(new_tunnel "$api_b" bench-wss)"
read -r tunnel_delay token_delay <<<"$(new_tunnel "$api_a" bench-delay)"
tcp_service "$api_a" "$tunnel_ws" "$svc_iperf_ws" "$iperf_port"
tcp_service "$api_a" "$tunnel_ws" "$svc_http_tcp" "$nginx_target"
tcp_service "$api_a" "$tunnel_ws" "$svc_rtt" "$echo_port"
tcp_service "$api_a" "$tunnel_ws" "$svc_idle" "$holder"
api "$api_a" POST "/api/tunnels/$tunnel_ws/services" "{\"type\": \"http\", \"domain\": \"bench.test\", \
\"target_addr\": \"127.0.0.1:$nginx_target\", \"enabled\": true, \"health_check\": false}" >/dev/null
tcp_service "$api_b" "$tunnel_wss" "$svc_iperf_wss" "$iperf_port"
tcp_service "$api_a" "$tunnel_delay" "$svc_delay" "$iperf_port"

start_client client-ws "$token_ws" "ws://127.0.0.1:$tunnel_a"
client_ws=$spawned
start_client client-wss "$token_wss" "wss://127.0.0.1:$tunnel_b" --insecure
client_wss=$spawned
wait_for "client-ws connected" 90 "$client_ws" connected "$api_a" "$tunnel_ws" || die "client-ws did not connect"
wait_for "client-wss connected" 90 "$client_wss" connected "$api_b" "$tunnel_wss" || die "client-wss did not connect"
log "ready after $SECONDS s"

log "idle connections: $idle_count through a tcp service (RSS of server-ws and client-ws)"
if tool idle --holder-port "$holder" --service "127.0.0.1:$svc_idle" --count "$idle_count" \
    --warmup $((idle_count / 10 > 500 ? 500 : idle_count / 10 + 1)) --pid "server=$server_ws" \
    --pid "client=$client_ws" --timeout-s $((60 + idle_count / 50)) >"$work/idle.out" 2>>"$work/logs/idle.log"; then
  cat "$work/idle.out" >>"$results"
  tail -n 3 "$work/logs/idle.log" >&2
else
  log "idle connections failed: $(tail -n 3 "$work/logs/idle.log")"
fi

# The warm-up takes the streams and the connection changes that are measured: 1 and 8 streams in turn, six runs
# per tunnel, each with new connections. After one long run of 4 streams, the first measured runs' new connections
# and stream counts sent the JVMs back into their compilers (uncommon traps in the epoll loop, the decoders and the
# relay; the client's C2 thread took 2 s of CPU in a 6 s run), and the first round read up to a fifth lower.
# compiler_ticks PID...: the CPU time, in clock ticks, that the JIT compiler threads of these JVMs have used so far
compiler_ticks() {
  local pid task total=0 times
  for pid in "$@"; do
    for task in /proc/"$pid"/task/*; do
      case "$(cat "$task/comm" 2>/dev/null)" in
        "C1 CompilerThre"* | "C2 CompilerThre"*)
          times=$(sed 's/^.*) //' "$task/stat" 2>/dev/null | cut -d' ' -f12-13) || continue
          [ -n "$times" ] && total=$((total + ${times% *} + ${times#* }))
          ;;
      esac
    done
  done
  echo "$total"
}
ms_as_s() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }
tunnel_jvms=("$server_ws" "$client_ws" "$server_wss" "$client_wss")
clock_ticks=$(getconf CLK_TCK)

warm_runs=0 warm_note="no warm-up"
if [ "$warm_s" -gt 0 ]; then
  warm_part=$(((warm_s + 5) / 6))
  log "warming up: iperf3 with 1 and 8 streams in turn, six runs of $warm_part s through each tunnel (not measured), \
then two more at a time while the JVMs' compilers are busy, up to $warm_max s"
  warm_streams_list=(1 8 1 8 1 8)
  warm_load=0
  while :; do
    ticks_before=$(compiler_ticks "${tunnel_jvms[@]}") pass_start=$(date +%s%N)
    for warm_streams in "${warm_streams_list[@]}"; do
      iperf_run warmup_ws "$svc_iperf_ws" "$warm_streams" "$warm_part" 0 warm-up
      iperf_run warmup_wss "$svc_iperf_wss" "$warm_streams" "$warm_part" 0 warm-up
    done
    warm_runs=$((warm_runs + ${#warm_streams_list[@]})) warm_load=$((warm_load + ${#warm_streams_list[@]} * warm_part))
    pass_ms=$((($(date +%s%N) - pass_start) / 1000000))
    busy_ms=$((($(compiler_ticks "${tunnel_jvms[@]}") - ticks_before) * 1000 / clock_ticks))
    warm_note="$warm_runs runs of $warm_part s through each tunnel first, 1 and 8 streams in turn (the JVMs' compilers \
used $(ms_as_s "$busy_ms") s of CPU in the last $(ms_as_s "$pass_ms") s of them)"
    [ $((busy_ms * 100)) -gt $((pass_ms * 3)) ] && [ $((warm_load + 2 * warm_part)) -le "$warm_max" ] || break
    log "the JVMs' compilers used $(ms_as_s "$busy_ms") s of CPU in the last $(ms_as_s "$pass_ms") s: two more runs"
    warm_streams_list=(1 8)
  done
fi
measured_ticks=$(compiler_ticks "${tunnel_jvms[@]}")

log "iperf3: direct, ssh -R, tcp service over ws and over wss, two chained nginx; 1 and 8 streams; $iperf_rounds runs each, in turn"
for streams in 1 8; do
  for round in $(seq "$iperf_rounds"); do
    iperf_run "iperf_direct_$streams" "$iperf_port" "$streams" "$iperf_s" "$iperf_omit"
    iperf_run "iperf_ssh_$streams" "$ssh_fwd" "$streams" "$iperf_s" "$iperf_omit"
    iperf_run "iperf_ws_$streams" "$svc_iperf_ws" "$streams" "$iperf_s" "$iperf_omit"
    iperf_run "iperf_wss_$streams" "$svc_iperf_wss" "$streams" "$iperf_s" "$iperf_omit"
    iperf_run "iperf_nginx2_$streams" "$chain_iperf" "$streams" "$iperf_s" "$iperf_omit"
  done
  for path in direct ssh ws wss nginx2; do
    record_median "iperf_${path}_$streams" "$work/iperf_${path}_$streams.runs" "$iperf_rounds"
  done
done
measured_compilers_ms=$((($(compiler_ticks "${tunnel_jvms[@]}") - measured_ticks) * 1000 / clock_ticks))
stop "$client_wss"
stop "$server_wss"

log "64 B round trips: direct, ssh -R, two chained nginx and through a tcp service; $rtt_rounds runs each, in turn"
# Round trips of small messages are other code paths than iperf3's bulk: the tunnel's path gets three untimed runs
# first, each on a new connection, as wrk's paths do (below); nginx, sshd and the kernel have no compiler to wait for.
for i in 1 2 3; do
  tool rtt --echo-port "$echo_port" --path "tunnel=$svc_rtt" --samples 1 --warmup "$((rtt_warmup * 5))" --limit-s 10 \
    >/dev/null 2>>"$work/logs/rtt.log" || log "round-trip warm-up failed: $(tail -n 1 "$work/logs/rtt.log")"
done
if tool rtt --echo-port "$echo_port" --path "direct=$echo_port" --path "ssh=$ssh_rtt" --path "nginx2=$chain_rtt" \
    --path "tunnel=$svc_rtt" \
    --samples "$rtt_samples" --warmup "$rtt_warmup" --rounds "$rtt_rounds" --limit-s 30 \
    >"$work/rtt.out" 2>>"$work/logs/rtt.log"; then
  cat "$work/rtt.out" >>"$results"
  tail -n "$((4 * rtt_rounds))" "$work/logs/rtt.log" >&2
else
  log "round trips failed: $(tail -n 3 "$work/logs/rtt.log")"
fi

log "HTTP 1 KiB, wrk with 64 connections: nginx as reverse proxy, two chained, http service, tcp service; $wrk_rounds runs each, in turn"
wrk_warm nginx "http://127.0.0.1:$nginx_proxy/"
wrk_warm nginx2 "http://127.0.0.1:$chain_http/"
wrk_warm service "http://127.0.0.1:$http_a/" bench.test
wrk_warm tcp "http://127.0.0.1:$svc_http_tcp/"
for round in $(seq "$wrk_rounds"); do
  wrk_measure nginx "$round" "http://127.0.0.1:$nginx_proxy/"
  wrk_measure nginx2 "$round" "http://127.0.0.1:$chain_http/"
  wrk_measure service "$round" "http://127.0.0.1:$http_a/" bench.test
  wrk_measure tcp "$round" "http://127.0.0.1:$svc_http_tcp/"
done
for key in nginx nginx2 service tcp; do wrk_record "$key"; done

log "one stream over a 50 ms RTT, 1 Gbit/s link (delay relay): plain TCP, tunnel whose WebSocket crosses it"
spawn relay "$java" -Xms64m -Xmx1g -cp "$bench_jar" io.picotunnel.bench.tools.BenchTool relay \
  --route "$relay_plain=127.0.0.1:$iperf_port" --route "$relay_tunnel=127.0.0.1:$tunnel_a" \
  --delay-ms 25 --rate-mbit 1000 --buffer-mib 16 --max-seconds 600
relay=$spawned
if wait_for "relay" 30 "$relay" listening "$relay_tunnel"; then
  start_client client-delay "$token_delay" "ws://127.0.0.1:$relay_tunnel"
  client_delay=$spawned
  iperf_run delay_plain "$relay_plain" 1 "$delay_s" "$delay_omit"
  if wait_for "client-delay connected" 90 "$client_delay" connected "$api_a" "$tunnel_delay"; then
    iperf_run delay_tunnel "$svc_delay" 1 "$delay_s" "$delay_omit"
  fi
  stop "$client_delay"
fi
stop "$relay"
record_median delay_plain "$work/delay_plain.runs" 1
record_median delay_tunnel "$work/delay_tunnel.runs" 1

# A third server whose database holds a year of one-a-minute checks of a tunnel and its two services: started
# once so that its migrations make the schema and the API makes the tunnel and services, stopped, seeded (one
# transaction), started again; the retention is longer than the year so that nothing is pruned.
checks_api() {
  local id token svc=() i
  start_server server-checks "$api_c" "$tunnel_c" "$http_c" "$https_c" --check-retention 400d
  wait_for "server-checks" 90 "$spawned" curl -fs "http://127.0.0.1:$api_c/health" || return 1
  read -r id token <<<"$(new_tunnel "$api_c" bench-checks)"
  for i in 1 2; do
    svc+=(--service "$(api "$api_c" POST "/api/tunnels/$id/services" "{\"type\": \"http\", \
\"domain\": \"s$i.checks.test\", \"target_addr\": \"127.0.0.1:$nginx_target\", \"enabled\": true}" | jq -r .id)")
  done
  stop "$spawned"
  tool checks-seed --db "$work/server-checks/data/picotunnel.db" --tunnel "$id" "${svc[@]}" \
    >>"$results" 2>>"$work/logs/checks.log" || return 1
  tail -n 1 "$work/logs/checks.log" >&2
  start_server server-checks "$api_c" "$tunnel_c" "$http_c" "$https_c" --check-retention 400d
  wait_for "server-checks again" 90 "$spawned" curl -fs "http://127.0.0.1:$api_c/health" || return 1
  tool checks-api --api "$api_c" --tunnel "$id" --auth-header "$work/auth-header" --calls "$checks_calls" \
    --warmup "$checks_warmup" --limit-s 300 >"$work/checks.out" 2>>"$work/logs/checks.log" || return 1
  cat "$work/checks.out" >>"$results"
  tail -n 3 "$work/logs/checks.log" >&2
  stop "$spawned"
}
log "monitoring API on a year of one-a-minute checks: seeding a stopped server's database, then $checks_calls calls each"
checks_api || log "monitoring API failed: $(tail -n 3 "$work/logs/checks.log" 2>/dev/null)"

# --- table --------------------------------------------------------------------------------------------------

ssh_cipher=$(ssh -F /dev/null -G 127.0.0.1 2>/dev/null | awk '$1 == "ciphers" { split($2, c, ","); print c[1] }')
cat <<EOF
# PicoTunnel benchmark, $started$([ "$quick" = 1 ] && echo " (--quick: every row briefly, rough numbers)")
# machine: $(nproc) cores, load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; \
$("$java" -version 2>&1 | head -n 1)
# executables: $dist/picotunnel-server and picotunnel-client ($("$dist/picotunnel-server" --version 2>/dev/null | head -n 1))
# baselines: $(iperf3 --version | head -n 1 | cut -d' ' -f1-2), $(nginx -v 2>&1 | sed 's/^nginx version: //'), \
wrk $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f2), $(ssh -V 2>&1 | cut -d',' -f1) (cipher $ssh_cipher)
# nginx chain: two nginx chained as the tunnel's server and client are, relaying without tunnel work (HTTP as reverse
# proxies with keep-alive, iperf3 and round trips as stream proxies with 64 KiB buffers): what two processes reach here
# iperf3: $warm_note, then the median of $iperf_rounds runs per path taken in turn, each $iperf_s s after $iperf_omit s omitted, the client sending; the tunnels' JVMs' compilers used $(ms_as_s "$measured_compilers_ms") s of CPU during these runs
# wrk: 2 threads, 64 connections, the median of $wrk_rounds runs of $wrk_s s per path taken in turn, after a $wrk_warm s warm-up in three runs; idle: \
$(grep -m1 '^idle_connections=' "$results" | cut -d= -f2) connections; round trip: the median of $rtt_rounds runs per path taken in turn, each $rtt_samples samples \
after $rtt_warmup on a new connection, the tunnel's path after three untimed runs of $((rtt_warmup * 5)) first
# checks API: $(grep -m1 '^checks_seeded=' "$results" | cut -d= -f2) checks (a year, one a minute, of a tunnel and \
2 services) and $(grep -m1 '^checks_state_changes=' "$results" | cut -d= -f2) state changes; $checks_calls \
calls of each endpoint after $checks_warmup, one at a time
# 50 ms link: the relay delays 25 ms each way and paces to 1 Gbit/s; iperf3 $delay_s s after $delay_omit s omitted
# ratio = picotunnel / the baseline its goal names; for rows measured in rounds, the median of each round's own ratio
# (the paths run back to back in a round), so it can differ from the ratio of the medians shown
EOF
status=0
tool table --results "$results" || status=1
cat "$notes"
log "done in $SECONDS s"
exit "$status"
