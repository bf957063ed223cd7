#!/usr/bin/env bash
# Prints a loopback TCP port nobody listens on (and, when asked for N ports,
# the first of N consecutive free ones): free_port.sh [N]
# The ports come from below the kernel's ephemeral range (ip_local_port_range): a port that a
# client connection used lately can sit in TIME_WAIT, and Linux refuses to bind a listener to
# it even with SO_REUSEADDR, since the closed socket did not set that option.
n=${1:-1}
low=32768
read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
span=$(( low - 10000 - n ))
(( span > 1000 )) || { low=32768; span=$(( low - 10000 - n )); }
for _ in $(seq 200); do
  base=$(( 10000 + RANDOM % span ))
  ok=1
  for ((i = 0; i < n; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$((base + i))") 2>/dev/null; then ok=0; break; fi
  done
  if [ $ok = 1 ]; then echo "$base"; exit 0; fi
done
echo "free_port: no free port found" >&2
exit 1
