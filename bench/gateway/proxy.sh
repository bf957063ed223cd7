#!/usr/bin/env bash
# Issue 4: the gateway with `jwt` validation against nginx's plain reverse proxy to the same
# upstream, wrk -t1 -c64 in the same run. Targets:
#   - every request validated (no claims cache): at least 70% of nginx's rate;
#   - claims-cache hits: at least 90% of nginx's rate;
#   - at half of the gateway's maximum rate, its p99 latency at most 1 ms above the upstream's
#     own p99 at the same rate (wrk --latency, paced by bench/gateway/paced.lua).
#
#   bench/gateway/proxy.sh [TESSERA_BINARY]
#
# The upstream is nginx serving a 12-byte file (2 workers). nginx proxies to it with a keep-alive
# upstream pool; `tessera serve` (gateway role alone, 2 io threads) validates an ES256 access token
# of `tessera demo` (JWKS fetched from the demo) and proxies to the same upstream: one gateway with
# the default claims cache, one with `claims_cache_bytes: 0`. The three rates alternate for ROUNDS
# (3) rounds, each side keeping its best. The demo signs with ALG (RS256, the
# most deployed JWT algorithm; ES256 verification alone costs about 60 µs of CPU, so with it the
# every-request figure is bounded by the two cores, not by the gateway). Env: DURATION (10s),
# CONNECTIONS (64), ALG (RS256), SIGN (0; 1: the gateways sign upstream requests, RFC 9421). Exits
# 1 if a target is missed.
set -euo pipefail
source "$(dirname "$0")/../oauth/lib.sh"
bench_init "${1:-}"
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}

alg=${ALG:-RS256}
source "$(dirname "$0")/lib.sh"
gateway_demo_token "$alg"
upstream_port=$(bench_free_port)
proxy_port=$(bench_free_port)
gateway_nginx_upstream 2 "  upstream api { server 127.0.0.1:$upstream_port; keepalive 64; }
  server {
    listen 127.0.0.1:$proxy_port;
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header X-Forwarded-For \$remote_addr;
    }
  }"

# SIGN=1: both gateways sign their upstream requests (RFC 9421 hmac-sha256, upstream_signature).
signature=""
if [[ ${SIGN:-0} == 1 ]]; then
  openssl rand -hex 32 >"$bench_tmp/hop.key"
  signature="upstream_signature: { key_id: bench, key_file: $bench_tmp/hop.key }"
fi
start_gateway() {  # name claims_cache_bytes; sets started_port
  gateway_serve "$1" "$(gateway_jwt_yaml "$alg" "$2" "$signature")"
}
start_gateway gateway 67108864
gateway_port=$started_port
start_gateway uncached 0
uncached_port=$started_port
auth="Authorization: Bearer $token"
for port in "$gateway_port" "$uncached_port"; do
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "http://127.0.0.1:$port/invoices/1")
  [[ $status == 200 ]] || { echo "gateway :$port answered $status" >&2; cat "$bench_tmp"/*.log >&2; exit 2; }
done
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$proxy_port/invoices/1")
[[ $status == 200 ]] || { echo "nginx proxy answered $status" >&2; exit 2; }

rate() {  # name url [header]
  local out
  out=$(wrk -t1 -c"$connections" -d"$duration" ${3:+-H "$3"} "$2")
  echo "--- $1 (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  echo "$out" >&2
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}
# paced NAME URL RATE [HEADER]: wrk --latency at about RATE requests/s (each connection waits
# WRK_DELAY_MS between its requests); prints "p99_ms actual_rate".
paced() {
  local delay_ms=4 conns out
  conns=$(awk -v r="$3" -v d="$delay_ms" 'BEGIN { c = int(r * d / 1000 + 0.5); print (c < 1 ? 1 : c) }')
  out=$(WRK_DELAY_MS=$delay_ms wrk -t1 -c"$conns" -d"$duration" --latency \
    -s "$(dirname "$0")/paced.lua" ${4:+-H "$4"} "$2")
  echo "--- $1, paced at ~$3/s over $conns connections (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  echo "$out" >&2
  echo "$out" | awk '
    $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
                  p99 = (u == "us" ? v / 1000 : (u == "s" ? v * 1000 : v)) }
    /Requests\/sec/ { r = $2 }
    END { printf "%.3f %.0f\n", p99, r }'
}
for url in "http://127.0.0.1:$proxy_port/invoices/1" "http://127.0.0.1:$gateway_port/invoices/1" \
           "http://127.0.0.1:$uncached_port/invoices/1"; do
  wrk -t1 -c"$connections" -d2s -H "$auth" "$url" >/dev/null
done
# The machine is shared: the three alternate for ROUNDS rounds and each keeps its best.
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0 ? a : b) }'; }
nginx_rps=0 gateway_rps=0 uncached_rps=0
for ((round = 1; round <= ${ROUNDS:-3}; round++)); do
  nginx_rps=$(best "$nginx_rps" "$(rate "nginx proxy" "http://127.0.0.1:$proxy_port/invoices/1")")
  gateway_rps=$(best "$gateway_rps" "$(rate "tessera gateway (jwt, claims cache)" \
    "http://127.0.0.1:$gateway_port/invoices/1" "$auth")")
  uncached_rps=$(best "$uncached_rps" "$(rate "tessera gateway (jwt, every request validated)" \
    "http://127.0.0.1:$uncached_port/invoices/1" "$auth")")
done
half=$(awk -v r="$gateway_rps" 'BEGIN { printf "%.0f", r / 2 }')
read -r upstream_p99 upstream_paced < <(paced "upstream direct" "http://127.0.0.1:$upstream_port/invoices/1" "$half")
read -r gateway_p99 gateway_paced < <(paced "tessera gateway (claims cache)" \
  "http://127.0.0.1:$gateway_port/invoices/1" "$half" "$auth")

printf 'nginx reverse proxy (2 workers):                %10.0f req/s\n' "$nginx_rps"
printf 'tessera gateway, jwt policy, claims cache hits: %10.0f req/s\n' "$gateway_rps"
printf 'tessera gateway, jwt policy, every %s token validated: %6.0f req/s\n' "$alg" "$uncached_rps"
printf 'p99 at ~%s/s: upstream direct %.3f ms (%s/s), through the gateway %.3f ms (%s/s)\n' \
  "$half" "$upstream_p99" "$upstream_paced" "$gateway_p99" "$gateway_paced"
awk -v c="$gateway_rps" -v u="$uncached_rps" -v n="$nginx_rps" -v g="$gateway_p99" \
    -v d="$upstream_p99" 'BEGIN {
  fail = 0
  r = u / n; ok = r >= 0.70; fail += !ok
  printf "ratio gateway/nginx, every token validated: %.3f (target >= 0.70): %s\n", r, ok ? "MET" : "NOT MET"
  r = c / n; ok = r >= 0.90; fail += !ok
  printf "ratio gateway/nginx, claims cache hits:     %.3f (target >= 0.90): %s\n", r, ok ? "MET" : "NOT MET"
  a = g - d; ok = a < 1.0; fail += !ok
  printf "p99 added by the gateway at half its rate:  %.3f ms (target < 1 ms): %s\n", a, ok ? "MET" : "NOT MET"
  exit fail > 0 }'
