#!/usr/bin/env bash
# Every performance figure the issues ask for, measured in one run on this
# machine. Usage: bench/run.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
echo "== JOSE: Tessera against openssl speed (one core)"
bash bench/jose/run.sh "$BUILD"
echo "== HTTP: Tessera JSON endpoint against nginx static file (wrk -t1 -c64)"
bash bench/http/run.sh "$BUILD"
echo "== Memory"
bash bench/memory/run.sh "$BUILD"
