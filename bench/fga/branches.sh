#!/usr/bin/env bash
# A check's branches on several threads (EngineOptions::branch_pool, fga.check_threads): one
# expensive check (4,096 nested teams, every one asked about) on one thread and on the pool,
# median and best of 21 runs each. Not pinned to one core, unlike run.sh: the point is to use
# them all. Builds nothing: run `ninja -C BUILD_DIR bench_fga_branches` first.
#
#   BUILD_DIR=build bench/fga/branches.sh [--repeats N] [--threads N]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
build="${BUILD_DIR:-${repo}/build}"
bench="${build}/bench/fga/bench_fga_branches"
[[ -x "${bench}" ]] || { echo "branches.sh: ${bench} not built (set BUILD_DIR)" >&2; exit 2; }
exec "${bench}" "$@"
