#!/usr/bin/env bash
# Client credentials with ES256 JWT access tokens (RFC 6749 §4.4, RFC 9068), keep-alive, wrk:
# `tessera demo` (its service client) against oidc-provider (npm, oidc_provider.mjs) configured
# the same way: one confidential client_secret_basic client, resource indicators with a default
# resource, ES256 JWT access tokens. Both are checked first (check_jwt.mjs verifies one token of
# each against its JWKS). The machine is shared, so the two alternate for ROUNDS rounds with the
# same wrk settings and each keeps its best round (as bench/jose does).
#
#   bench/oauth/compare.sh [TESSERA_BINARY]
#
# Env: DURATION (10s), CONNECTIONS (64), ROUNDS (3), OIDC_WORKERS (oidc-provider processes,
# 1), TARGET (20000 tokens/s), RATIO (5).
# Exits 1 when a target is missed or any request failed, 2 when the setup fails.
set -euo pipefail
# shellcheck source=bench/oauth/lib.sh
source "$(dirname "$0")/lib.sh"
bench_init "${1:-}"
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
rounds=${ROUNDS:-3}
oidc_workers=${OIDC_WORKERS:-1}
target=${TARGET:-20000}
ratio_target=${RATIO:-5}
audience=urn:tessera:api:invoices
command -v node >/dev/null || { echo "node not installed" >&2; exit 2; }

bench_start_demo
t_id=$(bench_ready_field clients service client_id)
t_secret=$(bench_ready_field clients service client_secret)
[[ $(bench_ready_field clients service audience) == "$audience" ]] || {
  echo "the demo's service client has another audience" >&2
  exit 2
}

o_port=$(bench_free_port)
o_secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
node "$bench_here/oidc_provider.mjs" "$o_port" service "$o_secret" "$oidc_workers" \
  >"$bench_tmp/oidc.ready" 2>"$bench_tmp/oidc.log" &
bench_pids+=("$!")
for _ in $(seq 1 200); do [[ -s "$bench_tmp/oidc.ready" ]] && break; sleep 0.05; done
[[ -s "$bench_tmp/oidc.ready" ]] || {
  echo "oidc-provider did not get ready" >&2
  cat "$bench_tmp/oidc.log" >&2
  exit 2
}
o_url="http://127.0.0.1:$o_port"
o_version=$(node -p "require('$bench_repo/node_modules/oidc-provider/package.json').version")

node "$bench_here/check_jwt.mjs" tessera "$DEMO_URL" "$t_id" "$t_secret" "$audience"
node "$bench_here/check_jwt.mjs" "oidc-provider $o_version" "$o_url" service "$o_secret" \
  "$audience"

o_pid=${bench_pids[-1]}
run() {  # NAME URL ID SECRET DURATION SERVER_PID
  CLIENT_ID=$3 CLIENT_SECRET=$4 BENCH_SERVER_PID=$6 bench_wrk "$1" -t1 -c"$connections" \
    -d"$5" -s "$bench_here/client_credentials.lua" "$2"
}
# Warm-up: JIT for Node, caches for both.
run "tessera warm-up" "$DEMO_URL" "$t_id" "$t_secret" 2s "$DEMO_PID"
run "oidc-provider warm-up" "$o_url" service "$o_secret" 2s "$o_pid"

t_best=0 o_best=0 failed=0
for ((r = 1; r <= rounds; r++)); do
  run "tessera round $r/$rounds" "$DEMO_URL" "$t_id" "$t_secret" "$duration" "$DEMO_PID"
  echo "round $r: tessera $WRK_RATE tokens/s, server CPU $WRK_SERVER_US us/token," \
    "wrk $WRK_CLIENT_US us [load $(bench_load)]"
  ((WRK_RATE > t_best)) && t_best=$WRK_RATE
  failed=$((failed + WRK_FAILURES))
  run "oidc-provider round $r/$rounds" "$o_url" service "$o_secret" "$duration" "$o_pid"
  echo "round $r: oidc-provider $WRK_RATE tokens/s, server CPU $WRK_SERVER_US us/token," \
    "wrk $WRK_CLIENT_US us [load $(bench_load)]"
  ((WRK_RATE > o_best)) && o_best=$WRK_RATE
  failed=$((failed + WRK_FAILURES))
done
echo "resident memory after the runs: tessera $(bench_rss_mb "$DEMO_PID") MB," \
  "oidc-provider $(bench_rss_mb "$o_pid") MB ($oidc_workers process(es); primary only)"

rc=0
bench_verdict "client_credentials ES256 JWT, tessera (best of $rounds)" "$t_best" ">=" \
  "$target" "tokens/s" "$failed" || rc=1
echo "client_credentials ES256 JWT, oidc-provider $o_version, $oidc_workers process(es)" \
  "(best of $rounds): $o_best tokens/s"
ratio=$(awk -v t="$t_best" -v o="$o_best" 'BEGIN { printf "%.2f", (o > 0) ? t / o : 0 }')
bench_verdict "client_credentials ES256 JWT, tessera / oidc-provider" "$ratio" ">=" \
  "$ratio_target" "x" "$failed" || rc=1
exit $rc
