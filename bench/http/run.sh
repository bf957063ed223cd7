#!/usr/bin/env bash
# tessera_http vs nginx, same machine, same run, same wrk settings.
#
#   bench/http/run.sh [BENCH_HTTP_SERVER_BINARY]
#
# Env: DURATION (10s), CONNECTIONS (64), THREADS (wrk threads, 1), IO_THREADS (2),
#      LOG=1 to turn the access log on in both servers (default: off in both).
# nginx: 2 workers, a 12-byte static file, keep-alive with no per-connection
# request cap (tessera has none by default either). Needs root for nginx
# only if the current user cannot bind/run it; ports are free 127.0.0.1 ports.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
server_bin=${1:-${BENCH_HTTP_SERVER:-$repo/build/bench/http/bench_http_server}}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
wrk_threads=${THREADS:-1}
io_threads=${IO_THREADS:-2}
log=${LOG:-0}
nginx_bin=${NGINX:-/usr/sbin/nginx}

[[ -x "$server_bin" ]] || { echo "no server binary at $server_bin (build target bench_http_server)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk not installed" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

tmp=$(mktemp -d)
chmod 755 "$tmp"
tessera_pid=""
nginx_pid=""
cleanup() {
  [[ -n "$tessera_pid" ]] && kill "$tessera_pid" 2>/dev/null && wait "$tessera_pid" 2>/dev/null || true
  [[ -n "$nginx_pid" ]] && kill -QUIT "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

wait_for() {  # port
  for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$1/hello"; then return 0; fi
    sleep 0.05
  done
  echo "server on port $1 did not come up" >&2
  return 1
}

# --- nginx ---------------------------------------------------------------
nginx_port=$(free_port)
mkdir -p "$tmp/html" "$tmp/logs"
printf 'hello world\n' > "$tmp/html/hello"   # 12 bytes
chmod -R a+rX "$tmp"
if [[ "$log" == 1 ]]; then nginx_log="access_log $tmp/logs/access.log;"; else nginx_log="access_log off;"; fi
cat > "$tmp/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log;
events { worker_connections 4096; }
http {
  $nginx_log
  keepalive_requests 100000000;
  keepalive_timeout 65;
  client_body_temp_path $tmp/body;
  proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fastcgi;
  uwsgi_temp_path $tmp/uwsgi;
  scgi_temp_path $tmp/scgi;
  default_type text/plain;
  server {
    listen 127.0.0.1:$nginx_port;
    root $tmp/html;
    location / { }
  }
}
CONF
"$nginx_bin" -p "$tmp" -c "$tmp/nginx.conf" &
nginx_pid=$!

# --- tessera -------------------------------------------------------------
tessera_port=$(free_port)
if [[ "$log" == 1 ]]; then
  "$server_bin" "$tessera_port" "$io_threads" --log 2>"$tmp/logs/tessera.log" >/dev/null &
else
  "$server_bin" "$tessera_port" "$io_threads" >/dev/null &
fi
tessera_pid=$!

wait_for "$nginx_port"
wait_for "$tessera_port"

run_wrk() {  # name url
  local out
  out=$(wrk -t"$wrk_threads" -c"$connections" -d"$duration" "$2")
  echo "--- $1: wrk -t$wrk_threads -c$connections -d$duration $2" >&2
  echo "$out" >&2
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}

# Warm both, then measure: nginx, tessera, and nginx again to see drift.
wrk -t1 -c"$connections" -d2s "http://127.0.0.1:$nginx_port/hello" >/dev/null
wrk -t1 -c"$connections" -d2s "http://127.0.0.1:$tessera_port/hello" >/dev/null
nginx_rps=$(run_wrk nginx "http://127.0.0.1:$nginx_port/hello")
tessera_rps=$(run_wrk tessera "http://127.0.0.1:$tessera_port/hello")

echo
echo "access log: $([[ "$log" == 1 ]] && echo on || echo off) in both"
printf 'nginx   (2 workers, 12-byte static file): %12.0f req/s\n' "$nginx_rps"
printf 'tessera (%s io threads, JSON /hello):      %12.0f req/s\n' "$io_threads" "$tessera_rps"
awk -v t="$tessera_rps" -v n="$nginx_rps" 'BEGIN { printf "ratio tessera/nginx: %.3f\n", t / n }'
