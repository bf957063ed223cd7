#!/usr/bin/env bash
# What sharing rate-limit buckets in Redis costs the gateway (config `redis`, docs/configuration.md
# "Several nodes"). No target in the issues: this prints the figure for the docs.
#
#   bench/gateway/redis_limits.sh [TESSERA_BINARY]
#
# nginx serves a 12-byte file as the upstream. Two `tessera serve` gateways (gateway role alone,
# 2 io threads, jwt policy with the claims cache, a per-client plan far above the load so nothing
# is refused) proxy to it: one with buckets in memory, one with a `redis` section pointing at a
# redis-server started here (no persistence). The ES256 token comes from `tessera demo`. wrk -t1
# -c64, the two alternating for ROUNDS (3) rounds, each keeping its best. Everything shares the
# two cores, Redis included. Env: DURATION (10s), CONNECTIONS (64), ROUNDS (3).
# Exits 2 if a run fails.
set -euo pipefail
source "$(dirname "$0")/../oauth/lib.sh"
bench_init "${1:-}"
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}

source "$(dirname "$0")/lib.sh"
gateway_demo_token
upstream_port=$(bench_free_port)
gateway_nginx_upstream 1

redis_port=$(bench_free_port)
/usr/bin/redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$bench_tmp" --logfile "$bench_tmp/redis.log" &
bench_pids+=("$!")
for _ in $(seq 1 200); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.05
done

start_gateway() {  # name extra-yaml; sets started_port
  gateway_serve "$1" "gateway:
  issuer: $issuer
  audiences: [urn:tessera:api:invoices]
  rate_plans:
    - { name: per-client, quota: 1000000000, window_seconds: 1 }
  routes:
    - { name: invoices, path_prefix: /invoices, upstream: \"http://127.0.0.1:$upstream_port\",
        scopes: [invoices:read], rate_limit: { plan: per-client, by: client } }
$2"
}
start_gateway local ""
local_port=$started_port
start_gateway shared "redis: { url: \"redis://127.0.0.1:$redis_port\", connections: 16 }"
shared_port=$started_port
auth="Authorization: Bearer $token"
for port in "$local_port" "$shared_port"; do
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "http://127.0.0.1:$port/invoices/1")
  [[ $status == 200 ]] || { echo "gateway :$port answered $status" >&2; cat "$bench_tmp"/*.log >&2; exit 2; }
done
keys=$(redis-cli -p "$redis_port" --scan --pattern 'tessera:rl:*' | wc -l)
[[ $keys -ge 1 ]] || { echo "no bucket in Redis" >&2; exit 2; }

rate() {  # name url
  local out
  out=$(wrk -t1 -c"$connections" -d"$duration" -H "$auth" "$2")
  echo "--- $1 (load $(bench_load))" >&2
  echo "$out" >&2
  if echo "$out" | grep -q "Non-2xx"; then echo "$1: non-2xx answers" >&2; exit 2; fi
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}
for port in "$local_port" "$shared_port"; do
  wrk -t1 -c"$connections" -d2s -H "$auth" "http://127.0.0.1:$port/invoices/1" >/dev/null
done
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0 ? a : b) }'; }
local_rps=0 shared_rps=0
for ((round = 1; round <= ${ROUNDS:-3}; round++)); do
  local_rps=$(best "$local_rps" "$(rate "buckets in memory" "http://127.0.0.1:$local_port/invoices/1")")
  shared_rps=$(best "$shared_rps" "$(rate "buckets in Redis" "http://127.0.0.1:$shared_port/invoices/1")")
done
printf 'gateway, jwt (claims cache), per-client limit in memory: %9.0f req/s\n' "$local_rps"
printf 'gateway, jwt (claims cache), per-client limit in Redis:  %9.0f req/s\n' "$shared_rps"
awk -v l="$local_rps" -v s="$shared_rps" 'BEGIN {
  printf "ratio %.2f; %.1f us of wall time added per request at full load (1/rate difference)\n",
    s / l, (1e6 / s - 1e6 / l) }'
