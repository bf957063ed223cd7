#!/usr/bin/env bash
# Every performance figure the issues ask for, measured in one run on this
# machine. Usage: bench/run.sh [BUILD_DIR]. Each part prints its own figures
# and targets; the exit code is non-zero if any part missed its target.
set -uo pipefail
cd "$(dirname "$0")/.."
export BUILD_DIR=$(realpath "${1:-build}")
rc=0
echo "== JOSE: Tessera against openssl speed (one core)"
bash bench/jose/run.sh || rc=1
echo "== HTTP: Tessera JSON endpoint against nginx static file (wrk -t1 -c64)"
bash bench/http/run.sh || rc=1
echo "== OAuth: client credentials with ES256 JWT access tokens (wrk -t1 -c64)"
bash bench/oauth/run.sh "$BUILD_DIR/tessera" || rc=1
echo "== Memory"
bash bench/memory/run.sh "$BUILD_DIR" || rc=1
exit $rc
