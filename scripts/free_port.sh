#!/usr/bin/env bash
# Prints a loopback TCP port nobody listens on (and, when asked for N ports,
# the first of N consecutive free ones): free_port.sh [N]
n=${1:-1}
for _ in $(seq 200); do
  base=$(( 20000 + RANDOM % 30000 ))
  ok=1
  for ((i = 0; i < n; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$((base + i))") 2>/dev/null; then ok=0; break; fi
  done
  if [ $ok = 1 ]; then echo "$base"; exit 0; fi
done
echo "free_port: no free port found" >&2
exit 1
