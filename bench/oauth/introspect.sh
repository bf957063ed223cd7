#!/usr/bin/env bash
# Introspection (RFC 7662) of opaque access tokens against `tessera demo` (SQLite store),
# keep-alive, wrk. A confidential client with opaque access tokens is registered, TOKENS of its
# tokens are issued by client credentials, and introspect.lua cycles through them,
# authenticating as that client (client_secret_basic); an answer without "active":true fails.
#
#   bench/oauth/introspect.sh [TESSERA_BINARY]
#
# Env: DURATION (10s), CONNECTIONS (128), TOKENS (1000), TARGET (40000). 128 connections, not 64:
# the server limits each connection to 1,000 requests/s (burst 20;
# http.max_requests_per_second_per_connection),
# and at 47,000/s over 64 connections some of them went past it in bursts and got 429s.
# Exits 1 below the target or when any request failed, 2 when the setup fails.
set -euo pipefail
# shellcheck source=bench/oauth/lib.sh
source "$(dirname "$0")/lib.sh"
bench_init "${1:-}"
duration=${DURATION:-10s}
connections=${CONNECTIONS:-128}
tokens=${TOKENS:-1000}
target=${TARGET:-40000}

bench_start_demo
client=$(bench_client_create --id bench-opaque --type confidential \
  --grant-type client_credentials --scope "invoices:read" \
  --audience urn:tessera:api:invoices --access-token-format opaque \
  --access-token-lifetime 3600)
secret=$(bench_json_field "$client" client_secret)

echo "issuing $tokens opaque access tokens..." >&2
python3 - "$DEMO_URL" bench-opaque "$secret" "$tokens" >"$bench_tmp/opaque_tokens" <<'PY'
import base64, http.client, json, sys, time, urllib.parse
url, client_id, secret, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
host = urllib.parse.urlsplit(url)
conn = http.client.HTTPConnection(host.hostname, host.port)
auth = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
issued = 0
while issued < n:
    conn.request("POST", "/token", "grant_type=client_credentials&scope=invoices%3Aread",
                 {"Content-Type": "application/x-www-form-urlencoded", "Authorization": auth})
    r = conn.getresponse()
    body = json.loads(r.read())
    if r.status == 429:  # the server's per-connection rate limit (1000/s by default)
        time.sleep(0.05)
        continue
    issued += 1
    if r.status != 200 or "." in body["access_token"]:
        sys.exit(f"token request: {r.status} {body}")
    print(body["access_token"])
PY
[[ $(wc -l <"$bench_tmp/opaque_tokens") -eq $tokens ]] || { echo "issuing failed" >&2; exit 2; }

CLIENT_ID=bench-opaque CLIENT_SECRET=$secret TOKENS_FILE="$bench_tmp/opaque_tokens" \
  BENCH_SERVER_PID=$DEMO_PID bench_wrk introspect -t1 -c"$connections" -d"$duration" \
  -s "$bench_here/introspect.lua" "$DEMO_URL"
echo "introspection: server CPU $WRK_SERVER_US us/introspection, wrk $WRK_CLIENT_US us"
bench_verdict "introspection of opaque access tokens, SQLite" "$WRK_RATE" ">=" "$target" \
  "introspections/s" "$WRK_FAILURES"
