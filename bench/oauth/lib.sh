# shellcheck shell=bash disable=SC2034  # sets DEMO_* and WRK_* for the scripts that source it
# Shared by the authorization-server benchmarks (sourced, not run). Starts `tessera demo` on a
# free loopback port with a throwaway data directory, registers extra clients with
# `tessera client create`, runs wrk and prints one verdict line per figure. Every process it
# starts is stopped by the EXIT trap, by its own pid.
#
# Usage: source it, then call bench_init [BINARY].

bench_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench_repo=$(cd "$bench_here/../.." && pwd)
bench_pids=()
bench_tmp=$(mktemp -d "${TMPDIR:-/tmp}/tessera-bench.XXXXXX")

bench_cleanup() {
  local pid
  for pid in "${bench_pids[@]}"; do
    if kill "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$bench_tmp"
}
trap bench_cleanup EXIT

# bench_init BINARY: checks the tools and the binary; sets TESSERA.
bench_init() {
  TESSERA=${1:-${TESSERA_BIN:-${BUILD_DIR:-$bench_repo/build}/tessera}}
  [[ -x "$TESSERA" ]] || { echo "no tessera binary at $TESSERA" >&2; exit 2; }
  command -v wrk >/dev/null || { echo "wrk not installed" >&2; exit 2; }
  command -v python3 >/dev/null || { echo "python3 not installed" >&2; exit 2; }
}

bench_free_port() { bash "$bench_repo/scripts/free_port.sh"; }

# bench_start_demo: starts `tessera demo` (signing with DEMO_SIGNING_ALG when set); sets DEMO_PID, DEMO_PORT, DEMO_URL, DEMO_DATA and
# DEMO_READY (the readiness line's file). The access log goes to a file, as in production.
bench_start_demo() {
  DEMO_PORT=$(bench_free_port)
  DEMO_DATA="$bench_tmp/demo"
  DEMO_READY="$bench_tmp/demo.ready"
  DEMO_URL="http://127.0.0.1:$DEMO_PORT"
  "$TESSERA" demo --port "$DEMO_PORT" --data-dir "$DEMO_DATA" \
    ${DEMO_SIGNING_ALG:+--signing-alg "$DEMO_SIGNING_ALG"} >"$DEMO_READY" \
    2>"$bench_tmp/demo.log" &
  DEMO_PID=$!
  bench_pids+=("$DEMO_PID")
  for _ in $(seq 1 300); do [[ -s "$DEMO_READY" ]] && break; sleep 0.05; done
  [[ -s "$DEMO_READY" ]] || {
    echo "tessera demo did not get ready" >&2
    cat "$bench_tmp/demo.log" >&2
    exit 2
  }
}

# bench_ready_field PATH...: one field of the readiness line, e.g. clients service client_secret.
bench_ready_field() {
  python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2:]: v = v[k]
print(v)' "$DEMO_READY" "$@"
}

# bench_client_create ARGS...: registers a client in the demo's store, prints its JSON.
bench_client_create() {
  "$TESSERA" client create --data-dir "$DEMO_DATA" --json "$@"
}

# bench_json_field JSON KEY: one top-level member of a JSON document.
bench_json_field() {
  python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

# bench_rss_mb PID: resident set size in MB.
bench_rss_mb() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# bench_load: the load average, as printed with every figure (the machine is shared).
bench_load() { cut -d' ' -f1-3 /proc/loadavg; }

# bench_cpu_ticks PID: user + system CPU time of a process and its direct children (node
# cluster workers), in clock ticks.
bench_cpu_ticks() {
  local p total=0
  for p in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# bench_wrk NAME WRK_ARGS...: runs wrk (whose lua script prints "rate N", "failures N" and
# "requests N"), echoes its output indented on stderr, sets WRK_RATE, WRK_FAILURES and
# WRK_REQUESTS. With BENCH_SERVER_PID set, also the CPU time that server spent per request
# (WRK_SERVER_US) and wrk's own (WRK_CLIENT_US): figures that, unlike the rate, hardly depend on
# what else runs on the machine.
bench_wrk() {
  local name=$1 out before=0 after=0 hz wrk_pid wrk_ticks
  shift
  [[ -n "${BENCH_SERVER_PID:-}" ]] && before=$(bench_cpu_ticks "$BENCH_SERVER_PID")
  hz=$(getconf CLK_TCK)
  wrk "$@" >"$bench_tmp/wrk.out" &
  wrk_pid=$!
  # wrk's own CPU time, read just before it exits (it sleeps in the summary only briefly).
  wrk_ticks=0
  while kill -0 "$wrk_pid" 2>/dev/null; do
    wrk_ticks=$(awk '{ print $14 + $15 }' "/proc/$wrk_pid/stat" 2>/dev/null || echo "$wrk_ticks")
    sleep 0.2
  done
  wait "$wrk_pid" || { echo "wrk failed: $(cat "$bench_tmp/wrk.out")" >&2; exit 2; }
  out=$(cat "$bench_tmp/wrk.out")
  [[ -n "${BENCH_SERVER_PID:-}" ]] && after=$(bench_cpu_ticks "$BENCH_SERVER_PID")
  echo "--- $name: wrk $* (load $(bench_load))" >&2
  echo "$out" | sed 's/^/  /' >&2
  WRK_RATE=$(echo "$out" | awk '/^rate / { print $2 }')
  WRK_FAILURES=$(echo "$out" | awk '/^failures / { print $2 }')
  WRK_REQUESTS=$(echo "$out" | awk '/^requests / { print $2 }')
  [[ -n "$WRK_RATE" && -n "$WRK_FAILURES" ]] || { echo "wrk printed no rate" >&2; exit 2; }
  WRK_CLIENT_US=$(awk -v t="$wrk_ticks" -v hz="$hz" -v n="$WRK_REQUESTS" \
    'BEGIN { printf "%.1f", n ? t * 1e6 / hz / n : 0 }')
  WRK_SERVER_US=""
  if [[ -n "${BENCH_SERVER_PID:-}" ]]; then
    WRK_SERVER_US=$(awk -v t="$((after - before))" -v hz="$hz" -v n="$WRK_REQUESTS" \
      'BEGIN { printf "%.1f", n ? t * 1e6 / hz / n : 0 }')
    echo "  cpu per request: server ${WRK_SERVER_US} us, wrk ${WRK_CLIENT_US} us" >&2
  fi
}

# bench_verdict LABEL VALUE OP TARGET UNIT [FAILURES]: one line "LABEL: VALUE UNIT (target OP
# TARGET) PASS|FAIL [load ...]"; returns 1 on FAIL. OP is >= or <. Failed requests fail it too.
bench_verdict() {
  local label=$1 value=$2 op=$3 target=$4 unit=$5 failures=${6:-0} ok verdict extra=""
  if [[ "$op" == ">=" ]]; then
    ok=$(awk -v v="$value" -v t="$target" 'BEGIN { print (v >= t) ? 1 : 0 }')
  else
    ok=$(awk -v v="$value" -v t="$target" 'BEGIN { print (v < t) ? 1 : 0 }')
  fi
  [[ "$failures" != "0" ]] && { ok=0; extra=", $failures failed requests"; }
  verdict=$([[ $ok == 1 ]] && echo PASS || echo FAIL)
  printf '%s: %s %s (target %s %s)%s %s [load %s]\n' "$label" "$value" "$unit" "$op" "$target" \
    "$extra" "$verdict" "$(bench_load)"
  [[ $ok == 1 ]]
}
