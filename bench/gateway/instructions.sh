#!/usr/bin/env bash
# The gateway's user-space instructions per proxied request, counted by valgrind's callgrind: a
# figure that, unlike a rate, hardly moves with the machine's load or its neighbours. No target;
# it is how a change to the request path is compared on a shared machine (A/B two binaries).
#
#   bench/gateway/instructions.sh [TESSERA_BINARY] [CLAIMS_CACHE_BYTES]
#
# `tessera demo` issues an RS256 access token; nginx serves a 12-byte file; `tessera serve` (the
# gateway role alone, 2 io threads) runs under callgrind with the proxy.sh route (jwt policy,
# one claim header). After a warm-up, the counters are zeroed, wrk sends for DURATION (10s,
# -c8; callgrind runs the gateway ~50 times slower), and the instructions are divided by the
# requests the gateway counted itself (tessera_gateway_requests_total, route invoices, 200).
# CLAIMS_CACHE_BYTES: 67108864 (claims-cache hits) or 0 (every token's signature checked).
# Prints "requests N instructions M per_request K"; FUNCTIONS=1 also lists the top functions.
set -euo pipefail
source "$(dirname "$0")/../oauth/lib.sh"
bench_init "${1:-}"
command -v valgrind >/dev/null || { echo "valgrind not installed" >&2; exit 2; }
DEMO_SIGNING_ALG=RS256 bench_start_demo
issuer=$(bench_ready_field issuer)
id=$(bench_ready_field clients service client_id)
secret=$(bench_ready_field clients service client_secret)
token=$(curl -sf -u "$id:$secret" -d grant_type=client_credentials "$issuer/token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

source "$(dirname "$0")/lib.sh"
upstream_port=$(bench_free_port)
gateway_nginx_upstream 2 ""
port=$(bench_free_port)
cat >"$bench_tmp/counted.yaml" <<YAML
roles: [gateway]
http: { listen: 127.0.0.1:$port, threads: 2, access_log: false,
        max_requests_per_second_per_connection: 1000000 }
store: { path: $bench_tmp/counted.db }
gateway:
  issuer: $issuer
  audiences: [urn:tessera:api:invoices]
  algorithms: [RS256]
  claims_cache_bytes: ${2:-67108864}
  routes:
    - { name: invoices, path_prefix: /invoices, upstream: "http://127.0.0.1:$upstream_port",
        scopes: [invoices:read], claim_headers: { X-User: sub } }
YAML
out="$bench_tmp/callgrind.out"
valgrind --tool=callgrind --callgrind-out-file="$out" \
  "$TESSERA" serve --config "$bench_tmp/counted.yaml" 2>"$bench_tmp/counted.log" &
gateway_pid=$!
bench_pids+=("$gateway_pid")
for _ in $(seq 1 600); do
  curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" && break
  sleep 0.1
done
url="http://127.0.0.1:$port/invoices/1"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$url")
[[ $status == 200 ]] || { echo "gateway answered $status" >&2; cat "$bench_tmp/counted.log" >&2; exit 2; }
wrk -t1 -c8 -d3s -H "Authorization: Bearer $token" "$url" >/dev/null
served() {
  curl -s "http://127.0.0.1:$port/metrics" |
    awk '/^tessera_gateway_requests_total\{route="invoices",status="200"\}/ {print $2}'
}
# The scrapes stay outside the counted span: zeroed after the first, dumped before the second.
before=$(served)
callgrind_control -z "$gateway_pid" >/dev/null
wrk -t1 -c8 -d"${DURATION:-10s}" -H "Authorization: Bearer $token" "$url" >/dev/null
callgrind_control -d "$gateway_pid" >/dev/null
after=$(served)
for _ in $(seq 1 100); do
  [[ -s $out.1 ]] && break
  sleep 0.1
done
instructions=$(callgrind_annotate "$out.1" 2>/dev/null |
  awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
requests=$((after - before))
echo "requests $requests instructions $instructions per_request $((instructions / requests))"
if [[ ${FUNCTIONS:-0} == 1 ]]; then
  callgrind_annotate --inclusive=no "$out.1" 2>/dev/null | sed -n '/file:function/,$p' | head -40
fi
