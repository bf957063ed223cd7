#!/usr/bin/env bash
# Refresh token grant with rotation (RFC 6749 §6, RFC 9700 §4.14.2) against `tessera demo` on its
# SQLite store, keep-alive, wrk. A confidential client (client_secret_basic, opaque access
# tokens) gets FAMILIES independent refresh-token families by the authorization code flow
# (seed_refresh.mjs: alice signs in once, then the session answers each /authorize with a code);
# refresh.lua spends each token and queues the one it gets back. Every refresh is one store
# transaction: the old token spent by compare-and-set, a new refresh token and a new opaque
# access token written.
#
#   bench/oauth/refresh.sh [TESSERA_BINARY]
#
# Env: DURATION (10s), CONNECTIONS (64), FAMILIES (4 x CONNECTIONS), TARGET (5000).
# Exits 1 below the target or when any request failed, 2 when the setup fails.
set -euo pipefail
# shellcheck source=bench/oauth/lib.sh
source "$(dirname "$0")/lib.sh"
bench_init "${1:-}"
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
families=${FAMILIES:-$((4 * connections))}
target=${TARGET:-5000}
command -v node >/dev/null || { echo "node not installed" >&2; exit 2; }

bench_start_demo
client=$(bench_client_create --id bench-refresh --type confidential \
  --grant-type authorization_code --grant-type refresh_token \
  --redirect-uri "$DEMO_URL/bench/cb" --scope "offline_access invoices:read" \
  --audience urn:tessera:api:invoices --access-token-format opaque --skip-consent)
secret=$(bench_json_field "$client" client_secret)

echo "seeding $families refresh-token families..." >&2
node "$bench_here/seed_refresh.mjs" "$DEMO_URL" bench-refresh "$secret" "$DEMO_URL/bench/cb" \
  "offline_access invoices:read" "$families" alice "$(bench_ready_field users alice password)" \
  >"$bench_tmp/refresh_tokens"
[[ $(wc -l <"$bench_tmp/refresh_tokens") -eq $families ]] || { echo "seeding failed" >&2; exit 2; }

# One wrk thread: one Lua state holds the queue (more threads would split the families).
CLIENT_ID=bench-refresh CLIENT_SECRET=$secret TOKENS_FILE="$bench_tmp/refresh_tokens" \
  BENCH_THREADS=1 BENCH_SERVER_PID=$DEMO_PID bench_wrk refresh -t1 -c"$connections" \
  -d"$duration" -s "$bench_here/refresh.lua" "$DEMO_URL"
echo "refresh: server CPU $WRK_SERVER_US us/refresh, wrk $WRK_CLIENT_US us"
bench_verdict "refresh_token grant, rotation, SQLite, opaque access token" "$WRK_RATE" ">=" \
  "$target" "refreshes/s" "$WRK_FAILURES"
