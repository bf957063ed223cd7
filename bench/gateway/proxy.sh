#!/usr/bin/env bash
# Issue 4: the gateway with `jwt` validation against nginx's plain reverse proxy to the same
# upstream, wrk -t1 -c64 in the same run. Target: at least 70% of nginx's rate.
#
#   bench/gateway/proxy.sh [TESSERA_BINARY]
#
# The upstream is nginx serving a 12-byte file (2 workers). nginx proxies to it with a keep-alive
# upstream pool; `tessera serve` (gateway role alone, 2 io threads) validates an ES256 access token
# of `tessera demo` (JWKS fetched from the demo, claims cache hits after the first request) and
# proxies to the same upstream. Env: DURATION (10s), CONNECTIONS (64).
set -euo pipefail
source "$(dirname "$0")/../oauth/lib.sh"
bench_init "${1:-}"
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
nginx_bin=${NGINX:-/usr/sbin/nginx}

bench_start_demo
issuer=$(bench_ready_field issuer)
id=$(bench_ready_field clients service client_id)
secret=$(bench_ready_field clients service client_secret)
token=$(curl -sf -u "$id:$secret" -d grant_type=client_credentials "$issuer/token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

upstream_port=$(bench_free_port)
proxy_port=$(bench_free_port)
chmod 755 "$bench_tmp"
mkdir -p "$bench_tmp/html/invoices" "$bench_tmp/logs"
printf 'hello world\n' >"$bench_tmp/html/invoices/1"
chmod -R a+rX "$bench_tmp/html"
cat >"$bench_tmp/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $bench_tmp/nginx.pid;
error_log $bench_tmp/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path $bench_tmp/body;
  proxy_temp_path $bench_tmp/proxy;
  fastcgi_temp_path $bench_tmp/fastcgi;
  uwsgi_temp_path $bench_tmp/uwsgi;
  scgi_temp_path $bench_tmp/scgi;
  default_type text/plain;
  upstream api { server 127.0.0.1:$upstream_port; keepalive 64; }
  server { listen 127.0.0.1:$upstream_port; root $bench_tmp/html; location / { } }
  server {
    listen 127.0.0.1:$proxy_port;
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$remote_addr;
    }
  }
}
CONF
"$nginx_bin" -p "$bench_tmp" -c "$bench_tmp/nginx.conf" &
bench_pids+=("$!")

gateway_port=$(bench_free_port)
cat >"$bench_tmp/gateway.yaml" <<YAML
roles: [gateway]
http: { listen: 127.0.0.1:$gateway_port, threads: 2, access_log: false,
        max_requests_per_second_per_connection: 1000000 }
store: { path: $bench_tmp/gateway.db }
gateway:
  issuer: $issuer
  audiences: [urn:tessera:api:invoices]
  algorithms: [ES256]
  routes:
    - { name: invoices, path_prefix: /invoices, upstream: "http://127.0.0.1:$upstream_port",
        scopes: [invoices:read], claim_headers: { X-User: sub } }
YAML
"$TESSERA" serve --config "$bench_tmp/gateway.yaml" 2>"$bench_tmp/gateway.log" &
bench_pids+=("$!")
for _ in $(seq 1 200); do
  curl -fs -o /dev/null "http://127.0.0.1:$gateway_port/readyz" && break
  sleep 0.05
done
auth="Authorization: Bearer $token"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "http://127.0.0.1:$gateway_port/invoices/1")
[[ $status == 200 ]] || { echo "gateway answered $status" >&2; cat "$bench_tmp/gateway.log" >&2; exit 2; }
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$proxy_port/invoices/1")
[[ $status == 200 ]] || { echo "nginx proxy answered $status" >&2; exit 2; }

rate() {  # name url [header]
  local out
  out=$(wrk -t1 -c"$connections" -d"$duration" ${3:+-H "$3"} "$2")
  echo "--- $1 (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  echo "$out" >&2
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}
wrk -t1 -c"$connections" -d2s "http://127.0.0.1:$proxy_port/invoices/1" >/dev/null
wrk -t1 -c"$connections" -d2s -H "$auth" "http://127.0.0.1:$gateway_port/invoices/1" >/dev/null
nginx_rps=$(rate "nginx proxy" "http://127.0.0.1:$proxy_port/invoices/1")
gateway_rps=$(rate "tessera gateway (jwt)" "http://127.0.0.1:$gateway_port/invoices/1" "$auth")
printf 'nginx reverse proxy (2 workers):           %10.0f req/s\n' "$nginx_rps"
printf 'tessera gateway, jwt policy, cached claims: %10.0f req/s\n' "$gateway_rps"
awk -v t="$gateway_rps" -v n="$nginx_rps" 'BEGIN {
  r = t / n
  if (r >= 0.70) { printf "ratio gateway/nginx: %.3f (target >= 0.70): MET\n", r; exit 0 }
  printf "ratio gateway/nginx: %.3f (target >= 0.70): NOT MET\n", r; exit 1 }'
