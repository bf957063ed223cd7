#!/usr/bin/env bash
# Installs everything the build, tests and benchmarks need on Debian 12, as
# root. Idempotent and quiet when everything is already present.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # build
  g++ cmake ninja-build make pkg-config git openssl curl bc
  libssl-dev libboost-dev nlohmann-json3-dev libyaml-cpp-dev libsqlite3-dev libpq-dev
  libhiredis-dev libspdlog-dev libfmt-dev libcli11-dev libargon2-dev
  # tests, sanitizers, fuzzing, linting
  libgtest-dev libgmock-dev clang clang-format clang-tidy libclang-rt-14-dev
  # locale sources: a test builds de_DE (decimal comma) to show JSON numbers ignore the locale
  locales
  # real servers the tests and benchmarks start themselves
  postgresql redis-server nginx-light wrk
  # browser tests (tests/browser), driven by npm playwright-core
  chromium
  # benchmarks
  libbenchmark-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: run as root (apt-get install is needed)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts these on install on some machines; tests start their own.
  for svc in nginx redis-server postgresql; do service "$svc" stop >/dev/null 2>&1 || true; done
fi

# npm packages for interop tests, exactly as locked.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
