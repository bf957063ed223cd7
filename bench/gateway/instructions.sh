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
# Prints "requests N instructions M per_request K"; FUNCTIONS=1 also lists the top functions;
# KEEP_PROFILE=FILE keeps callgrind's profile there (for callgrind_annotate).
set -euo pipefail
source "$(dirname "$0")/../oauth/lib.sh"
bench_init "${1:-}"
command -v valgrind >/dev/null || { echo "valgrind not installed" >&2; exit 2; }
source "$(dirname "$0")/lib.sh"
gateway_demo_token RS256
upstream_port=$(bench_free_port)
gateway_nginx_upstream 2 ""
out="$bench_tmp/callgrind.out"
GATEWAY_WRAPPER="valgrind --tool=callgrind --callgrind-out-file=$out" \
  gateway_serve counted "$(gateway_jwt_yaml RS256 "${2:-67108864}")"
gateway_pid=$started_pid
port=$started_port
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
[[ -n ${KEEP_PROFILE:-} ]] && cp "$out.1" "$KEEP_PROFILE"
if [[ ${FUNCTIONS:-0} == 1 ]]; then
  # --threshold=100: the default (99%) stops after the thread entry points, which hold it all.
  callgrind_annotate --inclusive=no --threshold=100 "$out.1" 2>/dev/null |
    sed -n '/file:function/,$p' | head -40
fi
