#!/usr/bin/env bash
# HTTP Check against the fga role of `tessera demo` (SQLite store), keep-alive, wrk: the
# GitHub-like model of bench_fga with its one million tuples, loaded into a store with
# `tessera fga tuple write --file`, and bench_fga's 20,000 check keys (half random, half
# `reader` through organisation membership) cycled by check.lua. Run twice: with
# authorization_model_id in each request (OpenFGA's advice for production) and without (the
# latest model looked up per request).
#
#   bench/fga/http_check.sh [TESSERA_BINARY]      (BUILD_DIR must hold bench/fga/bench_fga)
#
# The first requests build the store's in-memory replica (src/fga/tuple_index.h) in the
# background and read SQLite meanwhile: a 10 s warm-up runs first, not counted. The server's
# resident memory is printed after the runs.
#
# Env: DURATION (10s), CONNECTIONS (128: the demo allows each connection 1,000 requests/s, which
# 64 connections would reach), TUPLES (1000000), TARGET (30000).
# Exits 1 below the target or when any request failed, 2 when the setup fails.
set -euo pipefail
# shellcheck source=bench/oauth/lib.sh
source "$(dirname "$0")/../oauth/lib.sh"
bench_init "${1:-}"
duration=${DURATION:-10s}
connections=${CONNECTIONS:-128}
tuples=${TUPLES:-1000000}
target=${TARGET:-30000}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bench_fga="${BUILD_DIR:-$bench_repo/build}/bench/fga/bench_fga"
[[ -x "$bench_fga" ]] || { echo "http_check.sh: $bench_fga not built" >&2; exit 2; }

"$bench_fga" --tuples "$tuples" --export "$bench_tmp" --export-only 1 >&2
bench_start_demo
token=$(bench_ready_field fga_token)
fga_url=$(bench_ready_field fga)
store=$("$TESSERA" fga store create --data-dir "$DEMO_DATA" --name github |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
model=$("$TESSERA" fga model write --data-dir "$DEMO_DATA" --store "$store" \
  --file "$bench_tmp/model.fga" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["authorization_model_id"])')
echo "loading $(wc -l <"$bench_tmp/tuples.jsonl") tuples..." >&2
start=$(date +%s)
"$TESSERA" fga tuple write --data-dir "$DEMO_DATA" --store "$store" \
  --file "$bench_tmp/tuples.jsonl" >&2
echo "loaded in $(($(date +%s) - start)) s; database $(du -h "$DEMO_DATA/tessera.db" | cut -f1)" >&2

STORE_ID=$store FGA_TOKEN=$token CHECKS_FILE="$bench_tmp/checks.jsonl" MODEL_ID=$model \
  bench_wrk "warm-up" -t1 -c"$connections" -d10s -s "$here/check.lua" "$fga_url"
rc=0
for mode in model latest; do
  model_id=""
  [[ $mode == model ]] && model_id=$model
  STORE_ID=$store FGA_TOKEN=$token CHECKS_FILE="$bench_tmp/checks.jsonl" MODEL_ID=$model_id \
    BENCH_SERVER_PID=$DEMO_PID bench_wrk "check_$mode" -t1 -c"$connections" -d"$duration" \
    -s "$here/check.lua" "$fga_url"
  echo "check ($mode): server CPU $WRK_SERVER_US us/check, wrk $WRK_CLIENT_US us"
  bench_verdict "HTTP check, $(wc -l <"$bench_tmp/tuples.jsonl") tuples on SQLite, $mode" \
    "$WRK_RATE" ">=" "$target" "checks/s" "$WRK_FAILURES" || rc=1
done
echo "server resident memory: $(($(ps -o rss= -p "$DEMO_PID") / 1024)) MB"
exit $rc
