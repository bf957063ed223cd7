#!/usr/bin/env bash
# Client credentials with ES256 JWT access tokens against `tessera demo`, keep-alive, wrk.
# Prints tokens/s; exits non-zero below the issue's target (20,000/s on this 2-core machine) or
# when any request failed.
#
#   bench/oauth/run.sh [TESSERA_BINARY]
#
# Env: DURATION (10s), CONNECTIONS (64), THREADS (wrk threads, 1), TARGET (20000).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${1:-${TESSERA_BIN:-${BUILD_DIR:-$repo/build}/tessera}}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
wrk_threads=${THREADS:-1}
target=${TARGET:-20000}

[[ -x "$bin" ]] || { echo "no tessera binary at $bin" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk not installed" >&2; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tmp=$(mktemp -d)
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# The demo logs one access-log line per request on stderr; it goes to a file, as in production.
"$bin" demo --port "$port" --data-dir "$tmp/data" >"$tmp/ready" 2>"$tmp/log" &
pid=$!
for _ in $(seq 1 200); do [[ -s "$tmp/ready" ]] && break; sleep 0.05; done
[[ -s "$tmp/ready" ]] || { echo "tessera demo did not get ready" >&2; cat "$tmp/log" >&2; exit 1; }

read -r client_id client_secret < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["clients"]["service"]
print(s["client_id"], s["client_secret"])' "$tmp/ready")

out=$(CLIENT_ID=$client_id CLIENT_SECRET=$client_secret \
  wrk -t"$wrk_threads" -c"$connections" -d"$duration" -s "$here/client_credentials.lua" \
  "http://127.0.0.1:$port")
echo "$out" | sed 's/^/  /'
rate=$(echo "$out" | awk '/^tokens\/s/ {print $2}')
failures=$(echo "$out" | awk '/^failures/ {print $2}')
echo "client_credentials ES256 JWT: ${rate} tokens/s (target ${target}), ${failures} failed"
[[ "$failures" == "0" && "$rate" -ge "$target" ]]
