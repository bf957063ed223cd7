#!/usr/bin/env bash
# Resident memory of `tessera demo` after issuing one million tokens under load (target: under
# 150 MB). Client credentials requests (bench/oauth/client_credentials.lua, wrk -t1 -c64, in
# 10 s runs) until TOKENS tokens were issued with no failure; VmRSS is sampled after every
# run. Prints the resident size at the end and the peak (VmHWM); the verdict is on the peak.
#
#   bench/memory/tokens.sh [TESSERA_BINARY]
#
# Env: TOKENS (1000000), CONNECTIONS (64), TARGET_MB (150), FORMAT (jwt: the demo's service
# client, ES256 JWTs that are not stored; opaque: a client whose tokens are written to SQLite).
# Exits 1 over the target or when any request failed, 2 when the setup fails.
set -euo pipefail
# shellcheck source=bench/oauth/lib.sh
source "$(dirname "$0")/../oauth/lib.sh"
bench_init "${1:-}"
tokens=${TOKENS:-1000000}
connections=${CONNECTIONS:-64}
target=${TARGET_MB:-150}
format=${FORMAT:-jwt}

bench_start_demo
if [[ "$format" == opaque ]]; then
  client=$(bench_client_create --id bench-opaque --type confidential \
    --grant-type client_credentials --scope "invoices:read" \
    --audience urn:tessera:api:invoices --access-token-format opaque)
  id=bench-opaque
  secret=$(bench_json_field "$client" client_secret)
else
  id=$(bench_ready_field clients service client_id)
  secret=$(bench_ready_field clients service client_secret)
fi
echo "memory: tessera demo at start: $(bench_rss_mb "$DEMO_PID") MB" >&2

issued=0 failed=0 start=$SECONDS
while ((issued < tokens)); do
  CLIENT_ID=$id CLIENT_SECRET=$secret bench_wrk "issue" -t1 -c"$connections" -d10s \
    -s "$bench_here/client_credentials.lua" "$DEMO_URL" 2>/dev/null
  issued=$((issued + WRK_REQUESTS - WRK_FAILURES))
  failed=$((failed + WRK_FAILURES))
  echo "  $issued tokens issued, $WRK_RATE/s, resident $(bench_rss_mb "$DEMO_PID") MB" \
    "[load $(bench_load)]" >&2
done
rss=$(bench_rss_mb "$DEMO_PID")
peak=$(awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$DEMO_PID/status")
echo "memory: $issued $format tokens in $((SECONDS - start)) s; resident at the end $rss MB," \
  "peak $peak MB"
bench_verdict "memory: peak resident after $issued $format tokens under load" "$peak" "<" \
  "$target" "MB" "$failed"
