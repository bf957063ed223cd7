#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS (default 30) over a scratch copy of its
# seed corpus; builds nothing. Exits non-zero if any target crashes, leaks or
# times out. Build first:
#   CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DTESSERA_FUZZ=ON \
#     -DTESSERA_TESTS=OFF -DTESSERA_BENCH=OFF && cmake --build build-fuzz
# FUZZ_BUILD_DIR overrides where the binaries are (default <repo>/build-fuzz).
set -uo pipefail

seconds="${1:-30}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
build="${FUZZ_BUILD_DIR:-${repo}/build-fuzz}"
targets=(fuzz_jws fuzz_jwk fuzz_http1)

work="$(mktemp -d "${TMPDIR:-/tmp}/tessera-fuzz.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

failed=0
for t in "${targets[@]}"; do
  bin="$(find "${build}" -type f -name "${t}" -perm -u+x 2>/dev/null | head -n 1)"
  if [[ -z "${bin}" ]]; then
    echo "run.sh: ${t} not built under ${build}" >&2
    failed=1
    continue
  fi
  # New inputs go to the scratch copy, never into the repository.
  mkdir -p "${work}/${t}/corpus" "${work}/${t}/artifacts"
  cp -r "${here}/corpus/${t}/." "${work}/${t}/corpus/"
  echo "== ${t}: ${seconds}s over $(ls "${work}/${t}/corpus" | wc -l) seeds"
  "${bin}" -max_total_time="${seconds}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="${work}/${t}/artifacts/" "${work}/${t}/corpus" \
    >"${work}/${t}/log" 2>&1
  rc=$?
  tail -n 12 "${work}/${t}/log" | grep -E "^(stat::|Done|#[0-9]+)" | tail -n 4
  if [[ ${rc} -ne 0 ]]; then
    echo "== ${t}: FAILED (exit ${rc})" >&2
    grep -E "ERROR|SUMMARY|==[0-9]+==|Test unit written" "${work}/${t}/log" | head -n 20 >&2
    # Keep the crashing inputs where the user can find them after the scratch dir goes.
    keep="${TMPDIR:-/tmp}/tessera-fuzz-${t}-artifacts"
    rm -rf "${keep}" && cp -r "${work}/${t}/artifacts" "${keep}"
    cp "${work}/${t}/log" "${keep}/log"
    echo "== ${t}: crashing inputs and log in ${keep}" >&2
    failed=1
  else
    echo "== ${t}: ok"
  fi
done
exit "${failed}"
