#!/usr/bin/env bash
# Client credentials with ES256 JWT access tokens against `tessera demo` alone, keep-alive, wrk
# (compare.sh measures the same against oidc-provider). Prints tokens/s; exits 1 below the
# issue's target (20,000/s on this 2-core machine) or when any request failed.
#
#   bench/oauth/run.sh [TESSERA_BINARY]
#
# Env: DURATION (10s), CONNECTIONS (64), THREADS (wrk threads, 1), TARGET (20000).
set -euo pipefail
# shellcheck source=bench/oauth/lib.sh
source "$(dirname "$0")/lib.sh"
bench_init "${1:-}"
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
wrk_threads=${THREADS:-1}
target=${TARGET:-20000}

bench_start_demo
CLIENT_ID=$(bench_ready_field clients service client_id) \
  CLIENT_SECRET=$(bench_ready_field clients service client_secret) \
  BENCH_SERVER_PID=$DEMO_PID bench_wrk client_credentials -t"$wrk_threads" \
  -c"$connections" -d"$duration" -s "$bench_here/client_credentials.lua" "$DEMO_URL"
echo "client_credentials: server CPU $WRK_SERVER_US us/token, wrk $WRK_CLIENT_US us"
bench_verdict "client_credentials ES256 JWT, tessera" "$WRK_RATE" ">=" "$target" "tokens/s" \
  "$WRK_FAILURES"
