# Shared by bench/jose/run.sh and bench/resource/run.sh: a Google Benchmark binary and
# `openssl speed` on the same core (taskset, when there), alternating for ROUNDS (3) rounds, each
# side keeping its best round (background load on a 2-core machine skews whichever side runs
# during it). Source it, then:
#   against_openssl_run BENCH_BINARY   runs the rounds into $work (a temporary directory)
#   tessera_rate NAME                  best items_per_second of benchmark NAME
#   openssl_rate PATTERN [sign|verify] best rate of the `openssl speed` line matching PATTERN
# Exits 2 when a run fails.

pin=()
if command -v taskset >/dev/null; then pin=(taskset -c "$(($(nproc) - 1))"); fi
work="$(mktemp -d "${TMPDIR:-/tmp}/tessera-bench.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
rounds="${ROUNDS:-3}"

against_openssl_run() {
  local bench="$1" r
  for ((r = 1; r <= rounds; r++)); do
    echo "round ${r}/${rounds}: $(basename "${bench}") (single thread), then openssl speed..." >&2
    "${pin[@]}" "${bench}" --benchmark_format=csv --benchmark_min_time=2 \
      --benchmark_repetitions=1 >"${work}/tessera.${r}.csv" 2>"${work}/tessera.err" ||
      { cat "${work}/tessera.err" >&2; exit 2; }
    "${pin[@]}" openssl speed -seconds 2 rsa2048 ecdsap256 ed25519 >"${work}/openssl.${r}.txt" \
      2>/dev/null || { echo "openssl speed failed" >&2; exit 2; }
  done
}

# Google Benchmark CSV: name,iterations,real_time,cpu_time,time_unit,bytes_per_second,
# items_per_second,... (a skipped run has no items_per_second).
tessera_rate() {
  cat "${work}"/tessera.*.csv |
    awk -F, -v name="\"$1\"" '$1 == name && $7 > best { best = $7 } END { if (best) printf "%.0f", best }'
}

# OpenSSL 3 speed: "... sign verify sign/s verify/s", the rates are the last two fields.
openssl_rate() {
  local pattern="$1" column="${2:-verify}"
  cat "${work}"/openssl.*.txt | awk -v pat="${pattern}" -v col="${column}" \
    '$0 ~ pat { v = (col == "sign" ? $(NF-1) : $NF) + 0; if (v > best) best = v }
     END { if (best) printf "%.0f", best }'
}
