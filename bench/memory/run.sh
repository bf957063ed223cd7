#!/usr/bin/env bash
# Resident memory of an idle `tessera serve` (target: under 20 MB). Starts the
# server on a free loopback port with a throwaway SQLite store, waits until
# /readyz answers, sends a few requests, lets it settle, reads VmRSS.
set -euo pipefail
BUILD=${1:-build}
bin=$(realpath "$BUILD/tessera")
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$(bash "$(dirname "$0")/../../scripts/free_port.sh")
cat > "$dir/tessera.yaml" <<YAML
http:
  listen: 127.0.0.1:$port
store:
  driver: sqlite
  path: $dir/tessera.db
YAML
"$bin" serve --config "$dir/tessera.yaml" 2>"$dir/log" &
pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
for _ in $(seq 20); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null; done
sleep 1
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
printf 'memory: idle tessera serve resident %.1f MB (target < 20 MB)\n' "$(echo "$rss_kb / 1024" | bc -l)"
