#!/usr/bin/env bash
# The FGA engine's in-process figures (issue 5, "Performance"): a GitHub-like model with one
# million tuples in memory; Check p50/p99 cold and warm, ListObjects returning 10,000 of
# 100,000 repositories, resident memory after loading. Builds nothing: run
# `ninja -C BUILD_DIR bench_fga` first (TESSERA_BENCH=ON).
#
#   BUILD_DIR=build bench/fga/run.sh [bench_fga options]
#
# Targets (printed next to each figure): Check p50 < 20 us, p99 < 200 us; ListObjects
# < 100 ms; resident memory after loading < 300 MB. The binary prints figures only; this
# script does not fail on a missed target (timings depend on the machine's load).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
build="${BUILD_DIR:-${repo}/build}"
bench="${build}/bench/fga/bench_fga"
[[ -x "${bench}" ]] || { echo "run.sh: ${bench} not built (set BUILD_DIR)" >&2; exit 2; }
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c "$(($(nproc) - 1))"); fi
exec "${pin[@]}" "${bench}" "$@"
